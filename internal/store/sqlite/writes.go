package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/norm"
	"github.com/horizon/reconciler/internal/store/internal/query"
	"github.com/horizon/reconciler/internal/store/internal/record"
)

// EnqueueWrite stores a write, or returns the first write of its
// idempotency key.
func (s *Store) EnqueueWrite(ctx context.Context, sc store.Scope, w store.Write) (store.Write, bool, error) {
	w, err := norm.Write(w, s.now)
	if err != nil {
		return w, false, fmt.Errorf("sqlite: enqueue write: %w", err)
	}
	var id int64
	created := false
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO outbox (`+record.WriteInsertColumns+`)
VALUES (`+placeholders(18)+`) ON CONFLICT (account, provider, idem_key) WHERE idem_key IS NOT NULL DO NOTHING RETURNING id`,
			times.WriteArgs(sc, w)...).Scan(&id)
		if err == nil {
			created = true
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT id FROM outbox WHERE account = ? AND provider = ? AND idem_key = ?`,
			scope(sc, w.IdempotencyKey)...).Scan(&id)
	})
	if err != nil {
		return w, false, fmt.Errorf("sqlite: enqueue write: %w", err)
	}
	first, err := s.Write(ctx, sc, id)
	if err != nil {
		return w, false, err
	}
	if !created && first.RequestHash != w.RequestHash {
		return first, false, fmt.Errorf("sqlite: enqueue write: key %q: %w", w.IdempotencyKey, store.ErrIdempotencyConflict)
	}
	return first, created, nil
}

// ClaimWrites claims due writes, in order per order key. The single
// writer connection makes the UPDATE ... RETURNING atomic.
func (s *Store) ClaimWrites(ctx context.Context, sc store.Scope, n int, lease time.Duration, now time.Time) ([]store.Write, error) {
	w := query.ClaimableWrites(dialect, sc, ts(now))
	q := `UPDATE outbox SET uncertain = (uncertain OR state = 'inflight'), state = 'inflight',
  claimed_until = ?, attempts = attempts + 1, updated_at = ?
WHERE id IN (SELECT o.id FROM outbox o WHERE ` + w.String() + ` ORDER BY o.id LIMIT ?)
RETURNING ` + record.WriteColumns
	args := append([]any{ts(now.Add(lease)), ts(now)}, w.Args...)
	ws, err := queryAll(ctx, s.wst, times.Write, q, append(args, n)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim writes: %w", err)
	}
	record.SortWrites(ws)
	return ws, nil
}

// FinishWrite records an attempt's outcome under its claim.
func (s *Store) FinishWrite(ctx context.Context, sc store.Scope, id int64, o store.WriteOutcome) error {
	o, err := norm.Outcome(o, s.now)
	if err != nil {
		return fmt.Errorf("sqlite: finish write %d: %w", id, err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var state string
		var attempts int
		ptx := s.wst.in(tx)
		err := ptx.QueryRowContext(ctx, `SELECT state, attempts FROM outbox WHERE account = ? AND provider = ? AND id = ? AND op <> ''`,
			scope(sc, id)...).Scan(&state, &attempts)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		if state != store.WriteInFlight || attempts != o.Attempt {
			return store.ErrClaimLost
		}
		_, err = ptx.ExecContext(ctx, `UPDATE outbox SET state = ?, next_attempt = ?, answer = ?, result_id = ?,
  uncertain = ?, duration_us = ?, updated_at = ?, finished_at = ?, last_error = answer, claimed_until = NULL WHERE id = ?`,
			append(times.OutcomeArgs(o), id)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: finish write %d: %w", id, err)
	}
	return nil
}

// Write returns one write.
func (s *Store) Write(ctx context.Context, sc store.Scope, id int64) (store.Write, error) {
	ws, err := queryAll(ctx, s.rst, times.Write, `SELECT `+record.WriteColumns+` FROM outbox
WHERE account = ? AND provider = ? AND id = ? AND op <> ''`, scope(sc, id)...)
	if err != nil {
		return store.Write{}, fmt.Errorf("sqlite: write %d: %w", id, err)
	}
	if len(ws) == 0 {
		return store.Write{}, fmt.Errorf("sqlite: write %d: %w", id, store.ErrNotFound)
	}
	return ws[0], nil
}

// Writes lists writes newest first.
func (s *Store) Writes(ctx context.Context, sc store.Scope, f store.WriteFilter) ([]store.Write, error) {
	q, args := query.Writes(dialect, sc, f).Select(record.WriteColumns, "outbox", "id DESC", query.WriteLimit(f))
	ws, err := queryAll(ctx, s.rst, times.Write, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list writes: %w", err)
	}
	return ws, nil
}

// WriteStats counts writes by state.
func (s *Store) WriteStats(ctx context.Context, sc store.Scope) (store.WriteStats, error) {
	st := store.WriteStats{ByState: map[string]int{}}
	rows, err := s.r.QueryContext(ctx, `SELECT state, count(*), min(created_at) FROM outbox
WHERE account = ? AND provider = ? AND op <> '' GROUP BY state`, scope(sc)...)
	if err != nil {
		return st, fmt.Errorf("sqlite: write stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var n int
		var oldest tsScan
		if err := rows.Scan(&state, &n, &oldest); err != nil {
			return st, fmt.Errorf("sqlite: write stats: %w", err)
		}
		st.ByState[state] = n
		st.OldestLive = record.OldestLive(st.OldestLive, state, oldest.t)
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("sqlite: write stats: %w", err)
	}
	return st, nil
}

// UpsertNotes stores notes, replacing stored ones with the same ID.
func (s *Store) UpsertNotes(ctx context.Context, sc store.Scope, notes []helpdesk.Note) (store.UpsertResult, error) {
	var res store.UpsertResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, n := range notes {
			var existed bool
			err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM notes WHERE account = ? AND provider = ? AND external_id = ?)`,
				scope(sc, n.ExternalID)...).Scan(&existed)
			if err != nil {
				return err
			}
			r, err := tx.ExecContext(ctx, `INSERT INTO notes (account, provider, `+record.NoteColumns+`) VALUES (`+placeholders(9)+`)
ON CONFLICT (account, provider, external_id) DO UPDATE SET ticket_id = excluded.ticket_id, text = excluded.text,
  internal = excluded.internal, author_id = excluded.author_id, created_at = excluded.created_at, raw = excluded.raw
WHERE (notes.ticket_id, notes.text, notes.internal, notes.author_id, notes.created_at, coalesce(notes.raw, ''))
  IS NOT (excluded.ticket_id, excluded.text, excluded.internal, excluded.author_id, excluded.created_at, coalesce(excluded.raw, ''))`,
				times.NoteArgs(sc, n)...)
			if err != nil {
				return err
			}
			n, err := r.RowsAffected()
			if err != nil {
				return err
			}
			res = res.Add(record.Counted(existed, n))
		}
		return nil
	})
	if err != nil {
		return store.UpsertResult{}, fmt.Errorf("sqlite: upsert notes: %w", err)
	}
	return res, nil
}

// Notes returns a ticket's notes, oldest first.
func (s *Store) Notes(ctx context.Context, sc store.Scope, ticketID string) ([]helpdesk.Note, error) {
	ns, err := queryAll(ctx, s.r, times.Note, `SELECT `+record.NoteColumns+` FROM notes
WHERE account = ? AND provider = ? AND ticket_id = ? ORDER BY created_at, external_id`, scope(sc, ticketID)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: notes of ticket %s: %w", ticketID, err)
	}
	return ns, nil
}
