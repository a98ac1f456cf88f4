package daemon_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/store"
)

// TestReadinessIgnoresThePSA: a replica is ready when its config is in
// force, its store answers and it serves HTTP, whatever the PSA does: a
// PSA that is down, or a first backfill that is still running, must not
// take the callback endpoint off the network.
func TestReadinessIgnoresThePSA(t *testing.T) {
	for _, tc := range []struct {
		name string
		psa  func(http.Handler) http.Handler
	}{
		{"PSA down", func(http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "service unavailable", http.StatusServiceUnavailable)
			})
		}},
		{"first backfill running", func(next http.Handler) http.Handler {
			// Every request hangs until the test ends: the first
			// reconcile (and its backfill) never finishes.
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startWith(t, startOptions{psa: tc.psa})
			eventually(t, "readyz 200", func() bool { s, _ := get(t, r.base+"/readyz"); return s == 200 })
			if got := metric(t, r.base, `horizon_reconcile_total{result="success"}`); got > 0 {
				t.Fatalf("a reconcile succeeded (%v): the test needs a PSA that fails", got)
			}
			if s, _ := get(t, r.base+"/callbacks/connectwise"); s == 0 || s == 503 {
				t.Errorf("callbacks answered %d while the PSA is unhealthy", s)
			}
		})
	}
}

// flakyStore fails lease requests while down is set, as a database that
// cannot be reached does.
type flakyStore struct {
	store.Store
	down atomic.Bool
}

func (f *flakyStore) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (store.Lease, error) {
	if f.down.Load() {
		return store.Lease{}, errors.New("dial tcp: connection refused")
	}
	return f.Store.AcquireLease(ctx, name, holder, ttl)
}

// TestReadinessNeedsTheStore: a replica whose store stops answering is not
// ready (it could not log a callback), and is again once it answers.
func TestReadinessNeedsTheStore(t *testing.T) {
	var fs *flakyStore
	r := startWith(t, startOptions{leaseTTL: 600 * time.Millisecond,
		store: func(st store.Store) store.Store { fs = &flakyStore{Store: st}; return fs }})
	eventually(t, "readyz 200", func() bool { s, _ := get(t, r.base+"/readyz"); return s == 200 })
	fs.down.Store(true)
	eventually(t, "readyz 503", func() bool {
		s, body := get(t, r.base+"/readyz")
		return s == 503 && strings.Contains(body, "store")
	})
	fs.down.Store(false)
	eventually(t, "readyz 200 again", func() bool { s, _ := get(t, r.base+"/readyz"); return s == 200 })
}
