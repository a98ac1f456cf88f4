package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/record"
)

// ReplacePicklists replaces the picklist database in one transaction.
func (s *Store) ReplacePicklists(ctx context.Context, sc store.Scope, p []helpdesk.Picklist, at time.Time) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM picklists WHERE account = $1 AND provider = $2`, sc.Account, sc.Provider); err != nil {
			return err
		}
		for i, pl := range p {
			args, err := record.PicklistArgs(sc, i, pl)
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `INSERT INTO picklists (account, provider, position, kind, scope, scope_id, items)
VALUES ($1, $2, $3, $4, $5, $6, $7)`, args...)
			if err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO picklist_refreshes (account, provider, refreshed_at) VALUES ($1, $2, $3)
ON CONFLICT (account, provider) DO UPDATE SET refreshed_at = EXCLUDED.refreshed_at`, sc.Account, sc.Provider, ts(at))
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: replace picklists: %w", err)
	}
	return nil
}

// Picklists returns the picklist database, in the order it was stored,
// and when it was refreshed (zero when never).
func (s *Store) Picklists(ctx context.Context, sc store.Scope) ([]helpdesk.Picklist, time.Time, error) {
	var at tsScan
	err := s.pool.QueryRow(ctx, `SELECT refreshed_at FROM picklist_refreshes WHERE account = $1 AND provider = $2`,
		sc.Account, sc.Provider).Scan(&at)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, time.Time{}, fmt.Errorf("postgres: picklists: %w", err)
	}
	p, err := s.picklists(ctx, sc)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("postgres: picklists: %w", err)
	}
	return p, at.t, nil
}

func (s *Store) picklists(ctx context.Context, sc store.Scope) ([]helpdesk.Picklist, error) {
	return queryAll(ctx, s.pool, record.Picklist, `SELECT kind, scope, scope_id, items::text FROM picklists
WHERE account = $1 AND provider = $2 ORDER BY position`, sc.Account, sc.Provider)
}

// UserMappings returns every mapping in helpdesk-user-ID order.
func (s *Store) UserMappings(ctx context.Context, sc store.Scope) ([]store.UserMapping, error) {
	out, err := queryAll(ctx, s.pool, times.UserMapping, "SELECT "+record.UserMappingColumns+
		" FROM user_mappings WHERE account = $1 AND provider = $2 ORDER BY helpdesk_user_id", sc.Account, sc.Provider)
	if err != nil {
		return nil, fmt.Errorf("postgres: user mappings: %w", err)
	}
	return out, nil
}

// SetUserMapping creates or replaces a mapping; a zero UpdatedAt is
// stored as now.
func (s *Store) SetUserMapping(ctx context.Context, sc store.Scope, m store.UserMapping) error {
	if m.UpdatedAt.IsZero() {
		m.UpdatedAt = s.now()
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO user_mappings (account, provider, helpdesk_user_id, horizon_user, updated_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (account, provider, helpdesk_user_id) DO UPDATE SET horizon_user = EXCLUDED.horizon_user,
  updated_at = EXCLUDED.updated_at`, times.UserMappingArgs(sc, m)...)
	if err != nil {
		return fmt.Errorf("postgres: set user mapping %s: %w", m.HelpdeskUserID, err)
	}
	return nil
}

// DeleteUserMapping removes a mapping; a missing one is not an error.
func (s *Store) DeleteUserMapping(ctx context.Context, sc store.Scope, helpdeskUserID string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM user_mappings WHERE account = $1 AND provider = $2 AND helpdesk_user_id = $3`,
		sc.Account, sc.Provider, helpdeskUserID)
	if err != nil {
		return fmt.Errorf("postgres: delete user mapping %s: %w", helpdeskUserID, err)
	}
	return nil
}
