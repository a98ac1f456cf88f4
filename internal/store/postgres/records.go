package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/entity"
)

// batchSQL holds the statements of one table's bulk upsert.
type batchSQL struct {
	// lookup returns (external_id, updated_at) of the stored rows among
	// the IDs $3 (text[]); the primary-key index serves it.
	lookup string
	// insert inserts the rows of the arrays $3.. in external-ID order,
	// skipping stored IDs, and returns the IDs it inserted.
	insert string
	// update updates the stored rows among the arrays $3.. that are older
	// than the incoming row, or as old and different.
	update string
}

var batchSQLs = map[*entity.Spec]batchSQL{}

func init() {
	for _, sp := range entity.All {
		batchSQLs[sp] = buildBatchSQL(sp)
	}
}

// arrayTypes maps column kinds to the PostgreSQL array type of their unnest
// parameter.
var arrayTypes = map[entity.Kind]string{
	entity.Text: "text[]", entity.Bool: "boolean[]", entity.Float: "double precision[]",
	entity.Time: "timestamptz[]", entity.JSON: "json[]",
}

func buildBatchSQL(sp *entity.Spec) batchSQL {
	names := sp.Names()
	var params, set, old, inc []string
	for i, c := range sp.Columns {
		params = append(params, fmt.Sprintf("$%d::%s", i+3, arrayTypes[c.Kind]))
		if i == 0 {
			continue
		}
		set = append(set, fmt.Sprintf("%s = u.%s", c.Name, c.Name))
		cast := ""
		if c.Kind == entity.JSON {
			cast = "::text" // json has no equality operator
		}
		old = append(old, "t."+c.Name+cast)
		inc = append(inc, "u."+c.Name+cast)
	}
	cols := strings.Join(names, ", ")
	unnest := fmt.Sprintf("unnest(%s) AS u(%s)", strings.Join(params, ", "), cols)
	return batchSQL{
		lookup: fmt.Sprintf(`SELECT external_id, updated_at FROM %s
WHERE account = $1 AND provider = $2 AND external_id = ANY($3::text[])`, sp.Table),
		insert: fmt.Sprintf(`INSERT INTO %s (account, provider, %s)
SELECT $1, $2, u.* FROM %s ORDER BY u.external_id COLLATE "C"
ON CONFLICT (account, provider, external_id) DO NOTHING
RETURNING external_id`, sp.Table, cols, unnest),
		update: fmt.Sprintf(`UPDATE %s AS t SET %s
FROM %s
WHERE t.account = $1 AND t.provider = $2 AND t.external_id = u.external_id
  AND (u.updated_at > t.updated_at
    OR (u.updated_at = t.updated_at AND (%s) IS DISTINCT FROM (%s)))`,
			sp.Table, strings.Join(set, ", "), unnest, strings.Join(old, ", "), strings.Join(inc, ", ")),
	}
}

// planSettings make the planner join the incoming rows to the table
// through the primary-key index (a nested loop over the rows in their
// array order, or a merge join in index order), never through a hash
// join, sequential scan or bitmap heap scan, which would visit the stored
// rows in physical order. Updates thus lock rows in external-ID order, and
// the lookup uses the index whatever the table's statistics say.
var planSettings = []string{
	"SET LOCAL enable_hashjoin = off",
	"SET LOCAL enable_seqscan = off",
	"SET LOCAL enable_bitmapscan = off",
}

// errInsertRace is returned by upsert when COPY hit a row that a
// concurrent writer inserted after the lookup.
var errInsertRace = errors.New("concurrent insert")

// WriteBatch upserts a page of records and the watermark in one
// transaction.
//
// Writes come in two phases, each in external-ID order: first the
// records that are not stored are inserted, then stored records that are
// older (or as old and different) are updated. Inserting never locks a
// stored row, and updating never waits for an uncommitted insert (it does
// not see it), so every writer follows the same lock order and
// concurrent writers of overlapping pages cannot deadlock.
//
// The records not stored, according to one indexed lookup, are COPYed
// straight into the table. If a concurrent writer inserted one of them
// meanwhile, COPY fails with a unique violation; the transaction is then
// rolled back and run again with INSERT ... ON CONFLICT DO NOTHING
// instead of COPY, and the rows it skipped are updated in the second
// phase.
func (s *Store) WriteBatch(ctx context.Context, sc store.Scope, b store.Batch) (store.UpsertResult, error) {
	sp, rows, err := entity.Rows(&b)
	if err != nil {
		return store.UpsertResult{}, fmt.Errorf("postgres: write batch: %w", err)
	}
	rows, dropped := sp.Dedupe(rows)
	slices.SortFunc(rows, func(a, b []any) int { return strings.Compare(a[0].(string), b[0].(string)) })
	var res store.UpsertResult
	write := func(useCopy bool) error {
		return s.inTx(ctx, func(tx pgx.Tx) error {
			if res, err = upsert(ctx, tx, sp, sc, rows, useCopy); err != nil {
				return err
			}
			if b.Watermark == nil {
				return nil
			}
			return setWatermark(ctx, tx, sc, b.Entity, *b.Watermark)
		})
	}
	err = write(!s.noCopy)
	if errors.Is(err, errInsertRace) {
		err = write(false)
	}
	if err != nil {
		return store.UpsertResult{}, fmt.Errorf("postgres: write batch of %s: %w", b.Entity, err)
	}
	res.Unchanged += dropped
	return res, nil
}

// upsert writes rows, sorted by external ID and unique, in tx. With
// useCopy, new rows are COPYed and errInsertRace reports that one of them
// was inserted concurrently.
func upsert(ctx context.Context, tx pgx.Tx, sp *entity.Spec, sc store.Scope, rows [][]any, useCopy bool) (store.UpsertResult, error) {
	var res store.UpsertResult
	if len(rows) == 0 {
		return res, nil
	}
	q := batchSQLs[sp]
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r[0].(string)
	}
	stored, err := lookup(ctx, tx, q.lookup, sc, ids)
	if err != nil {
		return res, err
	}
	var fresh, stale [][]any
	for _, r := range rows {
		at, ok := stored[r[0].(string)]
		switch {
		case !ok:
			fresh = append(fresh, r)
		case r[sp.Updated].(time.Time).Before(at):
			res.Unchanged++
		default:
			stale = append(stale, r)
		}
	}
	if len(fresh) > 0 {
		if useCopy {
			src := &scopedRows{sc: sc, rows: fresh}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{sp.Table}, scopedNames[sp], src); err != nil {
				if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.Code == uniqueViolation {
					return res, fmt.Errorf("copy: %w: %w", errInsertRace, err)
				}
				return res, fmt.Errorf("copy: %w", err)
			}
			res.Created = len(fresh)
		} else {
			inserted, err := insertNew(ctx, tx, q.insert, sp, sc, fresh)
			if err != nil {
				return res, err
			}
			res.Created = len(inserted)
			// Rows inserted concurrently are updated like stored ones.
			for _, r := range fresh {
				if _, ok := inserted[r[0].(string)]; !ok {
					stale = append(stale, r)
				}
			}
			slices.SortFunc(stale, func(a, b []any) int { return strings.Compare(a[0].(string), b[0].(string)) })
		}
	}
	if len(stale) > 0 {
		tag, err := tx.Exec(ctx, q.update, arrayArgs(sp, sc, stale)...)
		if err != nil {
			return res, fmt.Errorf("update: %w", err)
		}
		res.Updated = int(tag.RowsAffected())
		res.Unchanged += len(stale) - res.Updated
	}
	return res, nil
}

// uniqueViolation is SQLSTATE unique_violation.
const uniqueViolation = "23505"

// lookup applies planSettings to the transaction and returns the stored
// updated_at of the IDs that are stored, in one round trip.
func lookup(ctx context.Context, tx pgx.Tx, q string, sc store.Scope, ids []string) (map[string]time.Time, error) {
	var batch pgx.Batch
	for _, set := range planSettings {
		batch.Queue(set)
	}
	stored := make(map[string]time.Time)
	var id string
	var at time.Time
	batch.Queue(q, sc.Account, sc.Provider, ids).Query(func(rows pgx.Rows) error {
		_, err := pgx.ForEachRow(rows, []any{&id, &at}, func() error {
			stored[id] = at
			return nil
		})
		return err
	})
	if err := tx.SendBatch(ctx, &batch).Close(); err != nil {
		return nil, fmt.Errorf("lookup: %w", err)
	}
	return stored, nil
}

// insertNew inserts rows, skipping stored IDs, and returns the IDs
// inserted.
func insertNew(ctx context.Context, tx pgx.Tx, q string, sp *entity.Spec, sc store.Scope, rows [][]any) (map[string]struct{}, error) {
	out, err := tx.Query(ctx, q, arrayArgs(sp, sc, rows)...)
	if err != nil {
		return nil, fmt.Errorf("insert: %w", err)
	}
	inserted := make(map[string]struct{}, len(rows))
	var id string
	if _, err := pgx.ForEachRow(out, []any{&id}, func() error {
		inserted[id] = struct{}{}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("insert: %w", err)
	}
	return inserted, nil
}

// arrayArgs returns the arguments of an unnest statement: the scope, then
// one array per column.
func arrayArgs(sp *entity.Spec, sc store.Scope, rows [][]any) []any {
	args := []any{sc.Account, sc.Provider}
	for i, c := range sp.Columns {
		switch c.Kind {
		case entity.Text:
			args = append(args, column[string](rows, i))
		case entity.Bool:
			args = append(args, column[bool](rows, i))
		case entity.Float:
			args = append(args, column[float64](rows, i))
		case entity.Time:
			args = append(args, column[time.Time](rows, i))
		case entity.JSON:
			js := make([]*string, len(rows))
			for j, r := range rows {
				if b, ok := r[i].([]byte); ok {
					s := string(b)
					js[j] = &s
				}
			}
			args = append(args, js)
		}
	}
	return args
}

func column[T any](rows [][]any, i int) []T {
	out := make([]T, len(rows))
	for j, r := range rows {
		out[j] = r[i].(T)
	}
	return out
}

// scopedNames are the columns of COPY into each table.
var scopedNames = map[*entity.Spec][]string{}

func init() {
	for _, sp := range entity.All {
		scopedNames[sp] = append([]string{"account", "provider"}, sp.Names()...)
	}
}

// scopedRows is a pgx.CopyFromSource of rows prefixed with the scope. It
// reuses one slice for every row: CopyFrom encodes a row before it asks
// for the next.
type scopedRows struct {
	sc   store.Scope
	rows [][]any
	i    int
	buf  []any
}

func (r *scopedRows) Next() bool {
	r.i++
	return r.i <= len(r.rows)
}

func (r *scopedRows) Values() ([]any, error) {
	r.buf = append(append(r.buf[:0], r.sc.Account, r.sc.Provider), r.rows[r.i-1]...)
	return r.buf, nil
}

func (r *scopedRows) Err() error { return nil }

const setWatermarkSQL = `INSERT INTO watermarks (account, provider, entity, updated_through, backfilled_from, cursor)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (account, provider, entity) DO UPDATE SET updated_through = EXCLUDED.updated_through,
  backfilled_from = EXCLUDED.backfilled_from, cursor = EXCLUDED.cursor`

func setWatermark(ctx context.Context, tx pgx.Tx, sc store.Scope, e helpdesk.Entity, w store.Watermark) error {
	_, err := tx.Exec(ctx, setWatermarkSQL, sc.Account, sc.Provider, string(e),
		ts(w.UpdatedThrough), ts(w.BackfilledFrom), w.Cursor)
	if err != nil {
		return fmt.Errorf("set watermark: %w", err)
	}
	return nil
}

// Watermark returns the entity's watermark, zero when none is stored.
func (s *Store) Watermark(ctx context.Context, sc store.Scope, e helpdesk.Entity) (store.Watermark, error) {
	var w store.Watermark
	var through, from tsScan
	err := s.pool.QueryRow(ctx, `SELECT updated_through, backfilled_from, cursor FROM watermarks
WHERE account = $1 AND provider = $2 AND entity = $3`, sc.Account, sc.Provider, string(e)).Scan(&through, &from, &w.Cursor)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Watermark{}, nil
	}
	if err != nil {
		return w, fmt.Errorf("postgres: watermark of %s: %w", e, err)
	}
	w.UpdatedThrough, w.BackfilledFrom = through.t, from.t
	return w, nil
}

// SetWatermark stores the entity's watermark.
func (s *Store) SetWatermark(ctx context.Context, sc store.Scope, e helpdesk.Entity, w store.Watermark) error {
	_, err := s.pool.Exec(ctx, setWatermarkSQL, sc.Account, sc.Provider, string(e),
		ts(w.UpdatedThrough), ts(w.BackfilledFrom), w.Cursor)
	if err != nil {
		return fmt.Errorf("postgres: set watermark of %s: %w", e, err)
	}
	return nil
}

func newTime() entity.TimeScanner { return new(tsScan) }

func selectSQL(sp *entity.Spec, where string) string {
	return fmt.Sprintf("SELECT %s FROM %s WHERE account = $1 AND provider = $2 %s",
		strings.Join(sp.Names(), ", "), sp.Table, where)
}

// Ticket returns one stored ticket; store.ErrNotFound when absent.
func (s *Store) Ticket(ctx context.Context, sc store.Scope, externalID string) (helpdesk.Ticket, error) {
	row := s.pool.QueryRow(ctx, selectSQL(entity.Tickets, "AND external_id = $3"), sc.Account, sc.Provider, externalID)
	v, err := entity.Tickets.Scan(row, newTime)
	if errors.Is(err, pgx.ErrNoRows) {
		return helpdesk.Ticket{}, fmt.Errorf("postgres: ticket %s: %w", externalID, store.ErrNotFound)
	}
	if err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("postgres: ticket %s: %w", externalID, err)
	}
	return entity.Ticket(v), nil
}

// Count returns how many records of an entity are stored.
func (s *Store) Count(ctx context.Context, sc store.Scope, e helpdesk.Entity) (int, error) {
	sp, err := entity.For(e)
	if err != nil {
		return 0, fmt.Errorf("postgres: count: %w", err)
	}
	var n int
	q := "SELECT count(*) FROM " + sp.Table + " WHERE account = $1 AND provider = $2"
	if err := s.pool.QueryRow(ctx, q, sc.Account, sc.Provider).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count %s: %w", e, err)
	}
	return n, nil
}

// ticketPage is how many tickets the Tickets iterator reads per query.
const ticketPage = 500

// Tickets iterates stored tickets in external-ID (byte) order, one page
// of ticketPage rows at a time (keyset pagination).
func (s *Store) Tickets(ctx context.Context, sc store.Scope) func(yield func(helpdesk.Ticket, error) bool) {
	return func(yield func(helpdesk.Ticket, error) bool) {
		after := ""
		for {
			page, err := s.ticketPage(ctx, sc, after)
			if err != nil {
				yield(helpdesk.Ticket{}, fmt.Errorf("postgres: tickets: %w", err))
				return
			}
			for _, t := range page {
				if !yield(t, nil) {
					return
				}
			}
			if len(page) < ticketPage {
				return
			}
			after = page[len(page)-1].ExternalID
		}
	}
}

func (s *Store) ticketPage(ctx context.Context, sc store.Scope, after string) ([]helpdesk.Ticket, error) {
	q := selectSQL(entity.Tickets, "AND external_id > $3 ORDER BY external_id LIMIT $4")
	return queryRecords(ctx, s.pool, q, entity.Tickets, entity.Ticket, sc.Account, sc.Provider, after, ticketPage)
}

// Members returns every stored helpdesk user in external-ID order.
func (s *Store) Members(ctx context.Context, sc store.Scope) ([]helpdesk.Member, error) {
	q := selectSQL(entity.Members, "ORDER BY external_id")
	m, err := queryRecords(ctx, s.pool, q, entity.Members, entity.Member, sc.Account, sc.Provider)
	if err != nil {
		return nil, fmt.Errorf("postgres: members: %w", err)
	}
	return m, nil
}

// UnmappedActiveMembers returns active helpdesk users with no mapping.
func (s *Store) UnmappedActiveMembers(ctx context.Context, sc store.Scope) ([]helpdesk.Member, error) {
	q := selectSQL(entity.Members, `AND active AND NOT EXISTS (SELECT 1 FROM user_mappings m
  WHERE m.account = helpdesk_users.account AND m.provider = helpdesk_users.provider
    AND m.helpdesk_user_id = helpdesk_users.external_id)
ORDER BY external_id`)
	m, err := queryRecords(ctx, s.pool, q, entity.Members, entity.Member, sc.Account, sc.Provider)
	if err != nil {
		return nil, fmt.Errorf("postgres: unmapped members: %w", err)
	}
	return m, nil
}

func queryRecords[T any](ctx context.Context, pool *pgxpool.Pool, q string, sp *entity.Spec, build func([]any) T, args ...any) ([]T, error) {
	rows, err := pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := sp.Scan(rows, newTime)
		if err != nil {
			return nil, err
		}
		out = append(out, build(v))
	}
	return out, rows.Err()
}
