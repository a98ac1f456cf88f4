package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/norm"
	"github.com/horizon/reconciler/internal/store/internal/query"
	"github.com/horizon/reconciler/internal/store/internal/record"
)

const insertCallbackSQL = `INSERT INTO callback_log (account, provider, received_at, source_provider, event,
  delivery_id, dedupe_key, external_ids, verified, result, reason, payload, processed_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (account, provider, dedupe_key) DO NOTHING RETURNING id`

// InsertCallbacks logs deliveries in one transaction. A delivery whose ID
// an earlier accepted delivery already claimed is logged with result
// duplicate and flagged in dup.
func (s *Store) InsertCallbacks(ctx context.Context, sc store.Scope, recs []store.CallbackRecord) ([]int64, []bool, error) {
	bs := []store.CallbackBatch{{Scope: sc, Records: recs}}
	if err := s.InsertCallbackBatches(ctx, bs); err != nil {
		return nil, nil, err
	}
	return bs[0].IDs, bs[0].Dup, nil
}

// InsertCallbackBatches logs the deliveries of several scopes in one
// transaction: one commit for the webhooks of many accounts, ahead of the
// other writers waiting (see gate).
func (s *Store) InsertCallbackBatches(ctx context.Context, bs []store.CallbackBatch) error {
	err := s.inTxFirst(ctx, func(tx *sql.Tx) error {
		for i := range bs {
			bc := &bs[i]
			bc.IDs, bc.Dup = make([]int64, len(bc.Records)), make([]bool, len(bc.Records))
			for j, r := range bc.Records {
				var err error
				if bc.IDs[j], bc.Dup[j], err = s.insertCallback(ctx, tx, bc.Scope, r); err != nil {
					return fmt.Errorf("%s callback %d: %w", bc.Scope.Account, j, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: insert callbacks: %w", err)
	}
	return nil
}

func (s *Store) insertCallback(ctx context.Context, tx *sql.Tx, sc store.Scope, r store.CallbackRecord) (int64, bool, error) {
	r, key := norm.Callback(sc, r, s.now)
	ptx := s.wst.in(tx)
	id, err := insertCallbackRow(ctx, ptx, sc, r, key)
	dup := errors.Is(err, sql.ErrNoRows)
	if dup {
		r.Result = store.CallbackDuplicate
		id, err = insertCallbackRow(ctx, ptx, sc, r, nil)
	}
	if err != nil {
		return 0, false, err
	}
	for _, x := range r.ExternalIDs {
		_, err := ptx.ExecContext(ctx, `INSERT INTO callback_external_ids (account, provider, external_id, callback_id)
VALUES (?, ?, ?, ?)`, scope(sc, x, id)...)
		if err != nil {
			return 0, false, err
		}
	}
	return id, dup, nil
}

func insertCallbackRow(ctx context.Context, tx preparedTx, sc store.Scope, r store.CallbackRecord, key *string) (int64, error) {
	args, err := times.CallbackArgs(sc, r, key)
	if err != nil {
		return 0, err
	}
	var id int64
	err = tx.QueryRowContext(ctx, insertCallbackSQL, args...).Scan(&id)
	return id, err
}

const callbackColumns = `id, received_at, source_provider, event, delivery_id, external_ids, verified,
  result, reason, payload, processed_at`

// PendingCallbacks returns accepted, unprocessed callbacks, oldest first.
func (s *Store) PendingCallbacks(ctx context.Context, sc store.Scope, limit int) ([]store.CallbackRecord, error) {
	recs, err := s.callbacks(ctx, query.PendingCallbacks(dialect, sc), "received_at, id", limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: pending callbacks: %w", err)
	}
	return recs, nil
}

// Callbacks lists the callback log newest first. ExternalID matches
// exactly one of a record's external IDs; Since is inclusive, Until
// exclusive.
func (s *Store) Callbacks(ctx context.Context, sc store.Scope, f store.CallbackFilter) ([]store.CallbackRecord, error) {
	recs, err := s.callbacks(ctx, query.Callbacks(dialect, sc, f), "received_at DESC, id DESC", f.Limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: callbacks: %w", err)
	}
	return recs, nil
}

func (s *Store) callbacks(ctx context.Context, w *query.Where, order string, limit int) ([]store.CallbackRecord, error) {
	q, args := w.Select(callbackColumns, "callback_log", order, norm.Limit(limit))
	return queryAll(ctx, s.rst, times.Callback, q, args...)
}

// MarkCallbacks sets the result, reason and processing time of callbacks;
// store.ErrNotFound when one of ids is not in the scope's log (and then
// none is changed). One ID, a callback's usual group, is one autocommit
// statement.
func (s *Store) MarkCallbacks(ctx context.Context, sc store.Scope, ids []int64, result, reason string, at time.Time) error {
	if err := norm.MarkResult(result); err != nil {
		return fmt.Errorf("sqlite: mark callbacks: %w", err)
	}
	mark := func(exec func(context.Context, string, ...any) (sql.Result, error), id int64) error {
		res, err := exec(ctx, `UPDATE callback_log SET result = ?, reason = ?, processed_at = ?
WHERE account = ? AND provider = ? AND id = ?`, result, reason, ts(norm.Or(at, s.now)), sc.Account, sc.Provider, id)
		if err == nil {
			err = oneRow(res, fmt.Sprintf("callback %d", id))
		}
		return err
	}
	var err error
	if len(ids) == 1 {
		err = mark(s.wst.ExecContext, ids[0])
	} else {
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			for _, id := range ids {
				if err := mark(s.wst.in(tx).ExecContext, id); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("sqlite: mark callbacks: %w", err)
	}
	return nil
}

// CallbackStats counts callbacks received at or after since, by result.
// LastReceived is the newest callback of any result, at any time.
func (s *Store) CallbackStats(ctx context.Context, sc store.Scope, since time.Time) (store.CallbackStats, error) {
	st := store.CallbackStats{ByResult: map[string]int{}}
	rows, err := s.r.QueryContext(ctx, `SELECT result, count(*) FROM callback_log
WHERE account = ? AND provider = ? AND received_at >= ? GROUP BY result`, scope(sc, ts(since))...)
	if err != nil {
		return st, fmt.Errorf("sqlite: callback stats: %w", err)
	}
	defer rows.Close()
	if err := record.CountByResult(rows, st.ByResult); err != nil {
		return st, fmt.Errorf("sqlite: callback stats: %w", err)
	}
	var last tsScan
	err = s.r.QueryRowContext(ctx, `SELECT max(received_at) FROM callback_log WHERE account = ? AND provider = ?`,
		scope(sc)...).Scan(&last)
	if err != nil {
		return st, fmt.Errorf("sqlite: callback stats: %w", err)
	}
	st.LastReceived = last.t
	return st, nil
}
