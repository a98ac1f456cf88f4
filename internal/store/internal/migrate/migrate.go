// Package migrate applies a backend's embedded goose migrations at Open and
// refuses a database whose schema is newer than the binary knows.
package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"

	"github.com/horizon/reconciler/internal/store"
)

// Up applies every pending migration in fsys to db. It returns an error
// wrapping store.ErrTooNew, naming both versions, when the database was
// migrated past the newest version in fsys, checked before and after
// migrating (a newer binary may migrate concurrently).
func Up(ctx context.Context, db *sql.DB, d goose.Dialect, fsys fs.FS, opts ...goose.ProviderOption) (int64, error) {
	opts = append(opts, goose.WithDisableGlobalRegistry(true))
	p, err := goose.NewProvider(d, db, fsys, opts...)
	if err != nil {
		return 0, fmt.Errorf("load migrations: %w", err)
	}
	srcs := p.ListSources()
	known := srcs[len(srcs)-1].Version
	if err := check(ctx, p, known); err != nil {
		return 0, err
	}
	if _, err := p.Up(ctx); err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	return known, check(ctx, p, known)
}

func check(ctx context.Context, p *goose.Provider, known int64) error {
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if v > known {
		return fmt.Errorf("schema version %d, this binary knows up to %d: %w", v, known, store.ErrTooNew)
	}
	return nil
}

// Latest returns the newest migration version in fsys, the schema version
// this binary knows.
func Latest(fsys fs.FS) (int64, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return 0, err
	}
	var v int64
	for _, n := range names {
		x, err := goose.NumericComponent(n)
		if err != nil {
			return 0, fmt.Errorf("migration %s: %w", n, err)
		}
		v = max(v, x)
	}
	return v, nil
}
