package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

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
		return 0, fmt.Errorf("sqlite: enqueue: %w", err)
	}
	var id int64
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO outbox (account, provider, key, kind, payload, next_attempt,
  state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (account, provider, key) WHERE state IN ('pending', 'inflight') DO NOTHING RETURNING id`,
			times.OutboxArgs(sc, it)...).Scan(&id)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT id FROM outbox WHERE account = ? AND provider = ? AND key = ?
  AND state IN ('pending', 'inflight')`, scope(sc, it.Key)...).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: enqueue %s: %w", it.Key, err)
	}
	return id, nil
}

const outboxColumns = `id, key, kind, payload, attempts, next_attempt, state, last_error, created_at, claimed_until`

// ClaimOutbox claims up to n items that are due at now (pending with
// next attempt at or before now, or in flight with an expired claim):
// they become in flight until now+lease and their attempt count grows by
// one. The single writer makes the UPDATE ... RETURNING atomic.
func (s *Store) ClaimOutbox(ctx context.Context, sc store.Scope, n int, lease time.Duration, now time.Time) ([]store.OutboxItem, error) {
	items, err := queryAll(ctx, s.wst, times.OutboxItem, `UPDATE outbox SET state = 'inflight', claimed_until = ?, attempts = attempts + 1
WHERE id IN (SELECT id FROM outbox WHERE account = ? AND provider = ? AND op = ''
  AND ((state = 'pending' AND next_attempt <= ?) OR (state = 'inflight' AND claimed_until <= ?))
  ORDER BY next_attempt, id LIMIT ?)
RETURNING `+outboxColumns, ts(now.Add(lease)), sc.Account, sc.Provider, ts(now), ts(now), n)
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim outbox: %w", err)
	}
	record.SortClaimed(items)
	return items, nil
}

// CompleteOutbox marks a pending or in-flight item done; an item already
// done or dead is left as it is. store.ErrNotFound when id is unknown.
func (s *Store) CompleteOutbox(ctx context.Context, sc store.Scope, id int64) error {
	err := s.finishOutbox(ctx, sc, id, `state = 'done', claimed_until = NULL`)
	if err != nil {
		return fmt.Errorf("sqlite: complete outbox item %d: %w", id, err)
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
	err := s.finishOutbox(ctx, sc, id, `state = ?, next_attempt = ?, last_error = ?, claimed_until = NULL`,
		state, ts(next), reason)
	if err != nil {
		return fmt.Errorf("sqlite: fail outbox item %d: %w", id, err)
	}
	return nil
}

func (s *Store) finishOutbox(ctx context.Context, sc store.Scope, id int64, set string, args ...any) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var state string
		err := tx.QueryRowContext(ctx, `SELECT state FROM outbox WHERE account = ? AND provider = ? AND id = ?`,
			scope(sc, id)...).Scan(&state)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil || state == store.OutboxDone || state == store.OutboxDead {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE outbox SET "+set+" WHERE id = ?", append(args, id)...)
		return err
	})
}

// OutboxStats returns the backlog: items pending or in flight, the oldest
// of them by creation, and dead items.
func (s *Store) OutboxStats(ctx context.Context, sc store.Scope) (store.OutboxStats, error) {
	var st store.OutboxStats
	var oldest tsScan
	err := s.rst.QueryRowContext(ctx, `SELECT
  coalesce(sum(CASE WHEN state IN ('pending', 'inflight') THEN 1 ELSE 0 END), 0),
  min(CASE WHEN state IN ('pending', 'inflight') THEN created_at END),
  coalesce(sum(CASE WHEN state = 'dead' THEN 1 ELSE 0 END), 0)
FROM outbox WHERE account = ? AND provider = ?`, scope(sc)...).Scan(&st.Pending, &oldest, &st.Dead)
	if err != nil {
		return st, fmt.Errorf("sqlite: outbox stats: %w", err)
	}
	st.Oldest = oldest.t
	return st, nil
}
