package syncer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	_ "github.com/horizon/reconciler/internal/store/postgres"
)

// benchTickets is the World size of the sandbox benchmarks
// (HORIZON_BENCH_TICKETS overrides it).
func benchTickets(def int) int {
	if n, err := strconv.Atoi(os.Getenv("HORIZON_BENCH_TICKETS")); err == nil && n > 0 {
		return n
	}
	return def
}

// backfillAll syncs every ticket of the World (no ingest window) and
// returns how many were stored.
func backfillAll(b *testing.B, e *sandboxEnv, st store.Store, scope store.Scope) int {
	b.Helper()
	s, err := New(e.psa, st, Options{Scope: scope, Entities: []helpdesk.Entity{helpdesk.EntityTickets},
		Logger: quietLogger(), Now: e.clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	runs, err := s.SyncEntity(context.Background(), helpdesk.EntityTickets, store.TriggerBackfill, false)
	if err != nil {
		b.Fatal(err)
	}
	return runs[0].Created
}

// BenchmarkRequestsPer1000 counts the API requests a bulk backfill makes
// per 1,000 tickets against the provider's floor: one request per
// MaxPageSize tickets, rounded up. The default World size is not a
// multiple of any page size; when it is, paging that stops on a short page
// needs one more (empty) page for providers that give no next-page link.
func BenchmarkRequestsPer1000(b *testing.B) {
	n := benchTickets(5003)
	for _, spec := range psaSpecs {
		b.Run(spec.name, func(b *testing.B) {
			e := newSandboxEnv(b, spec, sandboxOpts{tickets: n})
			max := e.psa.Capabilities().MaxPageSize
			floor := float64((n+max-1)/max) * 1000 / float64(n)
			var reqs, stored float64
			for i := 0; b.Loop(); i++ {
				st := openSQLite(b, filepath.Join(b.TempDir(), fmt.Sprintf("req%d.db", i)))
				before := e.reqs.n.Load()
				stored += float64(backfillAll(b, e, st, e.scope))
				reqs += float64(e.reqs.n.Load() - before)
			}
			per1000 := reqs * 1000 / stored
			b.ReportMetric(per1000, "req/1000tickets")
			b.ReportMetric(floor, "floor-req/1000tickets")
			b.ReportMetric(per1000/floor, "x-floor")
		})
	}
}

// BenchmarkThroughput compares, in one run, a backfill from the sandbox
// (rate limits off) into a store with a fetch-only drain of the same
// sandbox: sync/drain is the share of the PSA-side speed the store keeps.
// PostgreSQL is measured when HORIZON_TEST_POSTGRES_URL is set.
func BenchmarkThroughput(b *testing.B) {
	n := benchTickets(5000)
	backends := []string{"sqlite"}
	if os.Getenv("HORIZON_TEST_POSTGRES_URL") != "" {
		backends = append(backends, "postgres")
	}
	for _, spec := range psaSpecs {
		for _, backend := range backends {
			b.Run(spec.name+"/"+backend, func(b *testing.B) {
				e := newSandboxEnv(b, spec, sandboxOpts{tickets: n})
				st := benchStore(b, backend)
				var drainDur, syncDur time.Duration
				var drained, synced int
				for i := 0; b.Loop(); i++ {
					start := time.Now()
					drained += drain(b, e.psa)
					drainDur += time.Since(start)
					scope := store.Scope{Account: fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i), Provider: spec.name}
					start = time.Now()
					synced += backfillAll(b, e, st, scope)
					syncDur += time.Since(start)
				}
				drainRate, syncRate := float64(drained)/drainDur.Seconds(), float64(synced)/syncDur.Seconds()
				b.ReportMetric(drainRate, "drain-tickets/s")
				b.ReportMetric(syncRate, "sync-tickets/s")
				b.ReportMetric(syncRate/drainRate, "sync/drain")
			})
		}
	}
}

func benchStore(b *testing.B, backend string) store.Store {
	b.Helper()
	if backend == "sqlite" {
		return openSQLite(b, filepath.Join(b.TempDir(), "bench.db"))
	}
	st, err := store.Open(context.Background(), os.Getenv("HORIZON_TEST_POSTGRES_URL"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// drain reads every ticket from the provider and keeps none.
func drain(b *testing.B, p helpdesk.Provider) int {
	b.Helper()
	n := 0
	for page, err := range p.Tickets(context.Background(), helpdesk.Query{}) {
		if err != nil {
			b.Fatal(err)
		}
		n += len(page)
	}
	return n
}

// peakHeap runs f while sampling the bytes of live and unswept heap
// objects every millisecond, and returns the peak above the level before
// f started (after a collection).
func peakHeap(f func()) (peak, base uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	runtime.GC()
	base = read()
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				peak = max(peak, read())
			}
		}
	}()
	f()
	close(stop)
	<-done
	return peak - min(peak, base), base
}

// BenchmarkPeakHeap backfills N tickets (HORIZON_BENCH_TICKETS, default
// 200,000) of about 2 KB from a streaming provider into SQLite and reports
// the peak heap growth: flat means a few pages, whatever N.
func BenchmarkPeakHeap(b *testing.B) {
	n := benchTickets(200_000)
	for b.Loop() {
		psa := newStreamPSA(n, 1000, 2048)
		st := openSQLite(b, filepath.Join(b.TempDir(), "peak.db"))
		s, err := New(psa, st, Options{Entities: []helpdesk.Entity{helpdesk.EntityTickets}, Logger: quietLogger(),
			Now: func() time.Time { return t0 }})
		if err != nil {
			b.Fatal(err)
		}
		var runErr error
		peak, base := peakHeap(func() {
			_, runErr = s.SyncEntity(context.Background(), helpdesk.EntityTickets, store.TriggerBackfill, false)
		})
		if runErr != nil {
			b.Fatal(runErr)
		}
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-growth-MiB")
		b.ReportMetric(float64(base)/(1<<20), "base-heap-MiB")
		b.ReportMetric(float64(n)*2.5/1024, "streamed-MiB")
	}
}

// BenchmarkPeakHeapSandbox is BenchmarkPeakHeap through the ConnectWise
// emulator and client (default 20,000 tickets). The emulator shares the
// heap: its World is in the base, the GC's headroom grows with it, and
// the emulator copies every matching ticket for each page it serves, so
// this figure grows with the World while the syncer's share does not
// (BenchmarkPeakHeap, TestMemoryFlat).
func BenchmarkPeakHeapSandbox(b *testing.B) {
	n := benchTickets(20_000)
	e := newSandboxEnv(b, psaSpecs[0], sandboxOpts{tickets: n})
	for i := 0; b.Loop(); i++ {
		st := openSQLite(b, filepath.Join(b.TempDir(), fmt.Sprintf("peak%d.db", i)))
		peak, base := peakHeap(func() { backfillAll(b, e, st, e.scope) })
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-growth-MiB")
		b.ReportMetric(float64(base)/(1<<20), "base-heap-MiB")
	}
}
