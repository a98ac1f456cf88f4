package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/entity"
	"github.com/horizon/reconciler/internal/store/internal/query"
)

// TicketByNumber returns the stored ticket with a display number (the
// most recently updated one, should a PSA ever repeat a number);
// store.ErrNotFound when none.
func (s *Store) TicketByNumber(ctx context.Context, sc store.Scope, number string) (helpdesk.Ticket, error) {
	row := s.pool.QueryRow(ctx, selectSQL(entity.Tickets, "AND number = $3 AND number <> '' ORDER BY updated_at DESC LIMIT 1"),
		sc.Account, sc.Provider, number)
	v, err := entity.Tickets.Scan(row, newTime)
	if errors.Is(err, pgx.ErrNoRows) {
		return helpdesk.Ticket{}, fmt.Errorf("postgres: ticket number %s: %w", number, store.ErrNotFound)
	}
	if err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("postgres: ticket number %s: %w", number, err)
	}
	return entity.Ticket(v), nil
}

// browseOutboxColumns are the outbox columns times.OutboxItem scans.
const browseOutboxColumns = `id, key, kind, payload::text, attempts, next_attempt, state, last_error, created_at, claimed_until`

// OutboxItems lists outbox items newest first.
func (s *Store) OutboxItems(ctx context.Context, sc store.Scope, f store.OutboxFilter) ([]store.OutboxItem, error) {
	q, args := query.Outbox(dialect, sc, f, browseOutboxColumns, "payload->>'ticketId'")
	out, err := queryAll(ctx, s.pool, times.OutboxItem, q, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: outbox items: %w", err)
	}
	return out, nil
}
