package writeback_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/writeback"
)

// BenchmarkDrainVsLimiter measures, in one run against the sandbox
// ConnectWise behind the client's own rate limiter, how fast the outbox
// drains notes compared with the same client sending notes directly: the
// outbox must not be the bottleneck (ratio ≥ 0.9).
//
//	go test -run XXX -bench DrainVsLimiter -benchtime 1x ./internal/writeback/
func BenchmarkDrainVsLimiter(b *testing.B) {
	const rate, n, tickets = 100.0, 600, 8
	p := newPSA(b, helpdesk.ConnectWise, rate, writebackTail)
	var ids []string
	for i := range tickets {
		ids = append(ids, p.wire(p.openTicket(i).ID))
	}
	for b.Loop() {
		direct := directRate(b, p, ids, n)
		outbox := outboxRate(b, p, ids, n)
		b.ReportMetric(direct, "direct-writes/s")
		b.ReportMetric(outbox, "outbox-writes/s")
		b.ReportMetric(outbox/direct, "ratio")
	}
}

// directRate sends n notes straight through the client, as many at once
// as the engine's workers, and returns notes per second.
func directRate(b *testing.B, p *psa, ids []string, n int) float64 {
	start := time.Now()
	var wg sync.WaitGroup
	next := make(chan int)
	for range writeback.DefaultConcurrency {
		wg.Go(func() {
			for i := range next {
				if _, err := p.acct.Provider.AddNote(b.Context(), ids[i%len(ids)], helpdesk.NewNote{Text: fmt.Sprint("direct ", i)}); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return float64(n) / time.Since(start).Seconds()
}

// outboxRate enqueues n notes and runs the engine until they are done;
// it returns notes per second from the start of the worker.
func outboxRate(b *testing.B, p *psa, ids []string, n int) float64 {
	var last store.Write
	for i := range n {
		w, _, err := p.acct.Writeback.Enqueue(b.Context(), writeback.Request{Op: store.OpAddNote, TicketID: ids[i%len(ids)],
			Author: "jane@horizon.example", Note: &writeback.AddNote{Text: fmt.Sprint("outbox ", i)}})
		must(b, err)
		last = w
	}
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	start := time.Now()
	go p.acct.Writeback.Run(ctx)
	deadline := time.Now().Add(time.Minute)
	for {
		st, err := p.acct.Store.WriteStats(b.Context(), p.acct.Scope)
		must(b, err)
		if st.ByState[store.WriteDone] >= int(last.ID) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("not drained within a minute: %v", st.ByState)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return float64(n) / time.Since(start).Seconds()
}
