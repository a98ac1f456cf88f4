package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/norm"
	"github.com/horizon/reconciler/internal/store/internal/query"
	"github.com/horizon/reconciler/internal/store/internal/record"
)

const insertCallbackSQL = `INSERT INTO callback_log (account, provider, received_at, source_provider, event,
  delivery_id, dedupe_key, external_ids, verified, result, reason, payload, processed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (account, provider, dedupe_key) DO NOTHING RETURNING id`

// InsertCallbacks logs deliveries in one transaction. A delivery whose ID
// an earlier accepted delivery already claimed is logged with result
// duplicate and flagged in dup. The unique key makes this hold across
// replicas: a concurrent insert of the same ID waits for the other
// transaction and then sees the conflict.
func (s *Store) InsertCallbacks(ctx context.Context, sc store.Scope, recs []store.CallbackRecord) ([]int64, []bool, error) {
	ids, dup := make([]int64, len(recs)), make([]bool, len(recs))
	norms, keys := make([]store.CallbackRecord, len(recs)), make([]*string, len(recs))
	for i, r := range recs {
		norms[i], keys[i] = norm.Callback(sc, r, s.now)
	}
	// Three round trips whatever the batch size: the rows (pipelined), the
	// duplicates' rows, the external IDs. One per row would cap the group
	// commit's throughput at the network's latency.
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := insertRows(ctx, tx, sc, norms, keys, ids, dup); err != nil {
			return err
		}
		if err := insertDuplicates(ctx, tx, sc, norms, ids, dup); err != nil {
			return err
		}
		return insertExternalIDs(ctx, tx, sc, norms, ids)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: insert callbacks: %w", err)
	}
	return ids, dup, nil
}

// insertRows inserts every row with its de-duplication key; a row whose
// key is taken (by an earlier delivery, or one earlier in this batch) is
// marked dup.
func insertRows(ctx context.Context, tx pgx.Tx, sc store.Scope, recs []store.CallbackRecord, keys []*string, ids []int64, dup []bool) error {
	b := &pgx.Batch{}
	for i, r := range recs {
		if err := queueCallback(b, sc, r, keys[i]); err != nil {
			return err
		}
	}
	br := tx.SendBatch(ctx, b)
	for i := range recs {
		err := br.QueryRow().Scan(&ids[i])
		if errors.Is(err, pgx.ErrNoRows) {
			dup[i] = true
		} else if err != nil {
			br.Close()
			return fmt.Errorf("callback %d: %w", i, err)
		}
	}
	return br.Close()
}

// insertDuplicates logs the duplicates too, without a key, so the audit
// trail shows every delivery.
func insertDuplicates(ctx context.Context, tx pgx.Tx, sc store.Scope, recs []store.CallbackRecord, ids []int64, dup []bool) error {
	b := &pgx.Batch{}
	var at []int
	for i, r := range recs {
		if dup[i] {
			r.Result = store.CallbackDuplicate
			recs[i] = r
			if err := queueCallback(b, sc, r, nil); err != nil {
				return err
			}
			at = append(at, i)
		}
	}
	if len(at) == 0 {
		return nil
	}
	br := tx.SendBatch(ctx, b)
	for _, i := range at {
		if err := br.QueryRow().Scan(&ids[i]); err != nil {
			br.Close()
			return fmt.Errorf("duplicate callback %d: %w", i, err)
		}
	}
	return br.Close()
}

func insertExternalIDs(ctx context.Context, tx pgx.Tx, sc store.Scope, recs []store.CallbackRecord, ids []int64) error {
	var xs []string
	var cbs []int64
	for i, r := range recs {
		for _, x := range r.ExternalIDs {
			xs, cbs = append(xs, x), append(cbs, ids[i])
		}
	}
	if len(xs) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO callback_external_ids (account, provider, external_id, callback_id)
SELECT $1, $2, x, c FROM unnest($3::text[], $4::bigint[]) AS t(x, c)`, sc.Account, sc.Provider, xs, cbs)
	return err
}

func queueCallback(b *pgx.Batch, sc store.Scope, r store.CallbackRecord, key *string) error {
	args, err := times.CallbackArgs(sc, r, key)
	if err != nil {
		return err
	}
	b.Queue(insertCallbackSQL, args...)
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
func (s *Store) MarkCallbacks(ctx context.Context, sc store.Scope, ids []int64, result, reason string, at time.Time) error {
	if err := norm.MarkResult(result); err != nil {
		return fmt.Errorf("postgres: mark callbacks: %w", err)
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE callback_log SET result = $1, reason = $2, processed_at = $3
WHERE account = $4 AND provider = $5 AND id = ANY($6)`, result, reason, ts(norm.Or(at, s.now)), sc.Account, sc.Provider, ids)
		if err != nil {
			return err
		}
		if n := tag.RowsAffected(); n != int64(len(uniqIDs(ids))) {
			return fmt.Errorf("%d of %d callbacks: %w", len(uniqIDs(ids))-int(n), len(ids), store.ErrNotFound)
		}
		return nil
	})
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
