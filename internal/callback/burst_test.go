package callback_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/horizon/reconciler/internal/callback"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/autotask"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	atemu "github.com/horizon/reconciler/internal/helpdesk/sandbox/autotask"
	"github.com/horizon/reconciler/internal/metrics"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/syncer"
)

// burst is a backlog of accepted Autotask callbacks and a dispatcher
// fetching through the real client with its real client-side limiter
// (autotask.DefaultRatePerSecond, burst 5) against the emulator.
type burst struct {
	st      store.Store
	scope   store.Scope
	m       *metrics.Metrics
	fetches *countingFetcher
	cfg     callback.DispatcherConfig
	tickets int
	rows    int
}

// newBurst logs perTicket accepted callbacks for each of tickets tickets,
// interleaved as a busy PSA sends them.
func newBurst(tb testing.TB, tickets, perTicket int) *burst {
	tb.Helper()
	w := sandbox.Generate(sandbox.GenOptions{Tickets: tickets, Seed: 5})
	emu, err := atemu.New(sandbox.Options{World: w, Faults: sandbox.NewFaults(1), Logger: quiet}, atemu.Settings{})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	tb.Cleanup(func() { srv.Close(); emu.Close() })
	env := emu.Env()
	m := metrics.New(prometheus.NewRegistry())
	client, err := autotask.New(autotask.Config{Username: env[atemu.EnvUsername], Secret: helpdesk.Secret(env[atemu.EnvSecret]),
		IntegrationCode: helpdesk.Secret(env[atemu.EnvIntegrationCode]), BaseURL: srv.URL, Metrics: m, Logger: quiet})
	if err != nil {
		tb.Fatal(err)
	}
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(tb.TempDir(), "horizon.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	b := &burst{st: st, scope: store.Scope{Account: "acme", Provider: helpdesk.Autotask}, m: m, tickets: tickets}
	all, _ := w.QueryTickets(sandbox.TicketQuery{})
	var recs []store.CallbackRecord
	// The burst arrived over the minute before the drain starts.
	now := store.NormalizeTime(time.Now().Add(-time.Minute))
	for n := range perTicket {
		for i, tk := range all[:tickets] {
			id := strconv.FormatInt(tk.ID, 10)
			recs = append(recs, store.CallbackRecord{ReceivedAt: now, Provider: helpdesk.Autotask, Event: "ticket.updated",
				DeliveryID: id + "/" + strconv.Itoa(n*tickets+i), ExternalIDs: []string{id}, Verified: true,
				Result: store.CallbackAccepted})
		}
	}
	for len(recs) > 0 {
		k := min(len(recs), 500)
		if _, _, err := st.InsertCallbacks(context.Background(), b.scope, recs[:k]); err != nil {
			tb.Fatal(err)
		}
		b.rows += k
		recs = recs[k:]
	}
	s, err := syncer.New(client, st, syncer.Options{Scope: b.scope, Entities: []helpdesk.Entity{helpdesk.EntityTickets},
		Metrics: m, Logger: quiet})
	if err != nil {
		tb.Fatal(err)
	}
	b.fetches = &countingFetcher{next: callback.SyncFetcher(s)}
	// A short FinishTimeout: it bounds shutdown only, never a pass.
	b.cfg = callback.DispatcherConfig{Scope: b.scope, Store: st, Fetcher: b.fetches, Logger: quiet, Coalesce: -1,
		PollInterval: 20 * time.Millisecond, BatchSize: 4, FinishTimeout: 500 * time.Millisecond}
	return b
}

// drain runs the dispatcher until nothing is accepted and returns the
// wall time and the PSA requests it took.
func (b *burst) drain(tb testing.TB) (time.Duration, float64) {
	tb.Helper()
	d, err := callback.NewDispatcher(b.cfg)
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	stop := run(d.Run)
	defer stop()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, err := b.st.CallbackStats(context.Background(), b.scope, time.Time{})
		if err != nil {
			tb.Fatal(err)
		}
		if st.ByResult[store.CallbackAccepted] == 0 {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("burst not drained: %v", st.ByResult)
		}
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	return elapsed, b.requests()
}

// requests is how many HTTP requests reached the emulator.
func (b *burst) requests() float64 {
	var n float64
	ch := make(chan prometheus.Metric, 64)
	go func() { b.m.PSARequests.Collect(ch); close(ch) }()
	for m := range ch {
		var pb dto.Metric
		if m.Write(&pb) == nil {
			n += pb.GetCounter().GetValue()
		}
	}
	return n
}

func (b *burst) results(tb testing.TB) map[string]int {
	tb.Helper()
	st, err := b.st.CallbackStats(context.Background(), b.scope, time.Time{})
	if err != nil {
		tb.Fatal(err)
	}
	return st.ByResult
}

// TestBurstDrainsAtTheRateLimit: a backlog far larger than the limiter
// lets through at once drains with no callback failed (a client-side
// wait is queueing, not failure), and each ticket is fetched once however
// many callbacks name it.
func TestBurstDrainsAtTheRateLimit(t *testing.T) {
	b := newBurst(t, 12, 25)
	b.drain(t)
	res := b.results(t)
	if res[store.CallbackFailed] != 0 || res[store.CallbackProcessed] != b.rows {
		t.Fatalf("results %v: want all %d processed, none failed", res, b.rows)
	}
	if got := b.fetches.count(); got != b.tickets {
		t.Errorf("%d fetches for %d tickets: a burst for one ticket must coalesce into one fetch", got, b.tickets)
	}
	runs, err := b.st.SyncRuns(context.Background(), b.scope, store.SyncRunFilter{FailedOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 0 {
		t.Errorf("%d failed sync runs, first %q: a rate-limit wait is not a sync error", len(runs), runs[0].Error)
	}
}

// BenchmarkBurstDrain measures how close a callback burst drains to the
// PSA's allowed rate: drain_vs_limit is PSA requests per second during the
// drain over the client-side limiter's rate (1 = the whole budget used).
func BenchmarkBurstDrain(b *testing.B) {
	for range b.N {
		bu := newBurst(b, 30, 100)
		elapsed, reqs := bu.drain(b)
		res := bu.results(b)
		b.ReportMetric(reqs/elapsed.Seconds()/autotask.DefaultRatePerSecond, "drain_vs_limit")
		b.ReportMetric(float64(res[store.CallbackFailed]), "failed")
		b.ReportMetric(float64(bu.fetches.count())/float64(bu.tickets), "fetches/ticket")
		b.ReportMetric(float64(bu.rows)/elapsed.Seconds(), "callbacks/s")
	}
}
