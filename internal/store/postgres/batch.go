package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/entity"
)

// WriteBatch upserts a page of records and the watermark in one
// transaction.
//
// A batch of at most smallBatch rows (a callback's one ticket) is written
// by writeSmall, with one statement. Larger ones take the bulk path.
//
// Every transaction writes its rows with one statement, in external-ID
// order, so that concurrent writers of overlapping pages take row locks
// (and wait on each other's uncommitted inserts) in one order and cannot
// deadlock. The statement is one of:
//
//   - COPY straight into the table, when every row to write is new. If
//     a row turns out to be stored (a concurrent writer inserted it),
//     COPY fails with a unique violation and the transaction is run
//     again, looking the rows up and, after a second such failure,
//     merging them.
//   - A merge: COPY into a temporary staging table, then INSERT ...
//     SELECT ... ORDER BY external_id ON CONFLICT DO UPDATE, whose WHERE
//     keeps a stored row that is newer, or as new and identical, and
//     whose RETURNING (xmax = 0) counts inserts apart from updates.
//
// (Earlier versions always merged, so they follow the same order and
// can run beside this one.)
//
// Before writing, WriteBatch may look the rows up, one primary-key probe
// each, to find the new ones and drop those the store already holds as
// new or newer (identical when as new): these are counted unchanged and
// neither locked nor written. Whether it looks up depends on the last
// batch of the same scope and entity: after a batch of only new rows (a
// backfill) the next is first COPYed without a lookup, and after one of
// mostly updates the next is merged without a lookup, since the lookup
// would find little to drop.
func (s *Store) WriteBatch(ctx context.Context, sc store.Scope, b store.Batch) (store.UpsertResult, error) {
	sp, err := entity.For(b.Entity)
	if err != nil {
		return store.UpsertResult{}, fmt.Errorf("postgres: write batch: %w", err)
	}
	recs, err := sortRecords(&b)
	if err != nil {
		return store.UpsertResult{}, fmt.Errorf("postgres: write batch: %w", err)
	}
	key := sc.Account + "\x00" + sc.Provider + "\x00" + string(b.Entity)
	var res store.UpsertResult
	if recs.n <= s.smallBatch {
		res, err = s.writeSmall(ctx, sp, sc, recs, b)
	} else {
		res, err = s.writeBulk(ctx, sp, sc, recs, b, key)
	}
	if err != nil {
		return store.UpsertResult{}, fmt.Errorf("postgres: write batch of %s: %w", b.Entity, err)
	}
	if recs.n > 0 {
		s.modes.Store(key, nextMode(res, recs.n))
	}
	res.Unchanged += recs.dropped
	return res, nil
}

// writeBulk writes recs, with b's watermark, in one transaction, in the
// mode the last batch of the same scope and entity (key) left.
func (s *Store) writeBulk(ctx context.Context, sp *entity.Spec, sc store.Scope, recs records, b store.Batch, key string) (store.UpsertResult, error) {
	mode := lookUp
	if m, ok := s.modes.Load(key); ok {
		mode = m.(writeMode)
	}
	if b.Authoritative {
		// The lookup drops rows stored newer; these must be merged.
		mode = mergeAll
	}
	var rows [][]any // converted for a lookup; otherwise COPY converts as it goes
	var res store.UpsertResult
	for {
		var err error
		if (mode == lookUp || mode == lookUpMerge) && rows == nil {
			if rows, err = recs.rows(0, recs.n); err != nil {
				return res, err
			}
		}
		err = s.inTx(ctx, func(tx pgx.Tx) error {
			if res, err = s.upsert(ctx, tx, sp, sc, recs, rows, mode, b.Authoritative); err != nil {
				return err
			}
			if b.Watermark == nil {
				return nil
			}
			return setWatermark(ctx, tx, sc, b.Entity, *b.Watermark)
		})
		if !errors.Is(err, errStored) {
			return res, err
		}
		// Look up (again, after a race with another writer: then merge).
		if mode == copyAll {
			mode = lookUp
		} else {
			mode = lookUpMerge
		}
	}
}

// DefaultSmallBatch is the most rows a batch may have to be written by
// writeSmall. Measured (BenchmarkWriteBatchSmall), one statement beats the
// bulk path's staging and lookup up to a few dozen rows; a one-ticket
// sync, the callback path, is the case that matters.
const DefaultSmallBatch = 16

// writeSmall writes a batch of few rows, in external-ID order, with one
// INSERT ... VALUES ... ON CONFLICT DO UPDATE: the merge's statement with
// the rows inline, no staging table, lookup or session settings. Without
// a watermark it is one autocommit statement; with one, the upsert and
// the watermark go in one pgx batch, which pgx sends as one pipeline
// ending in a single Sync, so the server runs both in one implicit
// transaction (either both commit or neither does).
//
// Unlike the bulk path's lookup, ON CONFLICT locks a stored row even when
// its WHERE keeps it; the row is not written, and the counts are the
// same.
func (s *Store) writeSmall(ctx context.Context, sp *entity.Spec, sc store.Scope, recs records, b store.Batch) (store.UpsertResult, error) {
	var res store.UpsertResult
	var wm []any
	if b.Watermark != nil {
		wm = times.WatermarkArgs(sc, b.Entity, *b.Watermark)
	}
	if recs.n == 0 {
		if wm != nil {
			if _, err := s.pool.Exec(ctx, setWatermarkSQL, wm...); err != nil {
				return res, fmt.Errorf("set watermark: %w", err)
			}
		}
		return res, nil
	}
	rows, err := recs.rows(0, recs.n)
	if err != nil {
		return res, err
	}
	args := make([]any, 0, 2+len(rows)*len(sp.Columns))
	args = append(args, sc.Account, sc.Provider)
	for _, r := range rows {
		args = append(args, r...)
	}
	q := smallSQL(sp, len(rows), b.Authoritative)
	scan := func(row pgx.Row) error { return row.Scan(&res.Created, &res.Updated) }
	if wm == nil {
		err = scan(s.pool.QueryRow(ctx, q, args...))
	} else {
		var batch pgx.Batch
		batch.Queue(q, args...).QueryRow(scan)
		batch.Queue(setWatermarkSQL, wm...)
		err = s.pool.SendBatch(ctx, &batch).Close()
	}
	if err != nil {
		return store.UpsertResult{}, fmt.Errorf("upsert: %w", err)
	}
	res.Unchanged = len(rows) - res.Created - res.Updated
	return res, nil
}

// smallKey names one of writeSmall's statements.
type smallKey struct {
	sp            *entity.Spec
	n             int
	authoritative bool
}

// smallSQLs caches writeSmall's statements by smallKey.
var smallSQLs sync.Map

// smallSQL returns the upsert of n rows given as parameters: $1 and $2
// the account and provider, then each row's columns in turn.
func smallSQL(sp *entity.Spec, n int, authoritative bool) string {
	k := smallKey{sp, n, authoritative}
	if q, ok := smallSQLs.Load(k); ok {
		return q.(string)
	}
	var vals strings.Builder
	vals.WriteString("VALUES ")
	p := 3
	for i := range n {
		if i > 0 {
			vals.WriteString(", ")
		}
		vals.WriteString("($1, $2")
		for range sp.Columns {
			fmt.Fprintf(&vals, ", $%d", p)
			p++
		}
		vals.WriteString(")")
	}
	q := batchSQLs[sp].upsert
	if authoritative {
		q = batchSQLs[sp].upsertAuth
	}
	q = withRows(q, vals.String())
	smallSQLs.Store(k, q)
	return q
}

// records are a batch's records, de-duplicated and sorted by external ID.
type records struct {
	n       int
	dropped int // duplicates dropped
	// rows converts records i to j-1 to rows.
	rows func(i, j int) ([][]any, error)
}

// chunks returns a function that returns the records' rows, n records at
// a time, then none.
func (r records) chunks(n int) func() ([][]any, error) {
	i := 0
	return func() ([][]any, error) {
		j := min(i+n, r.n)
		rows, err := r.rows(i, j)
		i = j
		return rows, err
	}
}

// sortRecords returns the records of b sorted by external ID, keeping one
// record per ID as entity.Dedupe does: the one with the newest
// updated_at, the later one on a tie.
func sortRecords(b *store.Batch) (records, error) {
	switch b.Entity {
	case helpdesk.EntityTickets:
		return sortSlice(b, b.Tickets, func(b *store.Batch, r []helpdesk.Ticket) { b.Tickets = r },
			func(r *helpdesk.Ticket) (string, time.Time) { return r.ExternalID, r.UpdatedAt })
	case helpdesk.EntityContacts:
		return sortSlice(b, b.Contacts, func(b *store.Batch, r []helpdesk.Contact) { b.Contacts = r },
			func(r *helpdesk.Contact) (string, time.Time) { return r.ExternalID, r.UpdatedAt })
	case helpdesk.EntityCompanies:
		return sortSlice(b, b.Companies, func(b *store.Batch, r []helpdesk.Company) { b.Companies = r },
			func(r *helpdesk.Company) (string, time.Time) { return r.ExternalID, r.UpdatedAt })
	case helpdesk.EntityTimeEntries:
		return sortSlice(b, b.TimeEntries, func(b *store.Batch, r []helpdesk.TimeEntry) { b.TimeEntries = r },
			func(r *helpdesk.TimeEntry) (string, time.Time) { return r.ExternalID, r.UpdatedAt })
	case helpdesk.EntityMembers:
		return sortSlice(b, b.Members, func(b *store.Batch, r []helpdesk.Member) { b.Members = r },
			func(r *helpdesk.Member) (string, time.Time) { return r.ExternalID, r.UpdatedAt })
	}
	return records{}, fmt.Errorf("entity %q is not a synced-record table", b.Entity)
}

func sortSlice[T any](b *store.Batch, recs []T, set func(*store.Batch, []T), key func(*T) (string, time.Time)) (records, error) {
	ids := make([]string, len(recs))
	idx := make([]int, len(recs))
	for i := range recs {
		if ids[i], _ = key(&recs[i]); ids[i] == "" {
			return records{}, fmt.Errorf("%s record %d has no external ID", b.Entity, i)
		}
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(i, j int) int { return strings.Compare(ids[i], ids[j]) })
	updated := func(i int) time.Time {
		_, at := key(&recs[i])
		return store.NormalizeTime(at)
	}
	out := make([]T, 0, len(recs))
	for i := 0; i < len(idx); {
		keep, j := idx[i], i+1
		for ; j < len(idx) && ids[idx[j]] == ids[keep]; j++ {
			if !updated(idx[j]).Before(updated(keep)) {
				keep = idx[j]
			}
		}
		out = append(out, recs[keep])
		i = j
	}
	sorted := *b
	return records{
		n:       len(out),
		dropped: len(recs) - len(out),
		rows: func(i, j int) ([][]any, error) {
			set(&sorted, out[i:j])
			_, rows, err := entity.Rows(&sorted)
			return rows, err
		},
	}, nil
}

// writeMode is how a WriteBatch transaction writes its rows.
type writeMode int

const (
	// lookUp looks the rows up, then COPYs them if all those to write
	// are new, and merges them otherwise.
	lookUp writeMode = iota
	// lookUpMerge looks the rows up and merges those to write.
	lookUpMerge
	// copyAll COPYs every row, with no lookup.
	copyAll
	// mergeAll merges every row, with no lookup.
	mergeAll
)

func (m writeMode) String() string {
	return [...]string{"lookUp", "lookUpMerge", "copyAll", "mergeAll"}[m]
}

// copyAllMin is how many rows a batch of only new rows must have for the
// next batch of the same scope and entity to be COPYed without a lookup:
// a single new record (a callback) says little about the next one.
const copyAllMin = 100

// nextMode returns the mode for the batch that follows one of n rows
// written with result res (duplicates within the batch not counted).
func nextMode(res store.UpsertResult, n int) writeMode {
	switch {
	case res.Created == n && n >= copyAllMin:
		return copyAll
	case res.Updated > res.Created+res.Unchanged:
		return mergeAll
	}
	return lookUp
}

// errStored reports that COPY hit a stored row.
var errStored = errors.New("copy hit a stored row")

// uniqueViolation is SQLSTATE unique_violation.
const uniqueViolation = "23505"

// upsert writes recs in tx; rows are their rows for a lookup, nil
// otherwise. An authoritative batch is merged with mergeAll.
func (s *Store) upsert(ctx context.Context, tx pgx.Tx, sp *entity.Spec, sc store.Scope, recs records, rows [][]any, mode writeMode, authoritative bool) (store.UpsertResult, error) {
	var res store.UpsertResult
	if recs.n == 0 {
		return res, nil
	}
	q := batchSQLs[sp]
	var batch pgx.Batch // sent before a merge, or with the lookup
	batch.Queue(q.create)
	batch.Queue(jitOff)
	// direct: COPY into the table rather than merge.
	src, n, direct := &copyReader{rows: rows}, recs.n, mode == copyAll
	switch mode {
	case copyAll:
		src.more = recs.chunks(copyChunk)
	case mergeAll:
		src.more = recs.chunks(copyChunk)
		if err := tx.SendBatch(ctx, &batch).Close(); err != nil {
			return res, fmt.Errorf("create staging table: %w", err)
		}
	case lookUp, lookUpMerge:
		write, fresh, err := lookup(ctx, tx, &batch, q, sp, sc, rows)
		if err != nil {
			return res, err
		}
		src.rows, n = write, len(write)
		res.Unchanged = len(rows) - n
		direct = fresh && mode == lookUp
	}
	if n == 0 {
		return res, nil
	}
	if s.beforeWrite != nil {
		s.beforeWrite(mode, direct)
	}
	if direct {
		src.sc = &sc
		err := copyRows(ctx, tx, q.copy, src)
		if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.Code == uniqueViolation {
			return res, fmt.Errorf("copy: %w: %w", errStored, err)
		}
		if err != nil {
			return res, fmt.Errorf("copy: %w", err)
		}
		res.Created = n
		return res, nil
	}
	if err := copyRows(ctx, tx, q.copyStage, src); err != nil {
		return res, fmt.Errorf("copy to staging table: %w", err)
	}
	merge := q.merge
	if authoritative {
		merge = q.mergeAuth
	}
	if err := tx.QueryRow(ctx, merge, sc.Account, sc.Provider).Scan(&res.Created, &res.Updated); err != nil {
		return res, fmt.Errorf("merge: %w", err)
	}
	res.Unchanged += n - res.Created - res.Updated
	return res, nil
}

// copyChunk is how many records COPY converts to rows at a time, as it
// sends them, when there was no lookup.
const copyChunk = 256

// batchSQL holds the statements of one table's bulk upsert.
type batchSQL struct {
	// lookup takes the IDs ($3) and updated_at ($4) of incoming rows and
	// returns, for each ID stored, its position in $3 (from 1), its
	// updated_at and, when that equals the incoming row's, its other
	// columns (JSON as text).
	lookup    string
	copy      string // COPYs rows into the table
	create    string // creates the staging table on this session, once
	copyStage string // COPYs rows into the staging table
	// merge upserts the staged rows in external-ID order, updating a
	// stored row only if it is older than the staged one, or as old and
	// different, and returns how many rows it inserted and updated.
	merge string
	// mergeAuth is merge for an authoritative batch: a staged row
	// replaces a stored one whenever they differ.
	mergeAuth string
	// upsert and upsertAuth are merge and mergeAuth with the source of
	// the rows left to fill in (withRows), for writeSmall.
	upsert, upsertAuth string
}

// withRows returns upsert with its rows' source, a query or VALUES.
func withRows(upsert, rows string) string { return strings.Replace(upsert, "<rows>", rows, 1) }

var batchSQLs = map[*entity.Spec]batchSQL{}

func init() {
	for _, sp := range entity.All {
		batchSQLs[sp] = buildBatchSQL(sp)
	}
}

func buildBatchSQL(sp *entity.Spec) batchSQL {
	names := sp.Names()
	stage := "stage_" + sp.Table
	var set, old, inc, cur []string
	for _, c := range sp.Columns[1:] {
		set = append(set, fmt.Sprintf("%s = EXCLUDED.%s", c.Name, c.Name))
		cast := ""
		if c.Kind == entity.JSON {
			cast = "::text" // json has no equality operator
		}
		old = append(old, "t."+c.Name+cast)
		inc = append(inc, "EXCLUDED."+c.Name+cast)
		cur = append(cur, fmt.Sprintf("CASE WHEN t.updated_at = u.updated_at THEN t.%s%s END", c.Name, cast))
	}
	cols := strings.Join(names, ", ")
	// <rows> is the rows to insert, in external-ID order (withRows).
	merge := `WITH up AS (
  INSERT INTO %[1]s AS t (account, provider, %[2]s)
  <rows>
  ON CONFLICT (account, provider, external_id) DO UPDATE SET %[4]s
  WHERE %[7]s
  RETURNING (xmax = 0) AS inserted)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up`
	const (
		newer = `EXCLUDED.updated_at > t.updated_at
     OR (EXCLUDED.updated_at = t.updated_at AND (%[5]s) IS DISTINCT FROM (%[6]s))`
		differs = `(%[5]s) IS DISTINCT FROM (%[6]s)`
	)
	upsertSQL := func(where string) string {
		m := strings.Replace(merge, "%[7]s", where, 1)
		return fmt.Sprintf(m, sp.Table, cols, stage, strings.Join(set, ", "), strings.Join(old, ", "), strings.Join(inc, ", "))
	}
	staged := fmt.Sprintf("SELECT $1, $2, %s FROM pg_temp.%s ORDER BY external_id", cols, stage)
	return batchSQL{
		upsert:     upsertSQL(newer),
		upsertAuth: upsertSQL(differs),
		// OFFSET 0 keeps the subquery from being flattened into a join,
		// so that it runs once per incoming ID: one primary-key probe,
		// whatever the planner estimates of the table.
		lookup: fmt.Sprintf(`SELECT u.n, t.updated_at, %s
FROM unnest($3::text[], $4::timestamptz[]) WITH ORDINALITY AS u(external_id, updated_at, n)
CROSS JOIN LATERAL (SELECT * FROM %s AS t
  WHERE t.account = $1 AND t.provider = $2 AND t.external_id = u.external_id OFFSET 0) AS t`,
			strings.Join(cur, ", "), sp.Table),
		copy:      fmt.Sprintf("COPY %s (account, provider, %s) FROM STDIN BINARY", sp.Table, cols),
		copyStage: fmt.Sprintf("COPY pg_temp.%s (%s) FROM STDIN BINARY", stage, cols),
		create: fmt.Sprintf(`CREATE TEMP TABLE IF NOT EXISTS %s ON COMMIT DELETE ROWS AS
SELECT %s FROM %s WITH NO DATA`, stage, cols, sp.Table),
		merge:     withRows(upsertSQL(newer), staged),
		mergeAuth: withRows(upsertSQL(differs), staged),
	}
}

// jitOff applies to every transaction that merges or looks up: its
// statements are short, and compiling them would cost more than it saves.
const jitOff = "SET LOCAL jit = off"

// planSettings apply to a transaction that looks rows up. Without
// sequential and bitmap scans, the lookup probes the primary-key index
// even under a plan made (and cached) while the table was nearly empty.
// (The merge that may follow still scans the staging table, which has
// no index; with jitOff, the cost of that disabled scan does not make it
// compile.)
var planSettings = []string{
	"SET LOCAL enable_seqscan = off",
	"SET LOCAL enable_bitmapscan = off",
}

// lookup sends batch with planSettings and the lookup of rows appended,
// and returns the rows to write (those not stored, or stored older, or as
// new and different), in order, and whether none of them is stored.
func lookup(ctx context.Context, tx pgx.Tx, batch *pgx.Batch, q batchSQL, sp *entity.Spec, sc store.Scope, rows [][]any) ([][]any, bool, error) {
	for _, set := range planSettings {
		batch.Queue(set)
	}
	const (
		absent  = iota
		older   // stored older, or as new and different
		current // stored newer, or as new and identical
	)
	found := make([]uint8, len(rows))
	ids, times := column[string](rows, 0), column[time.Time](rows, sp.Updated)
	batch.Queue(q.lookup, sc.Account, sc.Provider, ids, times).Query(func(res pgx.Rows) error {
		// The values are compared in their wire format, undecoded.
		fds := res.FieldDescriptions()
		if fds[0].Format != pgx.BinaryFormatCode || fds[1].Format != pgx.BinaryFormatCode {
			return errors.New("lookup: result not in binary format")
		}
		var scratch []byte
		for res.Next() {
			raw := res.RawValues()
			n := int(binary.BigEndian.Uint64(raw[0]))
			r := rows[n-1]
			at, in := int64(binary.BigEndian.Uint64(raw[1])), pgMicros(r[sp.Updated].(time.Time))
			if at < in || at == in && !identical(sp, r, raw[2:], fds[2:], &scratch) {
				found[n-1] = older
			} else {
				found[n-1] = current
			}
		}
		return res.Err()
	})
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return nil, false, fmt.Errorf("lookup: %w", err)
	}
	write := rows[:0:0]
	fresh := true
	for i, r := range rows {
		if found[i] != current {
			write = append(write, r)
			fresh = fresh && found[i] == absent
		}
	}
	return write, fresh, nil
}

// identical reports whether row r has the stored values cur, in the
// wire format fds, of the columns after external_id (JSON as text). It
// errs towards false: a row reported different is merged, and the merge
// compares again.
func identical(sp *entity.Spec, r []any, cur [][]byte, fds []pgconn.FieldDescription, scratch *[]byte) bool {
	for i, c := range sp.Columns[1:] {
		in, st := r[i+1], cur[i]
		switch {
		case in == nil || st == nil:
			if (in == nil) != (st == nil) {
				return false
			}
		case c.Kind != entity.Text && c.Kind != entity.JSON && fds[i].Format != pgx.BinaryFormatCode:
			return false // text is the same in either format; the others are not
		default:
			var err error
			if *scratch, err = appendValue((*scratch)[:0], in); err != nil || !bytes.Equal(*scratch, st) {
				return false
			}
		}
	}
	return true
}

func column[T any](rows [][]any, i int) []T {
	out := make([]T, len(rows))
	for j, r := range rows {
		out[j] = r[i].(T)
	}
	return out
}

// copyRows runs copySQL, a COPY ... FROM STDIN BINARY, of the rows of
// src.
func copyRows(ctx context.Context, tx pgx.Tx, copySQL string, src *copyReader) error {
	_, err := tx.Conn().PgConn().CopyFrom(ctx, src, copySQL)
	// CopyFrom reads in another goroutine, which it does not always wait
	// for when the connection fails: make sure no read runs past here.
	src.mu.Lock()
	src.closed = true
	src.mu.Unlock()
	return err
}

// copyReader reads rows in the binary COPY format, preceded by account
// and provider when sc is not nil. It encodes them as they are read, so
// that the server works on the first rows while later ones are encoded
// (and, with more, converted), and it encodes values itself, which costs
// a fraction of pgx's CopyFrom (no type lookups per value). Rows hold
// only string, bool, float64, time.Time (UTC, whole microseconds),
// []byte (JSON) and nil.
type copyReader struct {
	sc   *store.Scope
	rows [][]any
	// more, if not nil, returns the rows that follow rows, none at the
	// end.
	more    func() ([][]any, error)
	buf     []byte // encoded, not read yet
	started bool
	done    bool
	mu      sync.Mutex
	closed  bool
}

func (c *copyReader) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, io.ErrClosedPipe
	}
	if !c.started {
		c.started = true
		c.buf = append(c.buf, "PGCOPY\n\377\r\n\000"...)
		c.buf = binary.BigEndian.AppendUint64(c.buf, 0) // flags, header extension length
	}
	for len(c.buf) < len(p) && !c.done {
		if len(c.rows) == 0 && c.more != nil {
			var err error
			if c.rows, err = c.more(); err != nil {
				return 0, err
			}
		}
		if len(c.rows) == 0 {
			c.done = true
			c.buf = binary.BigEndian.AppendUint16(c.buf, math.MaxUint16) // -1: end of data
			break
		}
		var err error
		if c.buf, err = c.appendRow(c.buf, c.rows[0]); err != nil {
			return 0, err
		}
		c.rows = c.rows[1:]
	}
	if len(c.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.buf)
	c.buf = c.buf[:copy(c.buf, c.buf[n:])]
	return n, nil
}

func (c *copyReader) appendRow(buf []byte, r []any) ([]byte, error) {
	n := len(r)
	if c.sc != nil {
		n += 2
	}
	buf = binary.BigEndian.AppendUint16(buf, uint16(n))
	if c.sc != nil {
		buf = appendField(buf, c.sc.Account)
		buf = appendField(buf, c.sc.Provider)
	}
	for _, v := range r {
		if v == nil {
			buf = binary.BigEndian.AppendUint32(buf, math.MaxUint32) // -1: NULL
			continue
		}
		at := len(buf)
		var err error
		if buf, err = appendValue(binary.BigEndian.AppendUint32(buf, 0), v); err != nil {
			return buf, err
		}
		binary.BigEndian.PutUint32(buf[at:], uint32(len(buf)-at-4)) // the length
	}
	return buf, nil
}

// appendValue appends the binary format of v, not nil.
func appendValue(buf []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return append(buf, v...), nil
	case []byte:
		return append(buf, v...), nil
	case bool:
		if v {
			return append(buf, 1), nil
		}
		return append(buf, 0), nil
	case float64:
		return binary.BigEndian.AppendUint64(buf, math.Float64bits(v)), nil
	case time.Time:
		return binary.BigEndian.AppendUint64(buf, uint64(pgMicros(v))), nil
	}
	return buf, fmt.Errorf("cannot encode %T", v)
}

// pgMicros returns t in microseconds since 2000-01-01 00:00:00 UTC, the
// binary format of timestamptz.
func pgMicros(t time.Time) int64 {
	return (t.Unix()-946684800)*1_000_000 + int64(t.Nanosecond()/1000)
}

func appendField[T string | []byte](buf []byte, v T) []byte {
	return append(binary.BigEndian.AppendUint32(buf, uint32(len(v))), v...)
}
