package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/migrate"
	"github.com/horizon/reconciler/internal/store/storetest"
)

// serverURL returns HORIZON_TEST_POSTGRES_URL (scripts/with-postgres sets
// it). Without it the test is skipped, except in CI, where a skipped
// PostgreSQL test would prove nothing.
func serverURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("HORIZON_TEST_POSTGRES_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("HORIZON_TEST_POSTGRES_URL is not set in CI: run the tests under scripts/with-postgres")
		}
		t.Skip("HORIZON_TEST_POSTGRES_URL not set; run under scripts/with-postgres")
	}
	return u
}

// freshDB creates an empty schema with a random name in the test
// server's database, dropped at cleanup, and returns a URL whose
// search_path selects it. A schema is far cheaper than a database to
// create and drop (no copy of template1, no checkpoint), and running in a
// schema other than public is itself worth testing.
func freshDB(t testing.TB) string {
	t.Helper()
	base := serverURL(t)
	buf := make([]byte, 6)
	rand.Read(buf)
	name := "horizon_test_" + hex.EncodeToString(buf)
	admin(t, base, "CREATE SCHEMA "+name)
	t.Cleanup(func() { admin(t, base, "DROP SCHEMA "+name+" CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse HORIZON_TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

func admin(t testing.TB, base, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to test server: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func openFresh(t *testing.T) store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), freshDB(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	serverURL(t)
	storetest.Run(t, openFresh)
}

func TestTooNew(t *testing.T) {
	u := freshDB(t)
	s, err := Open(t.Context(), u)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	sub, _ := fs.Sub(migrations, "migrations")
	known, err := migrate.Latest(sub)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.pool.Exec(t.Context(), `INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)`, known+1)
	if err != nil {
		t.Fatalf("bump version: %v", err)
	}
	s.Close()
	_, err = store.Open(t.Context(), u)
	if !errors.Is(err, store.ErrTooNew) {
		t.Fatalf("Open of a newer database: %v, want ErrTooNew", err)
	}
	for _, v := range []int64{known, known + 1} {
		if !strings.Contains(err.Error(), fmt.Sprint(v)) {
			t.Errorf("error %q does not name version %d", err, v)
		}
	}
}

func TestOpenConcurrentMigrations(t *testing.T) {
	u := freshDB(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := store.Open(context.Background(), u)
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
	}
}

func TestOpenErrorHidesPassword(t *testing.T) {
	u, err := url.Parse(serverURL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("nobody_here", "hunter2-secret")
	u.Path = "/no_such_database"
	_, err = store.Open(t.Context(), u.String())
	if err == nil {
		t.Fatal("Open with a bad user: want an error")
	}
	if strings.Contains(err.Error(), "hunter2-secret") {
		t.Fatalf("error leaks the password: %v", err)
	}
	_, err = store.Open(t.Context(), "postgres://u:hunter2-secret@localhost:bad-port/db")
	if err == nil || strings.Contains(err.Error(), "hunter2-secret") {
		t.Fatalf("bad URL: error %v", err)
	}
}
