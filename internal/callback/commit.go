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
// Config.AckTimeout (with a shared Log, for the Log's Run).
var ErrStopped = errors.New("callback receiver not running")

// commitReq is one delivery's rows waiting for a group commit.
type commitReq struct {
	scope store.Scope
	recs  []store.CallbackRecord
	done  chan commitResult // buffered: the committer never blocks on it
}

// commitResult is the outcome of the transaction that held a request's
// rows: per row the ID and whether it was a duplicate, or the error.
type commitResult struct {
	ids []int64
	dup []bool
	err error
}

// LogOptions configure a Log; zero fields take the receiver defaults.
type LogOptions struct {
	// BatchSize is the most rows one group commit gathers. Default 256.
	BatchSize int
	// BatchDelay is how long a committer waits for more deliveries
	// before committing; 0 commits what is waiting at once.
	BatchDelay time.Duration
	// Timeout bounds one transaction. Default DefaultAckTimeout.
	Timeout time.Duration
	// Committers is the number of concurrent group commits. Default 1.
	Committers int
}

// Log is the callback log's group commit. A receiver has one of its own
// unless Config.Log hands it one to share: a process serving many
// accounts shares one across their receivers, so that a webhook for one
// account and a webhook for another, arriving together, are committed
// together. Each account's webhooks are rare enough that a log per
// account would commit nearly every webhook alone.
type Log struct{ c *committer }

// NewLog returns a Log writing to st. Run it with Run.
func NewLog(st store.Store, o LogOptions) *Log {
	return &Log{c: newCommitter(st, orDefault(o.BatchSize, DefaultBatchSize), o.BatchDelay,
		orDefault(o.Timeout, DefaultAckTimeout), orDefault(o.Committers, 1))}
}

// Run commits deliveries until ctx ends; the commits in flight finish
// first. Deliveries submitted after that are answered 503.
func (l *Log) Run(ctx context.Context) { l.c.run(ctx) }

// committer group-commits callback-log rows: each of its goroutines takes
// the first waiting request, gathers every other request already waiting
// (and, with a delay, those arriving within it) up to a row budget, and
// writes them all, whatever their accounts, in one InsertCallbackBatches
// transaction. Requests are handed over on an unbuffered channel, so a
// request is either taken by a running goroutine or refused with
// ErrStopped: none is ever left behind.
type committer struct {
	st         store.Store
	batchSize  int
	delay      time.Duration
	timeout    time.Duration // bound on one transaction
	committers int

	reqs    chan *commitReq
	mu      sync.Mutex
	running int
	stopped chan struct{} // closed once the last running goroutine ends
	closed  bool          // stopped is closed
}

func newCommitter(st store.Store, batchSize int, delay, timeout time.Duration, committers int) *committer {
	c := &committer{st: st, batchSize: batchSize, delay: delay, timeout: timeout, committers: committers,
		reqs: make(chan *commitReq), stopped: make(chan struct{})}
	return c
}

// run starts the committing goroutines and returns when ctx is done and
// all of them have finished the transaction in hand.
func (c *committer) run(ctx context.Context) {
	n := c.committers
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
// finish) but not c.timeout. When a batch of several accounts fails, each
// account's part is tried on its own, so that rows one account cannot
// write fail only that account's webhooks.
func (c *committer) flush(ctx context.Context, batch []*commitReq) {
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
	defer cancel()
	err := c.insert(tctx, batch)
	if err == nil {
		return
	}
	byScope := map[store.Scope][]*commitReq{}
	var order []store.Scope
	for _, r := range batch {
		if byScope[r.scope] == nil {
			order = append(order, r.scope)
		}
		byScope[r.scope] = append(byScope[r.scope], r)
	}
	if len(order) == 1 {
		answerAll(batch, err)
		return
	}
	for _, sc := range order {
		if err := c.insert(tctx, byScope[sc]); err != nil {
			answerAll(byScope[sc], err)
		}
	}
}

// insert writes the requests' rows in one transaction and, when it
// commits, answers each request.
func (c *committer) insert(ctx context.Context, batch []*commitReq) error {
	bs := make([]store.CallbackBatch, len(batch))
	for i, r := range batch {
		bs[i] = store.CallbackBatch{Scope: r.scope, Records: r.recs}
	}
	err := c.st.InsertCallbackBatches(ctx, bs)
	for i := range bs {
		if err == nil && (len(bs[i].IDs) != len(bs[i].Records) || len(bs[i].Dup) != len(bs[i].Records)) {
			err = fmt.Errorf("store returned %d ids and %d flags for %d rows", len(bs[i].IDs), len(bs[i].Dup), len(bs[i].Records))
		}
	}
	if err != nil {
		return fmt.Errorf("log callbacks: %w", err)
	}
	for i, r := range batch {
		r.done <- commitResult{ids: bs[i].IDs, dup: bs[i].Dup}
	}
	return nil
}

func answerAll(batch []*commitReq, err error) {
	for _, r := range batch {
		r.done <- commitResult{err: err}
	}
}

// submit hands recs to a committing goroutine and waits for their
// transaction. It returns ErrStopped once the committer or the receiver
// (closed) stopped, and ctx's error when ctx ends first (the rows may
// still be committed: a retried delivery is then a duplicate).
func (c *committer) submit(ctx context.Context, closed <-chan struct{}, sc store.Scope, recs []store.CallbackRecord) (commitResult, error) {
	req := &commitReq{scope: sc, recs: recs, done: make(chan commitResult, 1)}
	c.mu.Lock()
	stopped := c.stopped
	c.mu.Unlock()
	select { // a stopped receiver refuses even while a committer is free
	case <-closed:
		return commitResult{}, ErrStopped
	default:
	}
	select {
	case c.reqs <- req:
	case <-stopped:
		return commitResult{}, ErrStopped
	case <-closed:
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
