package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/entity"
	"github.com/horizon/reconciler/internal/store/internal/record"
)

// upsertSQL is the per-row upsert of each synced-record table. An update
// happens only when the incoming row is newer, or equally new with
// different content; RETURNING rev is 1 for an insert and more for an
// update, and returns no row when the stored row was kept.
var upsertSQL = map[*entity.Spec]string{}

// authUpsertSQL is the upsert of an authoritative batch: the incoming row
// replaces a stored one whenever they differ.
var authUpsertSQL = map[*entity.Spec]string{}

func init() {
	for _, sp := range entity.All {
		upsertSQL[sp] = buildUpsert(sp, false)
		authUpsertSQL[sp] = buildUpsert(sp, true)
	}
}

func buildUpsert(sp *entity.Spec, authoritative bool) string {
	names := sp.Names()
	var set, old, inc []string
	for _, n := range names[1:] {
		set = append(set, fmt.Sprintf("%s = excluded.%s", n, n))
		old = append(old, sp.Table+"."+n)
		inc = append(inc, "excluded."+n)
	}
	where := `excluded.updated_at > %[1]s.updated_at
   OR (excluded.updated_at = %[1]s.updated_at AND (%[5]s) IS NOT (%[6]s))`
	if authoritative {
		where = `(%[5]s) IS NOT (%[6]s)`
	}
	return fmt.Sprintf(`INSERT INTO %[1]s (account, provider, %[2]s) VALUES (%[3]s)
ON CONFLICT (account, provider, external_id) DO UPDATE SET %[4]s, rev = %[1]s.rev + 1
WHERE `+where+`
RETURNING rev`,
		sp.Table, strings.Join(names, ", "), placeholders(len(names)+2),
		strings.Join(set, ", "), strings.Join(old, ", "), strings.Join(inc, ", "))
}

// WriteBatch upserts a page of records and the watermark in one
// transaction, with one prepared statement for all rows. A batch of one
// row and no watermark (a callback's one ticket) is one autocommit
// statement instead: no BEGIN, prepare or COMMIT of its own.
func (s *Store) WriteBatch(ctx context.Context, sc store.Scope, b store.Batch) (store.UpsertResult, error) {
	sp, rows, err := entity.Rows(&b)
	if err != nil {
		return store.UpsertResult{}, fmt.Errorf("sqlite: write batch: %w", err)
	}
	rows, dropped := sp.Dedupe(rows)
	q := upsertSQL[sp]
	if b.Authoritative {
		q = authUpsertSQL[sp]
	}
	var res store.UpsertResult
	if len(rows) == 1 && b.Watermark == nil {
		one := func(args ...any) *sql.Row { return s.wst.QueryRowContext(ctx, q, args...) }
		err = upsertRow(one, upsertArgs(sp, sc), rows[0], &res)
	} else {
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			ptx := s.wst.in(tx)
			if res, err = upsertRows(ctx, ptx, q, sp, sc, rows); err != nil {
				return err
			}
			if b.Watermark == nil {
				return nil
			}
			return setWatermark(ctx, ptx, sc, b.Entity, *b.Watermark)
		})
	}
	if err != nil {
		return store.UpsertResult{}, fmt.Errorf("sqlite: write batch of %s: %w", b.Entity, err)
	}
	res.Unchanged += dropped
	return res, nil
}

func upsertRows(ctx context.Context, tx preparedTx, q string, sp *entity.Spec, sc store.Scope, rows [][]any) (store.UpsertResult, error) {
	var res store.UpsertResult
	if len(rows) == 0 {
		return res, nil
	}
	stmt, err := tx.Stmt(ctx, q)
	if err != nil {
		return res, err
	}
	args := upsertArgs(sp, sc)
	query := func(args ...any) *sql.Row { return stmt.QueryRowContext(ctx, args...) }
	for _, r := range rows {
		if err := upsertRow(query, args, r, &res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// upsertArgs returns room for an upsert's arguments, the scope's filled
// in.
func upsertArgs(sp *entity.Spec, sc store.Scope) []any {
	args := make([]any, len(sp.Columns)+2)
	args[0], args[1] = sc.Account, sc.Provider
	return args
}

// upsertRow upserts row r with query (an upsert's QueryRowContext), the
// row's values put in args after the scope's, and counts it in res.
func upsertRow(query func(args ...any) *sql.Row, args, r []any, res *store.UpsertResult) error {
	for i, v := range r {
		args[i+2] = bindValue(v)
	}
	row := query(args...)
	var rev int64
	err := row.Scan(&rev)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		res.Unchanged++
	case err != nil:
		return fmt.Errorf("upsert %s: %w", r[0], err)
	case rev == 1:
		res.Created++
	default:
		res.Updated++
	}
	return nil
}

const setWatermarkSQL = `INSERT INTO watermarks (account, provider, entity, updated_through, backfilled_from, cursor)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (account, provider, entity) DO UPDATE SET updated_through = excluded.updated_through,
  backfilled_from = excluded.backfilled_from, cursor = excluded.cursor`

func setWatermark(ctx context.Context, tx preparedTx, sc store.Scope, e helpdesk.Entity, w store.Watermark) error {
	_, err := tx.ExecContext(ctx, setWatermarkSQL, times.WatermarkArgs(sc, e, w)...)
	if err != nil {
		return fmt.Errorf("set watermark: %w", err)
	}
	return nil
}

// Watermark returns the entity's watermark, zero when none is stored.
func (s *Store) Watermark(ctx context.Context, sc store.Scope, e helpdesk.Entity) (store.Watermark, error) {
	w, err := times.Watermark(s.rst.QueryRowContext(ctx, `SELECT updated_through, backfilled_from, cursor FROM watermarks
WHERE account = ? AND provider = ? AND entity = ?`, scope(sc, string(e))...))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Watermark{}, nil
	}
	if err != nil {
		return w, fmt.Errorf("sqlite: watermark of %s: %w", e, err)
	}
	return w, nil
}

// SetWatermark stores the entity's watermark.
func (s *Store) SetWatermark(ctx context.Context, sc store.Scope, e helpdesk.Entity, w store.Watermark) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error { return setWatermark(ctx, s.wst.in(tx), sc, e, w) })
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}

func selectSQL(sp *entity.Spec, where string) string {
	return fmt.Sprintf("SELECT %s FROM %s WHERE account = ? AND provider = ? %s",
		strings.Join(sp.Names(), ", "), sp.Table, where)
}

// Ticket returns one stored ticket; store.ErrNotFound when absent.
func (s *Store) Ticket(ctx context.Context, sc store.Scope, externalID string) (helpdesk.Ticket, error) {
	row := s.rst.QueryRowContext(ctx, selectSQL(entity.Tickets, "AND external_id = ?"), scope(sc, externalID)...)
	v, err := entity.Tickets.Scan(row, newTime)
	if errors.Is(err, sql.ErrNoRows) {
		return helpdesk.Ticket{}, fmt.Errorf("sqlite: ticket %s: %w", externalID, store.ErrNotFound)
	}
	if err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("sqlite: ticket %s: %w", externalID, err)
	}
	return entity.Ticket(v), nil
}

// Count returns how many records of an entity are stored.
func (s *Store) Count(ctx context.Context, sc store.Scope, e helpdesk.Entity) (int, error) {
	sp, err := entity.For(e)
	if err != nil {
		return 0, fmt.Errorf("sqlite: count: %w", err)
	}
	var n int
	q := "SELECT count(*) FROM " + sp.Table + " WHERE account = ? AND provider = ?"
	if err := s.r.QueryRowContext(ctx, q, scope(sc)...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count %s: %w", e, err)
	}
	return n, nil
}

// Tickets iterates stored tickets in external-ID (byte) order, one page
// of record.TicketPage rows at a time (keyset pagination).
func (s *Store) Tickets(ctx context.Context, sc store.Scope) func(yield func(helpdesk.Ticket, error) bool) {
	return record.Tickets(func(after string) ([]helpdesk.Ticket, error) {
		q := selectSQL(entity.Tickets, "AND external_id > ? ORDER BY external_id LIMIT ?")
		t, err := queryAll(ctx, s.rst, record.Records(times, entity.Tickets, entity.Ticket), q, scope(sc, after, record.TicketPage)...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: tickets: %w", err)
		}
		return t, nil
	})
}

// Members returns every stored helpdesk user in external-ID order.
func (s *Store) Members(ctx context.Context, sc store.Scope) ([]helpdesk.Member, error) {
	q := selectSQL(entity.Members, "ORDER BY external_id")
	m, err := queryAll(ctx, s.r, record.Records(times, entity.Members, entity.Member), q, scope(sc)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: members: %w", err)
	}
	return m, nil
}

// UnmappedActiveMembers returns active helpdesk users with no mapping.
func (s *Store) UnmappedActiveMembers(ctx context.Context, sc store.Scope) ([]helpdesk.Member, error) {
	q := selectSQL(entity.Members, `AND active AND NOT EXISTS (SELECT 1 FROM user_mappings m
  WHERE m.account = helpdesk_users.account AND m.provider = helpdesk_users.provider
    AND m.helpdesk_user_id = helpdesk_users.external_id)
ORDER BY external_id`)
	m, err := queryAll(ctx, s.r, record.Records(times, entity.Members, entity.Member), q, scope(sc)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: unmapped members: %w", err)
	}
	return m, nil
}
