package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/entity"
	"github.com/horizon/reconciler/internal/store/internal/query"
)

// TicketByNumber returns the stored ticket with a display number (the
// most recently updated one, should a PSA ever repeat a number);
// store.ErrNotFound when none.
func (s *Store) TicketByNumber(ctx context.Context, sc store.Scope, number string) (helpdesk.Ticket, error) {
	row := s.r.QueryRowContext(ctx, selectSQL(entity.Tickets, "AND number = ? AND number <> '' ORDER BY updated_at DESC LIMIT 1"),
		scope(sc, number)...)
	v, err := entity.Tickets.Scan(row, newTime)
	if errors.Is(err, sql.ErrNoRows) {
		return helpdesk.Ticket{}, fmt.Errorf("sqlite: ticket number %s: %w", number, store.ErrNotFound)
	}
	if err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("sqlite: ticket number %s: %w", number, err)
	}
	return entity.Ticket(v), nil
}

// OutboxItems lists outbox items newest first.
func (s *Store) OutboxItems(ctx context.Context, sc store.Scope, f store.OutboxFilter) ([]store.OutboxItem, error) {
	q, args := query.Outbox(dialect, sc, f, outboxColumns, "json_extract(payload, '$.ticketId')")
	out, err := queryAll(ctx, s.r, times.OutboxItem, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: outbox items: %w", err)
	}
	return out, nil
}
