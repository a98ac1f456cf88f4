package daemon

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/store"

	_ "github.com/horizon/reconciler/internal/store/sqlite"
)

// TestFence: an apply goes on only while this replica holds the
// account's lease under the epoch it started leading with.
func TestFence(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := &config.Config{}
	cfg.Account.Name, cfg.Helpdesk.Provider = "acme", "connectwise"
	g := &generation{cfg: cfg}
	a := &runner{o: Options{Store: st, Holder: "replica-a", LeaseTTL: time.Hour}}
	l, err := st.AcquireLease(ctx, leaseName(cfg), "replica-a", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.fence(g, l.Epoch)(ctx); err != nil {
		t.Fatalf("holder under its epoch: %v", err)
	}
	if err := a.fence(g, l.Epoch+1)(ctx); !errors.Is(err, errNotLeading) {
		t.Fatalf("another epoch: %v, want errNotLeading", err)
	}
	if err := st.ReleaseLease(ctx, leaseName(cfg), "replica-a"); err != nil {
		t.Fatal(err)
	}
	if err := a.fence(g, l.Epoch)(ctx); !errors.Is(err, errNotLeading) {
		t.Fatalf("released (or expired) meanwhile: %v, want errNotLeading", err)
	}
	if err := st.ReleaseLease(ctx, leaseName(cfg), "replica-a"); err != nil { // the check took it afresh
		t.Fatal(err)
	}
	if _, err := st.AcquireLease(ctx, leaseName(cfg), "replica-b", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := a.fence(g, l.Epoch)(ctx); !errors.Is(err, errNotLeading) {
		t.Fatalf("taken by another replica: %v, want errNotLeading", err)
	}
	st.Close()
	if err := a.fence(g, l.Epoch)(ctx); !errors.Is(err, errNotLeading) {
		t.Fatalf("store unreachable: %v, want errNotLeading", err)
	}
}
