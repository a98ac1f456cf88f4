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
// begin IMMEDIATE.
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
	w    *sql.DB // the single writer connection
	r    *sql.DB // read-only pool
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
	path, ok := strings.CutPrefix(url, "sqlite:")
	if !ok || path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: database URL %q: want sqlite:PATH (PATH without ? or #)", url)
	}
	s := &Store{path: path, now: time.Now}
	var err error
	if s.w, err = sql.Open("sqlite", path+"?"+writerParams); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	if err := s.migrate(ctx); err != nil {
		s.w.Close()
		return nil, err
	}
	if s.r, err = sql.Open("sqlite", path+"?"+readerParams); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s.r.SetMaxOpenConns(readers)
	s.r.SetMaxIdleConns(readers)
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

// Close closes both connection pools.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close(), s.releaseDaemon())
}

// inTx runs f in one write transaction (BEGIN IMMEDIATE on the writer).
func (s *Store) inTx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		return errors.Join(err, ignoreDone(tx.Rollback()))
	}
	return tx.Commit()
}

func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// queryAll runs q on db and scans every row it returns with scan.
func queryAll[T any](ctx context.Context, db *sql.DB, scan func(record.Row) (T, error), q string, args ...any) ([]T, error) {
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
