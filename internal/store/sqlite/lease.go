package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/norm"
)

// acquireSQL takes the lease when it is free or expired, or renews it for
// its holder. The epoch grows when the holder changes and is kept on a
// renewal; no row comes back when another holder's lease is live.
const acquireSQL = `INSERT INTO leases (name, holder, epoch, expires_at) VALUES (?, ?, 1, ?)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,
  epoch = CASE WHEN leases.holder = excluded.holder THEN leases.epoch ELSE leases.epoch + 1 END,
  expires_at = excluded.expires_at
WHERE leases.holder = excluded.holder OR leases.expires_at <= ?
RETURNING epoch, expires_at`

// AcquireLease takes or renews the named lease for holder until now+ttl,
// by this process's clock. store.ErrLeaseHeld when another holder's lease
// is unexpired.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (store.Lease, error) {
	if err := norm.Lease(name, holder, ttl); err != nil {
		return store.Lease{}, fmt.Errorf("sqlite: acquire lease: %w", err)
	}
	now := store.NormalizeTime(s.now())
	l := store.Lease{Name: name, Holder: holder}
	var exp tsScan
	err := s.wst.QueryRowContext(ctx, acquireSQL, name, holder, ts(now.Add(ttl)), ts(now)).Scan(&l.Epoch, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return s.leaseHeld(ctx, name)
	}
	if err != nil {
		return store.Lease{}, fmt.Errorf("sqlite: acquire lease %s: %w", name, err)
	}
	l.ExpiresAt = exp.t
	return l, nil
}

// leaseHeld returns the lease another holder has, with ErrLeaseHeld.
func (s *Store) leaseHeld(ctx context.Context, name string) (store.Lease, error) {
	l := store.Lease{Name: name}
	var exp tsScan
	err := s.r.QueryRowContext(ctx, `SELECT holder, epoch, expires_at FROM leases WHERE name = ?`, name).Scan(&l.Holder, &l.Epoch, &exp)
	if err != nil {
		return store.Lease{}, fmt.Errorf("sqlite: acquire lease %s: %w", name, store.ErrLeaseHeld)
	}
	l.ExpiresAt = exp.t
	return l, fmt.Errorf("sqlite: acquire lease %s: held by %s until %s: %w",
		name, l.Holder, l.ExpiresAt.Format(time.RFC3339Nano), store.ErrLeaseHeld)
}

// ReleaseLease ends holder's lease now, if holder still holds it. The row
// and its epoch stay, so the next acquisition starts a new epoch.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := s.wexec(ctx, `UPDATE leases SET holder = '', expires_at = ? WHERE name = ? AND holder = ?`,
		ts(s.now()), name, holder)
	if err != nil {
		return fmt.Errorf("sqlite: release lease %s: %w", name, err)
	}
	return nil
}

// Leases returns the unexpired leases whose name starts with prefix.
func (s *Store) Leases(ctx context.Context, prefix string) ([]store.Lease, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, holder, epoch, expires_at FROM leases
WHERE substr(name, 1, ?) = ? AND holder <> '' AND expires_at > ? ORDER BY name`, len(prefix), prefix, ts(s.now()))
	if err != nil {
		return nil, fmt.Errorf("sqlite: list leases: %w", err)
	}
	defer rows.Close()
	var out []store.Lease
	for rows.Next() {
		var l store.Lease
		var exp tsScan
		if err := rows.Scan(&l.Name, &l.Holder, &l.Epoch, &exp); err != nil {
			return nil, fmt.Errorf("sqlite: list leases: %w", err)
		}
		l.ExpiresAt = exp.t
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list leases: %w", err)
	}
	return out, nil
}
