// Package sqlite is the embedded default store: SQLite in one file, through
// the pure-Go modernc.org/sqlite driver (no cgo). It registers itself for
// URLs "sqlite:PATH".
//
// The file is in WAL mode with synchronous=FULL, so a commit is durable when
// it returns (a webhook is answered only after it is logged) and readers
// never block the writer. All writes go through one connection: database/sql
// queues writers in the process, so SQLITE_BUSY never surfaces from our own
// concurrency, and busy_timeout absorbs another process holding the lock.
// Reads use a separate pool of query_only connections. Write transactions
// begin IMMEDIATE. The statements of the hot paths stay prepared on each
// connection (see stmts), so SQLite does not parse them on every call.
//
// Times are stored as TEXT in one fixed-width UTC form
// (2006-01-02T15:04:05.000000Z), truncated to microseconds as on
// PostgreSQL, so text comparison is time comparison. Synced-record tables
// carry a rev column that every update increments: an upsert's RETURNING
// rev tells an insert (1) from an update, and no row means unchanged.
//
// Leadership uses the same lease row with an epoch fencing token as the
// PostgreSQL backend, with this process's clock; SQLite has no advisory
// locks, and the lease design is the one that works on both.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers driver "sqlite"

	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/migrate"
	"github.com/horizon/reconciler/internal/store/internal/record"
)

//go:embed migrations/*.sql
var migrations embed.FS

func init() {
	store.Register("sqlite", func(ctx context.Context, url string) (store.Store, error) {
		return Open(ctx, url)
	})
}

// Store is a SQLite-backed store.Store.
type Store struct {
	w   *sql.DB // the single writer connection
	r   *sql.DB // read-only pool
	wst *stmts  // runs statements prepared on w
	// wg orders the writers of w (see gate): every use of w goes
	// through inTx, wst or wexec, which hold it.
	wg   *gate
	rst  *stmts // runs statements prepared on r
	path string
	now  func() time.Time
	// daemonLock is the open, locked daemon lock file (ClaimDaemon).
	daemonLock *os.File
}

var _ store.Store = (*Store)(nil)

const (
	writerParams = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
		"&_pragma=foreign_keys(1)&_txlock=immediate"
	readerParams = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=query_only(1)"
	readers      = 4
)

// Open opens (creating if needed) the database a "sqlite:PATH" URL names
// and applies migrations.
func Open(ctx context.Context, url string) (*Store, error) {
	return open(ctx, url, "sqlite")
}

// open is Open through a database/sql driver registered as driver
// (tests count what reaches SQLite).
func open(ctx context.Context, url, driver string) (*Store, error) {
	path, ok := strings.CutPrefix(url, "sqlite:")
	if !ok || path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: database URL %q: want sqlite:PATH (PATH without ? or #)", url)
	}
	s := &Store{path: path, now: time.Now}
	var err error
	if s.w, err = sql.Open(driver, path+"?"+writerParams); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	if err := s.migrate(ctx); err != nil {
		s.w.Close()
		return nil, err
	}
	if s.r, err = sql.Open(driver, path+"?"+readerParams); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s.r.SetMaxOpenConns(readers)
	s.r.SetMaxIdleConns(readers)
	s.wg = &gate{}
	s.wst, s.rst = newStmts(s.w), newStmts(s.r)
	s.wst.gate = s.wg
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	if _, err := migrate.Up(ctx, s.w, goose.DialectSQLite3, sub); err != nil {
		return fmt.Errorf("sqlite: open %s: %w", s.path, err)
	}
	return nil
}

// Backend returns "sqlite".
func (s *Store) Backend() string { return "sqlite" }

// Close closes the prepared statements and both connection pools.
func (s *Store) Close() error {
	return errors.Join(s.rst.close(), s.wst.close(), s.r.Close(), s.w.Close(), s.releaseDaemon())
}

// inTx runs f in one write transaction (BEGIN IMMEDIATE on the writer).
// Once the transaction released the writer, the statements it ran
// through s.wst before they were prepared get prepared.
func (s *Store) inTx(ctx context.Context, f func(*sql.Tx) error) error {
	return s.inTxOrder(ctx, false, f)
}

// inTxFirst is inTx ahead of every other waiting writer: the callback
// log's commits (see gate).
func (s *Store) inTxFirst(ctx context.Context, f func(*sql.Tx) error) error {
	return s.inTxOrder(ctx, true, f)
}

func (s *Store) inTxOrder(ctx context.Context, first bool, f func(*sql.Tx) error) error {
	defer s.wst.fill(ctx)
	if err := s.wg.acquire(ctx, first); err != nil {
		return err
	}
	defer s.wg.release()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		return errors.Join(err, ignoreDone(tx.Rollback()))
	}
	return tx.Commit()
}

// wexec runs a statement on the writer, unprepared, in its turn.
func (s *Store) wexec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if err := s.wg.acquire(ctx, false); err != nil {
		return nil, err
	}
	defer s.wg.release()
	return s.w.ExecContext(ctx, q, args...)
}

func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// querier is a pool or transaction, its statements prepared or not.
type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// queryAll runs q on db and scans every row it returns with scan.
func queryAll[T any](ctx context.Context, db querier, scan func(record.Row) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return record.Collect(rows, scan)
}

// scope is the account and provider as leading query arguments.
func scope(sc store.Scope, args ...any) []any {
	return append([]any{sc.Account, sc.Provider}, args...)
}

// placeholders returns "?, ?, ..." for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
