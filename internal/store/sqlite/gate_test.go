package sqlite

import (
	"context"
	"testing"
	"time"
)

// TestGateOrder: waiters get the writer in order of arrival, except the
// callback log's commits, which go first; a waiter whose context ends
// leaves the queue without taking a turn.
func TestGateOrder(t *testing.T) {
	g := &gate{}
	ctx := context.Background()
	if err := g.acquire(ctx, false); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 4)
	wait := func(name string, first bool) {
		go func() {
			if err := g.acquire(ctx, first); err != nil {
				t.Error(err)
				return
			}
			got <- name
			g.release()
		}()
	}
	queued := func(n int) { // the waiters are queued before the next one comes
		deadline := time.Now().Add(10 * time.Second)
		for {
			g.mu.Lock()
			q := len(g.first) + len(g.others)
			g.mu.Unlock()
			if q == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d waiters queued, want %d", q, n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	wait("sync-1", false)
	queued(1)
	cctx, cancel := context.WithCancel(ctx)
	gone := make(chan error, 1)
	go func() { gone <- g.acquire(cctx, false) }()
	queued(2)
	wait("sync-2", false)
	queued(3)
	wait("log", true)
	queued(4)
	cancel()
	if err := <-gone; err == nil {
		t.Fatal("a cancelled waiter took the writer")
	}
	g.release()
	var order []string
	for range 3 {
		order = append(order, <-got)
	}
	if want := []string{"log", "sync-1", "sync-2"}; order[0] != want[0] || order[1] != want[1] || order[2] != want[2] {
		t.Fatalf("order %v, want %v", order, want)
	}
	if err := g.acquire(ctx, false); err != nil || !g.held {
		t.Fatalf("the writer is not free after every waiter: %v", err)
	}
}
