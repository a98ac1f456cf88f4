package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/migrate"
	"github.com/horizon/reconciler/internal/store/storetest"
)

func tempURL(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "horizon.db")
}

func openTemp(t *testing.T) store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), tempURL(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, openTemp)
}

func knownVersion(t *testing.T) int64 {
	t.Helper()
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	v, err := migrate.Latest(sub)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestTooNew(t *testing.T) {
	url := tempURL(t)
	s, err := Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	known := knownVersion(t)
	_, err = s.w.ExecContext(t.Context(), `INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, 1)`, known+1)
	if err != nil {
		t.Fatalf("bump version: %v", err)
	}
	s.Close()
	_, err = store.Open(t.Context(), url)
	if !errors.Is(err, store.ErrTooNew) {
		t.Fatalf("Open of a newer database: %v, want ErrTooNew", err)
	}
	for _, v := range []int64{known, known + 1} {
		if !strings.Contains(err.Error(), fmt.Sprint(v)) {
			t.Errorf("error %q does not name version %d", err, v)
		}
	}
}

func TestReopenKeepsData(t *testing.T) {
	url := tempURL(t)
	s, err := store.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	tk := storetest.Ticket("1", storetest.T0, "kept")
	if _, err := s.WriteBatch(t.Context(), storetest.Scope, store.Batch{Entity: helpdesk.EntityTickets, Tickets: []helpdesk.Ticket{tk}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = store.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if got, err := s.Ticket(t.Context(), storetest.Scope, "1"); err != nil || got.Summary != "kept" {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
}

func TestOpenSettings(t *testing.T) {
	s, err := Open(t.Context(), tempURL(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	for pragma, want := range map[string]string{"journal_mode": "wal", "synchronous": "2", "busy_timeout": "10000", "foreign_keys": "1"} {
		var got string
		if err := s.w.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
	if _, err := s.r.ExecContext(t.Context(), "CREATE TABLE x (y)"); err == nil {
		t.Error("reader pool accepted a write")
	}
}

func TestOpenErrors(t *testing.T) {
	for _, url := range []string{"sqlite:", "sqlite:/tmp/x.db?mode=ro", "sqlite:" + filepath.Join(t.TempDir(), "missing", "dir", "x.db")} {
		if s, err := store.Open(t.Context(), url); err == nil {
			s.Close()
			t.Errorf("Open(%q): want an error", url)
		}
	}
}

// Two stores on one file stand in for two processes: each has its own
// writer connection, and busy_timeout keeps SQLITE_BUSY from surfacing.
func TestTwoStoresOneFile(t *testing.T) {
	url := tempURL(t)
	var stores [2]store.Store
	for i := range stores {
		s, err := store.Open(t.Context(), url)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer s.Close()
		stores[i] = s
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for i, s := range stores {
		wg.Go(func() {
			for j := range 20 {
				b := store.Batch{Entity: helpdesk.EntityTickets, Tickets: storetest.Tickets(fmt.Sprintf("s%d-%d-", i, j), 50, storetest.T0)}
				if _, err := s.WriteBatch(context.Background(), storetest.Scope, b); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("WriteBatch: %v", err)
	}
	n, err := stores[0].Count(t.Context(), storetest.Scope, helpdesk.EntityTickets)
	if err != nil || n != 2*20*50 {
		t.Fatalf("Count = %d, %v; want %d", n, err, 2*20*50)
	}
}
