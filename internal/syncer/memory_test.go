package syncer

import (
	"bytes"
	"context"
	"iter"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// streamPSA generates n tickets of about rawSize bytes each, a page at a
// time, keeping none of them: whatever the heap holds during a sync is the
// syncer's.
type streamPSA struct {
	fakePSA
	n, pageSize, rawSize int
}

func newStreamPSA(n, pageSize, rawSize int) *streamPSA {
	p := &streamPSA{fakePSA: *newFakePSA(), n: n, pageSize: pageSize, rawSize: rawSize}
	p.caps.MaxPageSize = pageSize
	return p
}

func (p *streamPSA) Tickets(ctx context.Context, q helpdesk.Query) iter.Seq2[[]helpdesk.Ticket, error] {
	return func(yield func([]helpdesk.Ticket, error) bool) {
		pad := bytes.Repeat([]byte("x"), p.rawSize)
		for start := 0; start < p.n; start += p.pageSize {
			if ctx.Err() != nil {
				yield(nil, ctx.Err())
				return
			}
			page := make([]helpdesk.Ticket, 0, p.pageSize)
			for i := start; i < min(start+p.pageSize, p.n); i++ {
				t := ticket(i+1, t0.Add(-time.Duration(i)*time.Second))
				t.Raw = append([]byte(`{"id":`+strconv.Itoa(i+1)+`,"pad":"`), pad...)
				t.Raw = append(t.Raw, `"}`...)
				page = append(page, t)
			}
			if !yield(page, nil) {
				return
			}
		}
	}
}

// heapStore counts writes and samples the live heap every few pages,
// retaining no record.
type heapStore struct {
	memStore
	every   int
	written int
	peak    uint64
}

func (h *heapStore) WriteBatch(ctx context.Context, s store.Scope, b store.Batch) (store.UpsertResult, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.writes++
	h.written += len(b.Tickets)
	if h.writes%h.every == 0 {
		h.peak = max(h.peak, liveHeap())
	}
	if b.Watermark != nil {
		h.watermarks[b.Entity] = *b.Watermark
	}
	return store.UpsertResult{Created: len(b.Tickets)}, nil
}

// liveHeap returns the bytes of live heap objects after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestMemoryFlat streams 100,000 tickets of about 2 KB (some 200 MB in
// all) through a backfill and checks that the live heap never grows by
// more than a few pages: nothing in the pipeline retains records.
func TestMemoryFlat(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 20_000
	}
	const pageSize, rawSize = 1000, 2048
	psa := newStreamPSA(n, pageSize, rawSize)
	st := &heapStore{memStore: *newMemStore(), every: 5}
	s, err := New(psa, st, Options{Entities: []helpdesk.Entity{helpdesk.EntityTickets}, Logger: quietLogger(),
		Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	base := liveHeap()
	if _, err := s.SyncEntity(context.Background(), helpdesk.EntityTickets, store.TriggerPoll, false); err != nil {
		t.Fatal(err)
	}
	if st.written != n {
		t.Fatalf("wrote %d tickets, want %d", st.written, n)
	}
	page := uint64(pageSize * (rawSize + 512))
	growth := int64(st.peak) - int64(base)
	t.Logf("%d tickets (%.0f MB streamed): peak live heap growth %.1f MB (%.1f pages)",
		n, float64(n*(rawSize+512))/1e6, float64(growth)/1e6, float64(growth)/float64(page))
	if growth > int64(6*page) {
		t.Errorf("live heap grew by %d bytes, more than 6 pages of %d", growth, page)
	}
}
