package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/record"
)

// ReplacePicklists replaces the picklist database in one transaction.
func (s *Store) ReplacePicklists(ctx context.Context, sc store.Scope, p []helpdesk.Picklist, at time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM picklists WHERE account = ? AND provider = ?`, scope(sc)...); err != nil {
			return err
		}
		for i, pl := range p {
			args, err := record.PicklistArgs(sc, i, pl)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO picklists (account, provider, position, kind, scope, scope_id, items)
VALUES (?, ?, ?, ?, ?, ?, ?)`, args...)
			if err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO picklist_refreshes (account, provider, refreshed_at) VALUES (?, ?, ?)
ON CONFLICT (account, provider) DO UPDATE SET refreshed_at = excluded.refreshed_at`, scope(sc, ts(at))...)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: replace picklists: %w", err)
	}
	return nil
}

// Picklists returns the picklist database, in the order it was stored,
// and when it was refreshed (zero when never).
func (s *Store) Picklists(ctx context.Context, sc store.Scope) ([]helpdesk.Picklist, time.Time, error) {
	var at tsScan
	err := s.rst.QueryRowContext(ctx, `SELECT refreshed_at FROM picklist_refreshes WHERE account = ? AND provider = ?`,
		scope(sc)...).Scan(&at)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, fmt.Errorf("sqlite: picklists: %w", err)
	}
	p, err := s.picklists(ctx, sc)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("sqlite: picklists: %w", err)
	}
	return p, at.t, nil
}

func (s *Store) picklists(ctx context.Context, sc store.Scope) ([]helpdesk.Picklist, error) {
	return queryAll(ctx, s.rst, record.Picklist, `SELECT kind, scope, scope_id, items FROM picklists
WHERE account = ? AND provider = ? ORDER BY position`, scope(sc)...)
}

// UserMappings returns every mapping in helpdesk-user-ID order.
func (s *Store) UserMappings(ctx context.Context, sc store.Scope) ([]store.UserMapping, error) {
	out, err := queryAll(ctx, s.r, times.UserMapping, "SELECT "+record.UserMappingColumns+
		" FROM user_mappings WHERE account = ? AND provider = ? ORDER BY helpdesk_user_id", scope(sc)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: user mappings: %w", err)
	}
	return out, nil
}

// SetUserMapping creates or replaces a mapping; a zero UpdatedAt is
// stored as now.
func (s *Store) SetUserMapping(ctx context.Context, sc store.Scope, m store.UserMapping) error {
	if m.UpdatedAt.IsZero() {
		m.UpdatedAt = s.now()
	}
	_, err := s.wexec(ctx, `INSERT INTO user_mappings (account, provider, helpdesk_user_id, horizon_user, updated_at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (account, provider, helpdesk_user_id) DO UPDATE SET horizon_user = excluded.horizon_user,
  updated_at = excluded.updated_at`, times.UserMappingArgs(sc, m)...)
	if err != nil {
		return fmt.Errorf("sqlite: set user mapping %s: %w", m.HelpdeskUserID, err)
	}
	return nil
}

// DeleteUserMapping removes a mapping; a missing one is not an error.
func (s *Store) DeleteUserMapping(ctx context.Context, sc store.Scope, helpdeskUserID string) error {
	_, err := s.wexec(ctx, `DELETE FROM user_mappings WHERE account = ? AND provider = ? AND helpdesk_user_id = ?`,
		scope(sc, helpdeskUserID)...)
	if err != nil {
		return fmt.Errorf("sqlite: delete user mapping %s: %w", helpdeskUserID, err)
	}
	return nil
}
