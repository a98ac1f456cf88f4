package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

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
		return w, false, fmt.Errorf("postgres: enqueue write: %w", err)
	}
	var id int64
	created := false
	err = s.pool.QueryRow(ctx, `WITH ins AS (INSERT INTO outbox (`+record.WriteInsertColumns+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
ON CONFLICT (account, provider, idem_key) WHERE idem_key IS NOT NULL DO NOTHING RETURNING id)
SELECT id, true FROM ins
UNION ALL SELECT id, false FROM outbox WHERE account = $1 AND provider = $2 AND idem_key = $12 AND NOT EXISTS (SELECT 1 FROM ins)`,
		times.WriteArgs(sc, w)...).Scan(&id, &created)
	if errors.Is(err, pgx.ErrNoRows) { // the first write committed after this statement's snapshot
		err = s.pool.QueryRow(ctx, `SELECT id, false FROM outbox WHERE account = $1 AND provider = $2 AND idem_key = $3`,
			sc.Account, sc.Provider, w.IdempotencyKey).Scan(&id, &created)
	}
	if err != nil {
		return w, false, fmt.Errorf("postgres: enqueue write: %w", err)
	}
	first, err := s.Write(ctx, sc, id)
	if err != nil {
		return w, false, err
	}
	if !created && first.RequestHash != w.RequestHash {
		return first, false, fmt.Errorf("postgres: enqueue write: key %q: %w", w.IdempotencyKey, store.ErrIdempotencyConflict)
	}
	return first, created, nil
}

// ClaimWrites claims due writes, in order per order key. Claims of one
// scope are serialised by a transaction-level advisory lock, so that two
// claimers never both see a ticket's head write as free; each statement
// of the transaction then sees every committed write.
func (s *Store) ClaimWrites(ctx context.Context, sc store.Scope, n int, lease time.Duration, now time.Time) ([]store.Write, error) {
	w := query.ClaimableWrites(dialect, sc, ts(now))
	args := append(w.Args, ts(now.Add(lease)), n)
	q := `WITH due AS (SELECT o.id FROM outbox o WHERE ` + w.String() + ` ORDER BY o.id LIMIT $` + fmt.Sprint(len(args)) + ` FOR UPDATE SKIP LOCKED)
UPDATE outbox o SET uncertain = (o.uncertain OR o.state = 'inflight'), state = 'inflight',
  claimed_until = $` + fmt.Sprint(len(args)-1) + `, attempts = o.attempts + 1, updated_at = $3
FROM due WHERE o.id = due.id
RETURNING ` + claimReturning
	var ws []store.Write
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('horizon-writes/' || $1 || '/' || $2, 0))`,
			sc.Account, sc.Provider); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		ws, err = record.Collect(rows, times.Write)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: claim writes: %w", err)
	}
	record.SortWrites(ws)
	return ws, nil
}

// claimReturning is WriteColumns with id qualified (due has an id too).
var claimReturning = strings.Replace(record.WriteColumns, "id, op", "o.id, o.op", 1)

// FinishWrite records an attempt's outcome under its claim.
func (s *Store) FinishWrite(ctx context.Context, sc store.Scope, id int64, o store.WriteOutcome) error {
	o, err := norm.Outcome(o, s.now)
	if err != nil {
		return fmt.Errorf("postgres: finish write %d: %w", id, err)
	}
	var state string
	var attempts int
	var updated bool
	err = s.pool.QueryRow(ctx, `WITH it AS (SELECT id, state, attempts FROM outbox
  WHERE account = $1 AND provider = $2 AND id = $3 AND op <> '' FOR UPDATE),
upd AS (UPDATE outbox SET state = $5, next_attempt = $6, answer = $7, result_id = $8, uncertain = $9, duration_us = $10,
  updated_at = $11, finished_at = $12, last_error = $7, claimed_until = NULL
  FROM it WHERE outbox.id = it.id AND it.state = 'inflight' AND it.attempts = $4 RETURNING outbox.id)
SELECT it.state, it.attempts, EXISTS (SELECT 1 FROM upd) FROM it`,
		append([]any{sc.Account, sc.Provider, id, o.Attempt}, times.OutcomeArgs(o)...)...).Scan(&state, &attempts, &updated)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		err = store.ErrNotFound
	case err == nil && !updated:
		err = store.ErrClaimLost
	}
	if err != nil {
		return fmt.Errorf("postgres: finish write %d: %w", id, err)
	}
	return nil
}

// Write returns one write.
func (s *Store) Write(ctx context.Context, sc store.Scope, id int64) (store.Write, error) {
	ws, err := queryAll(ctx, s.pool, times.Write, `SELECT `+record.WriteColumns+` FROM outbox
WHERE account = $1 AND provider = $2 AND id = $3 AND op <> ''`, sc.Account, sc.Provider, id)
	if err != nil {
		return store.Write{}, fmt.Errorf("postgres: write %d: %w", id, err)
	}
	if len(ws) == 0 {
		return store.Write{}, fmt.Errorf("postgres: write %d: %w", id, store.ErrNotFound)
	}
	return ws[0], nil
}

// Writes lists writes newest first.
func (s *Store) Writes(ctx context.Context, sc store.Scope, f store.WriteFilter) ([]store.Write, error) {
	q, args := query.Writes(dialect, sc, f).Select(record.WriteColumns, "outbox", "id DESC", query.WriteLimit(f))
	ws, err := queryAll(ctx, s.pool, times.Write, q, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list writes: %w", err)
	}
	return ws, nil
}

// WriteStats counts writes by state.
func (s *Store) WriteStats(ctx context.Context, sc store.Scope) (store.WriteStats, error) {
	st := store.WriteStats{ByState: map[string]int{}}
	rows, err := s.pool.Query(ctx, `SELECT state, count(*), min(created_at) FROM outbox
WHERE account = $1 AND provider = $2 AND op <> '' GROUP BY state`, sc.Account, sc.Provider)
	if err != nil {
		return st, fmt.Errorf("postgres: write stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var n int
		var oldest tsScan
		if err := rows.Scan(&state, &n, &oldest); err != nil {
			return st, fmt.Errorf("postgres: write stats: %w", err)
		}
		st.ByState[state] = n
		st.OldestLive = record.OldestLive(st.OldestLive, state, oldest.t)
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("postgres: write stats: %w", err)
	}
	return st, nil
}

// UpsertNotes stores notes, replacing stored ones with the same ID.
func (s *Store) UpsertNotes(ctx context.Context, sc store.Scope, notes []helpdesk.Note) (store.UpsertResult, error) {
	var res store.UpsertResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		for _, n := range notes {
			var existed bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM notes WHERE account = $1 AND provider = $2 AND external_id = $3)`,
				sc.Account, sc.Provider, n.ExternalID).Scan(&existed); err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, `INSERT INTO notes (account, provider, `+record.NoteColumns+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (account, provider, external_id) DO UPDATE SET ticket_id = excluded.ticket_id, text = excluded.text,
  internal = excluded.internal, author_id = excluded.author_id, created_at = excluded.created_at, raw = excluded.raw
WHERE (notes.ticket_id, notes.text, notes.internal, notes.author_id, notes.created_at, coalesce(notes.raw::text, ''))
  IS DISTINCT FROM (excluded.ticket_id, excluded.text, excluded.internal, excluded.author_id, excluded.created_at, coalesce(excluded.raw::text, ''))`,
				times.NoteArgs(sc, n)...)
			if err != nil {
				return err
			}
			res = res.Add(record.Counted(existed, tag.RowsAffected()))
		}
		return nil
	})
	if err != nil {
		return store.UpsertResult{}, fmt.Errorf("postgres: upsert notes: %w", err)
	}
	return res, nil
}

// Notes returns a ticket's notes, oldest first.
func (s *Store) Notes(ctx context.Context, sc store.Scope, ticketID string) ([]helpdesk.Note, error) {
	ns, err := queryAll(ctx, s.pool, times.Note, `SELECT external_id, ticket_id, text, internal, author_id, created_at, raw::text
FROM notes WHERE account = $1 AND provider = $2 AND ticket_id = $3 ORDER BY created_at, external_id`,
		sc.Account, sc.Provider, ticketID)
	if err != nil {
		return nil, fmt.Errorf("postgres: notes of ticket %s: %w", ticketID, err)
	}
	return ns, nil
}
