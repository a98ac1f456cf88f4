package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/norm"
	"github.com/horizon/reconciler/internal/store/internal/record"
)

// Enqueue adds a write to the outbox. While an item with the same key is
// pending or in flight, it is not added again and that item's ID is
// returned; once that item is done or dead, the key may be queued again.
func (s *Store) Enqueue(ctx context.Context, sc store.Scope, it store.OutboxItem) (int64, error) {
	it, err := norm.Outbox(it, s.now)
	if err != nil {
		return 0, fmt.Errorf("postgres: enqueue: %w", err)
	}
	var id int64
	// The live item may finish between the two statements; then insert
	// again.
	for range 3 {
		if id, err = s.enqueueOnce(ctx, sc, it); !errors.Is(err, pgx.ErrNoRows) {
			break
		}
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: enqueue %s: %w", it.Key, err)
	}
	return id, nil
}

func (s *Store) enqueueOnce(ctx context.Context, sc store.Scope, it store.OutboxItem) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO outbox (account, provider, key, kind, payload, next_attempt, state, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (account, provider, key) WHERE state IN ('pending', 'inflight') DO NOTHING RETURNING id`,
		times.OutboxArgs(sc, it)...).Scan(&id)
	if !errors.Is(err, pgx.ErrNoRows) {
		return id, err
	}
	err = s.pool.QueryRow(ctx, `SELECT id FROM outbox WHERE account = $1 AND provider = $2 AND key = $3
  AND state IN ('pending', 'inflight')`, sc.Account, sc.Provider, it.Key).Scan(&id)
	return id, err
}

const outboxColumns = `o.id, o.key, o.kind, o.payload::text, o.attempts, o.next_attempt, o.state, o.last_error,
  o.created_at, o.claimed_until`

// claimSQL locks up to $5 due items, skipping those another worker has
// locked, and marks them in flight until $4, in one statement (its own
// short transaction).
const claimSQL = `WITH due AS (
  SELECT id FROM outbox
  WHERE account = $1 AND provider = $2 AND op = '' AND state IN ('pending', 'inflight')
    AND ((state = 'pending' AND next_attempt <= $3) OR (state = 'inflight' AND claimed_until <= $3))
  ORDER BY next_attempt, id LIMIT $5
  FOR UPDATE SKIP LOCKED)
UPDATE outbox o SET state = 'inflight', claimed_until = $4, attempts = o.attempts + 1
FROM due WHERE o.id = due.id
RETURNING ` + outboxColumns

// ClaimOutbox claims up to n items that are due at now (pending with next
// attempt at or before now, or in flight with an expired claim): they
// become in flight until now+lease and their attempt count grows by one.
func (s *Store) ClaimOutbox(ctx context.Context, sc store.Scope, n int, lease time.Duration, now time.Time) ([]store.OutboxItem, error) {
	items, err := queryAll(ctx, s.pool, times.OutboxItem, claimSQL, sc.Account, sc.Provider, ts(now), ts(now.Add(lease)), n)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim outbox: %w", err)
	}
	record.SortClaimed(items)
	return items, nil
}

// CompleteOutbox marks a pending or in-flight item done; an item already
// done or dead is left as it is. store.ErrNotFound when id is unknown.
func (s *Store) CompleteOutbox(ctx context.Context, sc store.Scope, id int64) error {
	err := s.finishOutbox(ctx, sc, id, `state = 'done', claimed_until = NULL`)
	if err != nil {
		return fmt.Errorf("postgres: complete outbox item %d: %w", id, err)
	}
	return nil
}

// FailOutbox records a failed attempt of a pending or in-flight item: it
// is due again at next, or dead. An item already done or dead is left as
// it is. store.ErrNotFound when id is unknown.
func (s *Store) FailOutbox(ctx context.Context, sc store.Scope, id int64, reason string, next time.Time, dead bool) error {
	state := store.OutboxPending
	if dead {
		state = store.OutboxDead
	}
	err := s.finishOutbox(ctx, sc, id, `state = $4, next_attempt = $5, last_error = $6, claimed_until = NULL`,
		state, ts(next), reason)
	if err != nil {
		return fmt.Errorf("postgres: fail outbox item %d: %w", id, err)
	}
	return nil
}

// finishOutbox applies set ($4... are args) to a live item in one
// statement; it tells an unknown item from a finished one.
func (s *Store) finishOutbox(ctx context.Context, sc store.Scope, id int64, set string, args ...any) error {
	var live bool
	err := s.pool.QueryRow(ctx, `WITH it AS (SELECT id, state IN ('pending', 'inflight') AS live FROM outbox
  WHERE account = $1 AND provider = $2 AND id = $3 FOR UPDATE),
upd AS (UPDATE outbox SET `+set+` FROM it WHERE outbox.id = it.id AND it.live RETURNING outbox.id)
SELECT live FROM it`, append([]any{sc.Account, sc.Provider, id}, args...)...).Scan(&live)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// OutboxStats returns the backlog: items pending or in flight, the oldest
// of them by creation, and dead items.
func (s *Store) OutboxStats(ctx context.Context, sc store.Scope) (store.OutboxStats, error) {
	var st store.OutboxStats
	var oldest tsScan
	err := s.pool.QueryRow(ctx, `SELECT
  count(*) FILTER (WHERE state IN ('pending', 'inflight')),
  min(created_at) FILTER (WHERE state IN ('pending', 'inflight')),
  count(*) FILTER (WHERE state = 'dead')
FROM outbox WHERE account = $1 AND provider = $2`, sc.Account, sc.Provider).Scan(&st.Pending, &oldest, &st.Dead)
	if err != nil {
		return st, fmt.Errorf("postgres: outbox stats: %w", err)
	}
	st.Oldest = oldest.t
	return st, nil
}
