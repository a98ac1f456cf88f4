package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"testing"

	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/migrate"
	"github.com/horizon/reconciler/internal/store/pgtest"
	"github.com/horizon/reconciler/internal/store/storetest"
)

func serverURL(t testing.TB) string { return pgtest.ServerURL(t) }

func freshDB(t testing.TB) string { return pgtest.FreshURL(t) }

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
