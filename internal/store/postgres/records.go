package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/entity"
	"github.com/horizon/reconciler/internal/store/internal/record"
)

const setWatermarkSQL = `INSERT INTO watermarks (account, provider, entity, updated_through, backfilled_from, cursor)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (account, provider, entity) DO UPDATE SET updated_through = EXCLUDED.updated_through,
  backfilled_from = EXCLUDED.backfilled_from, cursor = EXCLUDED.cursor`

func setWatermark(ctx context.Context, tx pgx.Tx, sc store.Scope, e helpdesk.Entity, w store.Watermark) error {
	_, err := tx.Exec(ctx, setWatermarkSQL, times.WatermarkArgs(sc, e, w)...)
	if err != nil {
		return fmt.Errorf("set watermark: %w", err)
	}
	return nil
}

// Watermark returns the entity's watermark, zero when none is stored.
func (s *Store) Watermark(ctx context.Context, sc store.Scope, e helpdesk.Entity) (store.Watermark, error) {
	w, err := times.Watermark(s.pool.QueryRow(ctx, `SELECT updated_through, backfilled_from, cursor FROM watermarks
WHERE account = $1 AND provider = $2 AND entity = $3`, sc.Account, sc.Provider, string(e)))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Watermark{}, nil
	}
	if err != nil {
		return w, fmt.Errorf("postgres: watermark of %s: %w", e, err)
	}
	return w, nil
}

// SetWatermark stores the entity's watermark.
func (s *Store) SetWatermark(ctx context.Context, sc store.Scope, e helpdesk.Entity, w store.Watermark) error {
	_, err := s.pool.Exec(ctx, setWatermarkSQL, times.WatermarkArgs(sc, e, w)...)
	if err != nil {
		return fmt.Errorf("postgres: set watermark of %s: %w", e, err)
	}
	return nil
}

func selectSQL(sp *entity.Spec, where string) string {
	return fmt.Sprintf("SELECT %s FROM %s WHERE account = $1 AND provider = $2 %s",
		strings.Join(sp.Names(), ", "), sp.Table, where)
}

// Ticket returns one stored ticket; store.ErrNotFound when absent.
func (s *Store) Ticket(ctx context.Context, sc store.Scope, externalID string) (helpdesk.Ticket, error) {
	row := s.pool.QueryRow(ctx, selectSQL(entity.Tickets, "AND external_id = $3"), sc.Account, sc.Provider, externalID)
	v, err := entity.Tickets.Scan(row, newTime)
	if errors.Is(err, pgx.ErrNoRows) {
		return helpdesk.Ticket{}, fmt.Errorf("postgres: ticket %s: %w", externalID, store.ErrNotFound)
	}
	if err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("postgres: ticket %s: %w", externalID, err)
	}
	return entity.Ticket(v), nil
}

// Count returns how many records of an entity are stored.
func (s *Store) Count(ctx context.Context, sc store.Scope, e helpdesk.Entity) (int, error) {
	sp, err := entity.For(e)
	if err != nil {
		return 0, fmt.Errorf("postgres: count: %w", err)
	}
	var n int
	q := "SELECT count(*) FROM " + sp.Table + " WHERE account = $1 AND provider = $2"
	if err := s.pool.QueryRow(ctx, q, sc.Account, sc.Provider).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count %s: %w", e, err)
	}
	return n, nil
}

// Tickets iterates stored tickets in external-ID (byte) order, one page
// of record.TicketPage rows at a time (keyset pagination).
func (s *Store) Tickets(ctx context.Context, sc store.Scope) func(yield func(helpdesk.Ticket, error) bool) {
	return record.Tickets(func(after string) ([]helpdesk.Ticket, error) {
		q := selectSQL(entity.Tickets, "AND external_id > $3 ORDER BY external_id LIMIT $4")
		t, err := queryAll(ctx, s.pool, record.Records(times, entity.Tickets, entity.Ticket), q, sc.Account, sc.Provider, after, record.TicketPage)
		if err != nil {
			return nil, fmt.Errorf("postgres: tickets: %w", err)
		}
		return t, nil
	})
}

// Members returns every stored helpdesk user in external-ID order.
func (s *Store) Members(ctx context.Context, sc store.Scope) ([]helpdesk.Member, error) {
	q := selectSQL(entity.Members, "ORDER BY external_id")
	m, err := queryAll(ctx, s.pool, record.Records(times, entity.Members, entity.Member), q, sc.Account, sc.Provider)
	if err != nil {
		return nil, fmt.Errorf("postgres: members: %w", err)
	}
	return m, nil
}

// UnmappedActiveMembers returns active helpdesk users with no mapping.
func (s *Store) UnmappedActiveMembers(ctx context.Context, sc store.Scope) ([]helpdesk.Member, error) {
	q := selectSQL(entity.Members, `AND active AND NOT EXISTS (SELECT 1 FROM user_mappings m
  WHERE m.account = helpdesk_users.account AND m.provider = helpdesk_users.provider
    AND m.helpdesk_user_id = helpdesk_users.external_id)
ORDER BY external_id`)
	m, err := queryAll(ctx, s.pool, record.Records(times, entity.Members, entity.Member), q, sc.Account, sc.Provider)
	if err != nil {
		return nil, fmt.Errorf("postgres: unmapped members: %w", err)
	}
	return m, nil
}
