package writeback

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/metrics"
	"github.com/horizon/reconciler/internal/store"
)

// claimCounter counts the claims of scope (fed) and of other scopes
// (polled), once they returned.
type claimCounter struct {
	store.Store
	fed, polled atomic.Int64
}

func (c *claimCounter) ClaimWrites(ctx context.Context, s store.Scope, n int, lease time.Duration, now time.Time) ([]store.Write, error) {
	ws, err := c.Store.ClaimWrites(ctx, s, n, lease, now)
	if s == scope {
		c.fed.Add(1)
	} else {
		c.polled.Add(1)
	}
	return ws, err
}

// TestFedEngine: under RunFed the engine never polls the store on its
// own (an engine under Run polls many times meanwhile); a write enqueued
// by another process goes out once a feed says it is due; the feed sets
// the backlog gauges, to 0 when the scope has no backlog.
func TestFedEngine(t *testing.T) {
	h := newHarness(t)
	cs := &claimCounter{Store: h.st}
	m := metrics.New(prometheus.NewRegistry())
	h.e.o.Store, h.e.o.Metrics, h.e.o.PollInterval = cs, m, time.Millisecond
	polling, err := New(Options{Store: cs, Scope: store.Scope{Account: "globex", Provider: helpdesk.ConnectWise},
		Provider: h.psa, Config: h.cfg, Logger: slog.New(slog.DiscardHandler), PollInterval: time.Millisecond})
	must(t, err)
	ctx, cancel := contextWithCancel(t)
	defer cancel()
	go h.e.RunFed(ctx)
	go polling.Run(ctx)
	waitFor(t, "the fed engine's first claim", func() bool { return cs.fed.Load() == 1 })

	// Another process enqueues: its engine, not this one, is woken.
	other, err := New(Options{Store: h.st, Scope: scope, Provider: h.psa, Config: h.cfg, Logger: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return h.now }})
	must(t, err)
	w, _, err := other.Enqueue(t.Context(), note("4711", "jane.doe@acme-msp.com", "from another process"))
	must(t, err)
	waitFor(t, "20 polls of the engine under Run", func() bool { return cs.polled.Load() >= 20 })
	if n := cs.fed.Load(); n != 1 {
		t.Fatalf("the fed engine claimed %d times, want once (no poll of its own)", n)
	}
	if got := h.write(w.ID); got.State != store.WritePending {
		t.Fatalf("delivered without a feed or a wake: %+v", got)
	}

	// A feed with nothing due yet sets the gauges and wakes nothing.
	h.e.Feed(store.OutboxBacklog{Pending: 1, Oldest: h.now.Add(-time.Minute), Due: h.now.Add(time.Second)})
	if p, age := testutil.ToFloat64(m.OutboxPending), testutil.ToFloat64(m.OutboxOldestAge); p != 1 || age != 60 {
		t.Errorf("gauges after a feed: pending %v, oldest age %v; want 1 and 60", p, age)
	}
	// The store's own answer: due now.
	bs, err := h.st.OutboxBacklogs(t.Context())
	must(t, err)
	if bs[scope].Due.IsZero() || bs[scope].Due.After(h.now) {
		t.Fatalf("backlog %+v: want the write due now (%s)", bs[scope], h.now)
	}
	h.e.Feed(bs[scope])
	waitFor(t, "delivery once fed", func() bool { return h.write(w.ID).State == store.WriteDone })

	bs, err = h.st.OutboxBacklogs(t.Context())
	must(t, err)
	h.e.Feed(bs[scope]) // absent: the zero backlog
	if p, age := testutil.ToFloat64(m.OutboxPending), testutil.ToFloat64(m.OutboxOldestAge); p != 0 || age != 0 {
		t.Errorf("gauges once the scope has no backlog: pending %v, oldest age %v; want 0", p, age)
	}
}
