package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/norm"
)

// acquireSQL takes the lease when it is free or expired, or renews it for
// its holder, in one autocommit statement. The epoch grows when the
// holder changes and is kept on a renewal; no row comes back when another
// holder's lease is live. The expiry is computed from clock_timestamp()
// after the row lock is held and the WHERE has passed, so a new lease
// never starts before the previous one's expiry. $3 is the TTL in
// microseconds.
const acquireSQL = `INSERT INTO leases AS l (name, holder, epoch, expires_at)
VALUES ($1, $2, 1, clock_timestamp() + $3::bigint * interval '1 microsecond')
ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder,
  epoch = CASE WHEN l.holder = EXCLUDED.holder THEN l.epoch ELSE l.epoch + 1 END,
  expires_at = clock_timestamp() + $3::bigint * interval '1 microsecond'
WHERE l.holder = EXCLUDED.holder OR l.expires_at <= clock_timestamp()
RETURNING l.epoch, l.expires_at`

// AcquireLease takes or renews the named lease for holder until the
// database's clock plus ttl. store.ErrLeaseHeld when another holder's
// lease is unexpired.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (store.Lease, error) {
	if err := norm.Lease(name, holder, ttl); err != nil {
		return store.Lease{}, fmt.Errorf("postgres: acquire lease: %w", err)
	}
	l := store.Lease{Name: name, Holder: holder}
	var exp tsScan
	err := s.pool.QueryRow(ctx, acquireSQL, name, holder, ttl.Microseconds()).Scan(&l.Epoch, &exp)
	if errors.Is(err, pgx.ErrNoRows) {
		return s.leaseHeld(ctx, name)
	}
	if err != nil {
		return store.Lease{}, fmt.Errorf("postgres: acquire lease %s: %w", name, err)
	}
	l.ExpiresAt = exp.t
	return l, nil
}

// leaseHeld returns the lease another holder has, with ErrLeaseHeld.
func (s *Store) leaseHeld(ctx context.Context, name string) (store.Lease, error) {
	l := store.Lease{Name: name}
	var exp tsScan
	err := s.pool.QueryRow(ctx, `SELECT holder, epoch, expires_at FROM leases WHERE name = $1`, name).Scan(&l.Holder, &l.Epoch, &exp)
	if err != nil {
		return store.Lease{}, fmt.Errorf("postgres: acquire lease %s: %w", name, store.ErrLeaseHeld)
	}
	l.ExpiresAt = exp.t
	return l, fmt.Errorf("postgres: acquire lease %s: held by %s until %s: %w",
		name, l.Holder, l.ExpiresAt.Format(time.RFC3339Nano), store.ErrLeaseHeld)
}

// ReleaseLease ends holder's lease now, if holder still holds it. The row
// and its epoch stay, so the next acquisition starts a new epoch.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := s.pool.Exec(ctx, `UPDATE leases SET holder = '', expires_at = clock_timestamp()
WHERE name = $1 AND holder = $2`, name, holder)
	if err != nil {
		return fmt.Errorf("postgres: release lease %s: %w", name, err)
	}
	return nil
}

// Leases returns the unexpired leases whose name starts with prefix, by
// the database's clock.
func (s *Store) Leases(ctx context.Context, prefix string) ([]store.Lease, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, holder, epoch, expires_at FROM leases
WHERE left(name, length($1)) = $1 AND holder <> '' AND expires_at > clock_timestamp() ORDER BY name`, prefix)
	if err != nil {
		return nil, fmt.Errorf("postgres: list leases: %w", err)
	}
	defer rows.Close()
	var out []store.Lease
	for rows.Next() {
		var l store.Lease
		var exp tsScan
		if err := rows.Scan(&l.Name, &l.Holder, &l.Epoch, &exp); err != nil {
			return nil, fmt.Errorf("postgres: list leases: %w", err)
		}
		l.ExpiresAt = exp.t
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: list leases: %w", err)
	}
	return out, nil
}
