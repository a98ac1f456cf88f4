package sqlite

import (
	"context"
	"slices"
	"sync"
)

// gate orders the writers of the one write connection, first come first
// served except that the callback log's group commit goes ahead of every
// other waiter. A webhook is answered only once its row is committed, and
// the PSA gives up after a few seconds; syncs, dispatches and leases can
// wait. Without it, a process serving many accounts queues the callback
// log behind hundreds of other writes at each commit. The log commits one
// batch at a time, so the others still get the writer between its
// commits.
type gate struct {
	mu     sync.Mutex
	held   bool
	first  []chan struct{} // waiting callback-log commits
	others []chan struct{}
}

// acquire waits for the writer; first goes ahead of the other waiters. It
// returns ctx's error when ctx ends first (and then holds nothing).
func (g *gate) acquire(ctx context.Context, first bool) error {
	g.mu.Lock()
	if !g.held {
		g.held = true
		g.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	if first {
		g.first = append(g.first, ch)
	} else {
		g.others = append(g.others, ch)
	}
	g.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	queued := false
	if i := slices.Index(g.first, ch); i >= 0 {
		g.first, queued = slices.Delete(g.first, i, i+1), true
	} else if i := slices.Index(g.others, ch); i >= 0 {
		g.others, queued = slices.Delete(g.others, i, i+1), true
	}
	g.mu.Unlock()
	if !queued { // handed over just as ctx ended: pass it on
		g.release()
	}
	return ctx.Err()
}

// release hands the writer to the next waiter, callback-log commits
// first.
func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	var next chan struct{}
	switch {
	case len(g.first) > 0:
		next, g.first = g.first[0], g.first[1:]
	case len(g.others) > 0:
		next, g.others = g.others[0], g.others[1:]
	default:
		g.held = false
		return
	}
	close(next) // held stays true: the waiter owns it now
}
