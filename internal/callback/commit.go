package callback

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/horizon/reconciler/internal/store"
)

// ErrStopped is returned to deliveries that arrive after the receiver
// stopped (Run's context ended). They are answered 503 so that the PSA
// retries. Deliveries arriving before Run starts wait for it, up to
// Config.AckTimeout.
var ErrStopped = errors.New("callback receiver not running")

// commitReq is one delivery's rows waiting for a group commit.
type commitReq struct {
	recs []store.CallbackRecord
	done chan commitResult // buffered: the committer never blocks on it
}

// commitResult is the outcome of the transaction that held a request's
// rows: per row the ID and whether it was a duplicate, or the error.
type commitResult struct {
	ids []int64
	dup []bool
	err error
}

// committer group-commits callback-log rows: each of its goroutines takes
// the first waiting request, gathers every other request already waiting
// (and, with a delay, those arriving within it) up to a row budget, and
// writes them all in one InsertCallbacks transaction. Requests are handed
// over on an unbuffered channel, so a request is either taken by a running
// goroutine or refused with ErrStopped: none is ever left behind.
type committer struct {
	st        store.Store
	scope     store.Scope
	batchSize int
	delay     time.Duration
	timeout   time.Duration // bound on one transaction

	reqs    chan *commitReq
	mu      sync.Mutex
	running int
	stopped chan struct{} // closed once the last running goroutine ends
	closed  bool          // stopped is closed
}

func newCommitter(st store.Store, scope store.Scope, batchSize int, delay, timeout time.Duration) *committer {
	c := &committer{st: st, scope: scope, batchSize: batchSize, delay: delay, timeout: timeout,
		reqs: make(chan *commitReq), stopped: make(chan struct{})}
	return c
}

// run starts n committing goroutines and returns when ctx is done and all
// of them have finished the transaction in hand.
func (c *committer) run(ctx context.Context, n int) {
	c.mu.Lock()
	if c.closed {
		c.stopped, c.closed = make(chan struct{}), false
	}
	c.running += n
	c.mu.Unlock()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { c.loop(ctx) })
	}
	wg.Wait()
	c.mu.Lock()
	c.running -= n
	if c.running == 0 {
		close(c.stopped)
		c.closed = true
	}
	c.mu.Unlock()
}

func (c *committer) loop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case first := <-c.reqs:
			c.flush(ctx, c.collect(ctx, first))
		}
	}
}

// collect gathers waiting requests behind first, up to batchSize rows.
// Without a delay it takes only those already waiting, so an idle
// receiver adds no latency; with one it also waits up to delay for more
// (less when ctx ends).
func (c *committer) collect(ctx context.Context, first *commitReq) []*commitReq {
	batch := []*commitReq{first}
	rows := len(first.recs)
	var deadline <-chan time.Time
	if c.delay > 0 {
		t := time.NewTimer(c.delay)
		defer t.Stop()
		deadline = t.C
	}
	for rows < c.batchSize {
		select {
		case r := <-c.reqs:
			batch = append(batch, r)
			rows += len(r.recs)
			continue
		default:
		}
		if deadline == nil {
			break
		}
		select {
		case r := <-c.reqs:
			batch = append(batch, r)
			rows += len(r.recs)
		case <-deadline:
			return batch
		case <-ctx.Done():
			return batch
		}
	}
	return batch
}

// flush writes a batch in one transaction and hands each request its
// share of the result. The transaction outlives ctx (a shutdown lets it
// finish) but not c.timeout.
func (c *committer) flush(ctx context.Context, batch []*commitReq) {
	var all []store.CallbackRecord
	for _, r := range batch {
		all = append(all, r.recs...)
	}
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
	defer cancel()
	ids, dup, err := c.st.InsertCallbacks(tctx, c.scope, all)
	if err == nil && (len(ids) != len(all) || len(dup) != len(all)) {
		err = fmt.Errorf("store returned %d ids and %d flags for %d rows", len(ids), len(dup), len(all))
	}
	if err != nil {
		err = fmt.Errorf("log callbacks: %w", err)
	}
	off := 0
	for _, r := range batch {
		res := commitResult{err: err}
		if err == nil {
			n := len(r.recs)
			res.ids, res.dup = ids[off:off+n:off+n], dup[off:off+n:off+n]
			off += n
		}
		r.done <- res
	}
}

// submit hands recs to a committing goroutine and waits for their
// transaction. It returns ErrStopped once the committer stopped, and
// ctx's error when ctx ends first (the rows may still be committed: a
// retried delivery is then a duplicate).
func (c *committer) submit(ctx context.Context, recs []store.CallbackRecord) (commitResult, error) {
	req := &commitReq{recs: recs, done: make(chan commitResult, 1)}
	c.mu.Lock()
	stopped := c.stopped
	c.mu.Unlock()
	select {
	case c.reqs <- req:
	case <-stopped:
		return commitResult{}, ErrStopped
	case <-ctx.Done():
		return commitResult{}, fmt.Errorf("wait for callback log: %w", context.Cause(ctx))
	}
	select {
	case res := <-req.done:
		return res, res.err
	case <-ctx.Done():
		return commitResult{}, fmt.Errorf("wait for callback log commit: %w", context.Cause(ctx))
	}
}
