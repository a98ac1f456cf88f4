package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/norm"
	"github.com/horizon/reconciler/internal/store/internal/query"
	"github.com/horizon/reconciler/internal/store/internal/record"
)

// insertCallbackSQL logs one delivery in one statement: the row with its
// de-duplication key; when the key is taken (by an earlier delivery, or
// one earlier in the same transaction), the row without a key and with
// result duplicate, so that the audit trail shows every delivery; then
// its external IDs ($14). It returns the row's ID and whether it is a
// duplicate.
const insertCallbackSQL = `WITH ins AS (
  INSERT INTO callback_log (account, provider, received_at, source_provider, event,
    delivery_id, dedupe_key, external_ids, verified, result, reason, payload, processed_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
  ON CONFLICT (account, provider, dedupe_key) DO NOTHING RETURNING id),
dup AS (
  INSERT INTO callback_log (account, provider, received_at, source_provider, event,
    delivery_id, dedupe_key, external_ids, verified, result, reason, payload, processed_at)
  SELECT $1, $2, $3, $4, $5, $6, NULL, $8, $9, 'duplicate', $11, $12, $13
  WHERE NOT EXISTS (SELECT FROM ins) RETURNING id),
logged AS (SELECT id, false AS dup FROM ins UNION ALL SELECT id, true FROM dup),
xids AS (
  INSERT INTO callback_external_ids (account, provider, external_id, callback_id)
  SELECT $1, $2, x, logged.id FROM logged, unnest($14::text[]) AS x)
SELECT id, dup FROM logged`

// InsertCallbacks logs deliveries in one transaction. A delivery whose ID
// an earlier accepted delivery already claimed is logged with result
// duplicate and flagged in dup. The unique key makes this hold across
// replicas: a concurrent insert of the same ID waits for the other
// transaction and then sees the conflict.
func (s *Store) InsertCallbacks(ctx context.Context, sc store.Scope, recs []store.CallbackRecord) ([]int64, []bool, error) {
	bs := []store.CallbackBatch{{Scope: sc, Records: recs}}
	if err := s.InsertCallbackBatches(ctx, bs); err != nil {
		return nil, nil, err
	}
	return bs[0].IDs, bs[0].Dup, nil
}

// InsertCallbackBatches logs the deliveries of several scopes in one
// round trip, on the callback log's own connections: one statement per
// delivery, sent as one batch, which PostgreSQL runs as one implicit
// transaction (all or nothing) committed once. A round trip per row, or a BEGIN and COMMIT of their own, would
// cap the group commit's throughput at the network's latency.
func (s *Store) InsertCallbackBatches(ctx context.Context, bs []store.CallbackBatch) error {
	b := &pgx.Batch{}
	for i := range bs {
		bc := &bs[i]
		bc.IDs, bc.Dup = make([]int64, len(bc.Records)), make([]bool, len(bc.Records))
		for _, r := range bc.Records {
			r, key := norm.Callback(bc.Scope, r, s.now)
			args, err := times.CallbackArgs(bc.Scope, r, key)
			if err != nil {
				return fmt.Errorf("postgres: insert callbacks: %w", err)
			}
			xids := r.ExternalIDs
			if xids == nil {
				xids = []string{}
			}
			b.Queue(insertCallbackSQL, append(args, xids)...)
		}
	}
	if b.Len() == 0 {
		return nil
	}
	br := s.logPool.SendBatch(ctx, b)
	for i := range bs {
		bc := &bs[i]
		for j := range bc.Records {
			if err := br.QueryRow().Scan(&bc.IDs[j], &bc.Dup[j]); err != nil {
				br.Close()
				return fmt.Errorf("postgres: insert callbacks: %s callback %d: %w", bc.Scope.Account, j, err)
			}
		}
	}
	if err := br.Close(); err != nil {
		return fmt.Errorf("postgres: insert callbacks: %w", err)
	}
	return nil
}

const callbackColumns = `id, received_at, source_provider, event, delivery_id, external_ids::text, verified,
  result, reason, payload, processed_at`

// PendingCallbacks returns accepted, unprocessed callbacks, oldest first.
func (s *Store) PendingCallbacks(ctx context.Context, sc store.Scope, limit int) ([]store.CallbackRecord, error) {
	recs, err := s.callbacks(ctx, query.PendingCallbacks(dialect, sc), "received_at, id", limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: pending callbacks: %w", err)
	}
	return recs, nil
}

// Callbacks lists the callback log newest first. ExternalID matches
// exactly one of a record's external IDs; Since is inclusive, Until
// exclusive.
func (s *Store) Callbacks(ctx context.Context, sc store.Scope, f store.CallbackFilter) ([]store.CallbackRecord, error) {
	recs, err := s.callbacks(ctx, query.Callbacks(dialect, sc, f), "received_at DESC, id DESC", f.Limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: callbacks: %w", err)
	}
	return recs, nil
}

func (s *Store) callbacks(ctx context.Context, w *query.Where, order string, limit int) ([]store.CallbackRecord, error) {
	q, args := w.Select(callbackColumns, "callback_log", order, norm.Limit(limit))
	return queryAll(ctx, s.pool, times.Callback, q, args...)
}

// MarkCallbacks sets the result, reason and processing time of callbacks;
// store.ErrNotFound when one of ids is not in the scope's log (and then
// none is changed).
//
// One autocommit statement: it locks the rows of ids, found by primary
// key alone (a plan made before the table has statistics then cannot
// scan the scope's rows), and updates them only if it found them all in
// the scope (a row deleted meanwhile is not found).
func (s *Store) MarkCallbacks(ctx context.Context, sc store.Scope, ids []int64, result, reason string, at time.Time) error {
	if err := norm.MarkResult(result); err != nil {
		return fmt.Errorf("postgres: mark callbacks: %w", err)
	}
	want := len(uniqIDs(ids))
	var found int
	err := s.pool.QueryRow(ctx, `WITH found AS (SELECT count(*) FILTER (WHERE account = $4 AND provider = $5) AS n
  FROM (SELECT account, provider FROM callback_log WHERE id = ANY($6) FOR UPDATE) l),
up AS (UPDATE callback_log SET result = $1, reason = $2, processed_at = $3
  WHERE account = $4 AND provider = $5 AND id = ANY($6) AND (SELECT n FROM found) = $7)
SELECT n FROM found`, result, reason, ts(norm.Or(at, s.now)), sc.Account, sc.Provider, ids, want).Scan(&found)
	if err == nil && found != want {
		err = fmt.Errorf("%d of %d callbacks: %w", want-found, len(ids), store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("postgres: mark callbacks: %w", err)
	}
	return nil
}

func uniqIDs(ids []int64) map[int64]bool {
	m := make(map[int64]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// CallbackStats counts callbacks received at or after since, by result.
// LastReceived is the newest callback of any result, at any time.
func (s *Store) CallbackStats(ctx context.Context, sc store.Scope, since time.Time) (store.CallbackStats, error) {
	st := store.CallbackStats{ByResult: map[string]int{}}
	rows, err := s.pool.Query(ctx, `SELECT result, count(*) FROM callback_log
WHERE account = $1 AND provider = $2 AND received_at >= $3 GROUP BY result`, sc.Account, sc.Provider, ts(since))
	if err != nil {
		return st, fmt.Errorf("postgres: callback stats: %w", err)
	}
	defer rows.Close()
	if err := record.CountByResult(rows, st.ByResult); err != nil {
		return st, fmt.Errorf("postgres: callback stats: %w", err)
	}
	var last tsScan
	err = s.pool.QueryRow(ctx, `SELECT max(received_at) FROM callback_log WHERE account = $1 AND provider = $2`,
		sc.Account, sc.Provider).Scan(&last)
	if err != nil {
		return st, fmt.Errorf("postgres: callback stats: %w", err)
	}
	st.LastReceived = last.t
	return st, nil
}
