package writeback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/metrics"
	"github.com/horizon/reconciler/internal/store"
)

// Engine defaults.
const (
	DefaultConcurrency  = 4
	DefaultLease        = time.Minute
	DefaultPollInterval = 2 * time.Second
)

// Options configure an Engine. Store, Scope, Provider and Config are
// required.
type Options struct {
	Store store.Store
	Scope store.Scope
	// Provider is the account's PSA client, the one sync uses, so that
	// writes share its rate limiter.
	Provider helpdesk.Provider
	Config   *config.Config
	Metrics  *metrics.Metrics // nil: none
	Logger   *slog.Logger     // nil: slog.Default()
	// Concurrency is how many writes go out at once (to different
	// tickets). Default 4.
	Concurrency int
	// Lease is how long a claimed write is held before another attempt
	// may take it over (as uncertain): after a crash, its writes wait this
	// long. Default 1 min; one attempt is bounded to 80 % of it (a
	// canceled create is uncertain, and looked up before it is resent).
	Lease time.Duration
	// PollInterval is the longest wait between claims when nothing wakes
	// the worker (writes enqueued by other processes, retries), under Run
	// (RunFed has no poll of its own). Default 2 s.
	PollInterval time.Duration
	// Backoff returns the wait before retry n (1-based). Default
	// exponential from 2 s, capped at 5 min, with jitter; a rate limit's
	// Retry-After is honoured when longer.
	Backoff func(n int) time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Engine enqueues writes and delivers them. Enqueue is safe on every
// replica; Run (or RunFed, in a process feeding many engines) belongs on
// the account's leader.
type Engine struct {
	o    Options
	log  *slog.Logger
	wake chan struct{}

	apiMu    sync.Mutex
	apiUser  helpdesk.Member
	apiKnown bool
}

// New returns an engine.
func New(o Options) (*Engine, error) {
	if o.Store == nil || o.Provider == nil || o.Config == nil {
		return nil, errors.New("writeback: engine needs Store, Provider and Config")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.Backoff == nil {
		o.Backoff = DefaultBackoff
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Engine{o: o, log: o.Logger.With("component", "writeback"), wake: make(chan struct{}, 1)}, nil
}

// DefaultBackoff is 2 s × 2^(n-1), capped at 5 min, with ±20 % jitter.
func DefaultBackoff(n int) time.Duration {
	d := min(2*time.Second<<min(max(n-1, 0), 8), 5*time.Minute)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

func (e *Engine) settings() *config.Config { return e.o.Config }

// Wake starts a claim early (a write was enqueued or a slot freed).
func (e *Engine) Wake() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run delivers due writes until ctx ends, up to Concurrency at once. It
// claims when woken and every PollInterval (for writes enqueued by other
// processes), and then records the backlog gauges. While the file says
// suspend: true it claims nothing: writes wait, pending. On return every
// delivery it started has recorded its outcome.
func (e *Engine) Run(ctx context.Context) error {
	tick := time.NewTicker(e.o.PollInterval)
	defer tick.Stop()
	return e.run(ctx, tick.C)
}

// RunFed is Run without a poll of its own, for a process running many
// accounts: one loop reads every account's backlog at once and hands each
// engine its own (Feed). Between feeds the engine claims when woken: a
// write enqueued through it, a retry it scheduled, a slot freed.
func (e *Engine) RunFed(ctx context.Context) error {
	return e.run(ctx, nil)
}

// Feed hands the engine its scope's backlog, read for many engines at
// once (the zero backlog: the scope has none). It sets the backlog gauges
// and wakes the engine when a write is due.
func (e *Engine) Feed(b store.OutboxBacklog) {
	now := e.o.Now()
	e.setBacklog(b.Pending, b.Oldest, now)
	if !b.Due.IsZero() && !b.Due.After(now) {
		e.Wake()
	}
}

// run claims when woken and at every poll (nil: never), until ctx ends.
func (e *Engine) run(ctx context.Context, poll <-chan time.Time) error {
	slots := make(chan struct{}, e.o.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		if n := cap(slots) - len(slots); n > 0 && !e.o.Config.Suspend && ctx.Err() == nil {
			ws, err := e.o.Store.ClaimWrites(ctx, e.o.Scope, n, e.o.Lease, e.o.Now())
			if err != nil && ctx.Err() == nil {
				e.log.Warn("claim writes", "err", err)
			}
			for _, w := range ws {
				slots <- struct{}{}
				wg.Add(1)
				go func() {
					defer wg.Done()
					e.process(ctx, w)
					<-slots
					e.Wake()
				}()
			}
			if len(ws) == n {
				continue // more may be due
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-e.wake:
		case <-poll:
			if err := e.RecordBacklog(ctx); err != nil && ctx.Err() == nil {
				e.log.Warn("record outbox backlog", "err", err)
			}
		}
	}
}

// process delivers one claimed write and records its outcome, even when
// ctx ends meanwhile (the outcome of a request already sent must not be
// lost).
func (e *Engine) process(ctx context.Context, w store.Write) {
	start := e.o.Now()
	actx, cancel := context.WithTimeout(ctx, e.o.Lease*4/5)
	o := e.deliver(actx, w)
	cancel()
	o.Attempt, o.Duration, o.At = w.Attempts, e.o.Now().Sub(start), e.o.Now()
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := e.o.Store.FinishWrite(fctx, e.o.Scope, w.ID, o); err != nil {
		e.log.Error("record write outcome", "write", w.ID, "state", o.State, "err", err)
		return
	}
	e.observe(w, o)
	if o.State == store.WritePending { // claim it again as soon as it is due
		time.AfterFunc(o.Next.Sub(e.o.Now()), e.Wake)
	}
	e.log.Info("write", "write", w.ID, "op", w.Op, "ticket", w.TicketID, "state", o.State,
		"attempt", w.Attempts, "answer", o.Answer)
}

func (e *Engine) observe(w store.Write, o store.WriteOutcome) {
	if e.o.Metrics == nil {
		return
	}
	result := o.State
	if result == store.WritePending {
		result = "retry"
	}
	e.o.Metrics.Writeback.Total.WithLabelValues(e.o.Scope.Provider, w.Op, result).Inc()
	e.o.Metrics.Writeback.Duration.WithLabelValues(w.Op).Observe(o.Duration.Seconds())
	e.o.Metrics.OutboxWrites.WithLabelValues(w.Op, result).Inc()
}

// RecordBacklog sets the outbox gauges from the store.
func (e *Engine) RecordBacklog(ctx context.Context) error {
	st, err := e.o.Store.OutboxStats(ctx, e.o.Scope)
	if err != nil {
		return fmt.Errorf("writeback: outbox backlog: %w", err)
	}
	e.setBacklog(st.Pending, st.Oldest, e.o.Now())
	return nil
}

// setBacklog sets the outbox gauges: pending items and the age of the
// oldest (0 with none).
func (e *Engine) setBacklog(pending int, oldest, now time.Time) {
	if e.o.Metrics == nil {
		return
	}
	e.o.Metrics.OutboxPending.Set(float64(pending))
	age := 0.0
	if !oldest.IsZero() {
		age = now.Sub(oldest).Seconds()
	}
	e.o.Metrics.OutboxOldestAge.Set(age)
}

// apiUserMember returns the PSA user Horizon's credentials act as. A
// definite answer (the user, or ErrUnsupported) is asked once per engine.
func (e *Engine) apiUserMember(ctx context.Context) (helpdesk.Member, error) {
	e.apiMu.Lock()
	defer e.apiMu.Unlock()
	if e.apiKnown {
		return e.apiUser, nil
	}
	m, err := e.o.Provider.APIUser(ctx)
	if err == nil {
		e.apiUser, e.apiKnown = m, true
	}
	return m, err
}

// EchoWindow is how long after a write is done a callback about its
// ticket counts as the write's echo.
const EchoWindow = 2 * time.Minute

// EchoOf recognises the PSA's callback for a change Horizon made itself:
// when a write to the ticket was done within EchoWindow, the store
// already holds the PSA's answer, so the callback needs no fetch. A
// change someone else made in that window is left to the polling sweep.
// It returns the reason to log, or "" when the callback is no echo (or
// the store cannot tell).
func (e *Engine) EchoOf(ctx context.Context, ticketID string) string {
	ws, err := e.o.Store.Writes(ctx, e.o.Scope, store.WriteFilter{TicketID: ticketID,
		States: []string{store.WriteDone}, FinishedSince: e.o.Now().Add(-EchoWindow), Limit: 1})
	if err != nil || len(ws) == 0 {
		return ""
	}
	return fmt.Sprintf("echo of Horizon's write %d (%s)", ws[0].ID, ws[0].Op)
}
