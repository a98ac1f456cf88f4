package callback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// Fetcher re-fetches one ticket from the PSA and stores it (the sync
// engine, recording a sync run with trigger "callback"). It must be
// idempotent. A ticket the PSA no longer has is not an error: the fetcher
// stores a tombstone and returns nil. Errors for which
// helpdesk.Retryable is true are retried with backoff; others fail the
// callbacks at once.
type Fetcher interface {
	FetchTicket(ctx context.Context, externalID string) error
}

// RecordFetcher is optionally implemented by a Fetcher that can also
// re-fetch contacts, companies and other records. Without it, callbacks
// about them are marked processed and left to the polling sweep.
type RecordFetcher interface {
	FetchRecord(ctx context.Context, entity helpdesk.Entity, externalID string) error
}

// FetcherFunc adapts a function to Fetcher.
type FetcherFunc func(ctx context.Context, externalID string) error

// FetchTicket implements Fetcher.
func (f FetcherFunc) FetchTicket(ctx context.Context, externalID string) error {
	return f(ctx, externalID)
}

// TicketSyncer is the part of the sync engine a callback needs: fetch one
// ticket from the PSA and store it, recording a sync run with trigger.
type TicketSyncer interface {
	SyncTicket(ctx context.Context, externalID, trigger string) (store.SyncRun, error)
}

// SyncFetcher adapts a TicketSyncer (the syncer package's Syncer) to
// Fetcher: each fetch is a sync run with trigger store.TriggerCallback.
func SyncFetcher(s TicketSyncer) Fetcher {
	return FetcherFunc(func(ctx context.Context, externalID string) error {
		_, err := s.SyncTicket(ctx, externalID, store.TriggerCallback)
		return err
	})
}

// Dispatcher defaults.
const (
	DefaultDispatchBatch = 100
	DefaultPollInterval  = 10 * time.Second
	DefaultMaxAttempts   = 5
	DefaultFinishTimeout = 30 * time.Second
	DefaultCoalesce      = 100 * time.Millisecond
)

// ReasonLeftToPolling is recorded on callbacks about records the Fetcher
// cannot fetch one at a time.
const ReasonLeftToPolling = "no single-record fetch for this entity; left to the polling sweep"

// DispatcherConfig configures a Dispatcher. Scope, Store and Fetcher are
// required.
type DispatcherConfig struct {
	Scope   store.Scope
	Store   store.Store
	Fetcher Fetcher
	Logger  *slog.Logger // nil: slog.Default()
	// Wake, when set, starts a pass early (Receiver.Accepted).
	Wake <-chan struct{}
	// Coalesce is how long a pass waits after a wake-up so that a burst
	// of callbacks for one ticket becomes one fetch. Default 100 ms;
	// negative: no wait.
	Coalesce time.Duration
	// PollInterval is the longest wait between passes, which picks up
	// callbacks other replicas accepted and retries that are due.
	// Default 10 s.
	PollInterval time.Duration
	// BatchSize is the most callbacks one pass takes. Default 100.
	BatchSize int
	// MaxAttempts bounds the fetches of one callback whose failures are
	// retryable; then it is marked failed. Default 5.
	MaxAttempts int
	// Backoff returns the wait before retry n (1-based). Default
	// exponential from 2 s, capped at 5 min, with jitter; a rate limit's
	// Retry-After is honoured when longer.
	Backoff func(n int) time.Duration
	// FinishTimeout bounds the pass in hand when the context ends.
	// Default 30 s.
	FinishTimeout time.Duration
	// Now is the clock (tests). Default time.Now.
	Now func() time.Time
}

func (c *DispatcherConfig) setDefaults() error {
	if c.Store == nil || c.Fetcher == nil {
		return errors.New("callback: dispatcher config needs Store and Fetcher")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Coalesce = orDefault(c.Coalesce, DefaultCoalesce)
	c.PollInterval = orDefault(c.PollInterval, DefaultPollInterval)
	c.BatchSize = orDefault(c.BatchSize, DefaultDispatchBatch)
	c.MaxAttempts = orDefault(c.MaxAttempts, DefaultMaxAttempts)
	c.FinishTimeout = orDefault(c.FinishTimeout, DefaultFinishTimeout)
	if c.Backoff == nil {
		c.Backoff = DefaultBackoff
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// DefaultBackoff is 2 s × 2^(n-1), capped at 5 min, with ±20 % jitter.
func DefaultBackoff(n int) time.Duration {
	d := 2 * time.Second << min(n-1, 8)
	d = min(d, 5*time.Minute)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// Dispatcher turns accepted callbacks into fetches. One Dispatcher runs
// per account (on the leader, in a multi-replica install; two would only
// fetch twice).
type Dispatcher struct {
	cfg   DispatcherConfig
	log   *slog.Logger
	retry map[int64]retryState // callbacks waiting for a retry
}

// retryState is a callback's failed attempts so far and when it is next
// due. It lives in memory: after a restart, a callback still accepted is
// tried afresh.
type retryState struct {
	attempts int
	next     time.Time
}

// NewDispatcher returns a Dispatcher.
func NewDispatcher(cfg DispatcherConfig) (*Dispatcher, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	return &Dispatcher{cfg: cfg, log: cfg.Logger.With("component", "callback-dispatcher",
		"provider", cfg.Scope.Provider), retry: map[int64]retryState{}}, nil
}

// Run dispatches until ctx ends. It starts by draining every callback
// already accepted (those of a previous process included), then runs a
// pass on each wake-up and at least every PollInterval. When ctx ends it
// finishes the pass in hand (bounded by FinishTimeout) and returns nil.
func (d *Dispatcher) Run(ctx context.Context) error {
	for {
		full, err := d.pass(ctx)
		if err != nil {
			d.log.Warn("callback dispatch pass failed", "err", err)
		}
		if ctx.Err() != nil {
			return nil
		}
		if full && err == nil {
			continue
		}
		if !d.wait(ctx) {
			return nil
		}
	}
}

// wait blocks until a wake-up (plus the coalescing delay), the poll
// interval or the next due retry. It returns false when ctx ended.
func (d *Dispatcher) wait(ctx context.Context) bool {
	t := time.NewTimer(d.nextWait())
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	case <-d.cfg.Wake:
	}
	if d.cfg.Coalesce <= 0 {
		return true
	}
	t.Reset(d.cfg.Coalesce)
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// nextWait is the poll interval, or less when a retry is due sooner.
func (d *Dispatcher) nextWait() time.Duration {
	wait := d.cfg.PollInterval
	now := d.cfg.Now()
	for _, st := range d.retry {
		wait = min(wait, max(st.next.Sub(now), time.Millisecond))
	}
	return wait
}

// pass takes the due accepted callbacks, coalesces them by the record to
// fetch, and settles each group. It reports whether it took a full batch
// (more may be waiting).
func (d *Dispatcher) pass(ctx context.Context) (full bool, err error) {
	// One more than a batch, beyond those waiting for a retry, tells
	// whether more is due.
	limit := d.cfg.BatchSize + len(d.retry) + 1
	recs, err := d.cfg.Store.PendingCallbacks(ctx, d.cfg.Scope, limit)
	if err != nil {
		return false, fmt.Errorf("read pending callbacks: %w", err)
	}
	d.forgetSettled(recs, len(recs) < limit)
	due := d.due(recs)
	full = len(due) > d.cfg.BatchSize
	if full {
		due = due[:d.cfg.BatchSize]
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.FinishTimeout)
	defer cancel()
	for _, g := range coalesce(due) {
		if merr := d.settle(wctx, g, d.fetch(wctx, g.target)); merr != nil && err == nil {
			err = merr
		}
	}
	return full, err
}

// due drops the callbacks waiting for a retry that is not yet due.
func (d *Dispatcher) due(recs []store.CallbackRecord) []store.CallbackRecord {
	now := d.cfg.Now()
	out := recs[:0:0]
	for _, rec := range recs {
		if st, ok := d.retry[rec.ID]; ok && now.Before(st.next) {
			continue
		}
		out = append(out, rec)
	}
	return out
}

// forgetSettled drops retry state of callbacks no longer pending (another
// replica settled them), when recs is the whole pending set.
func (d *Dispatcher) forgetSettled(recs []store.CallbackRecord, complete bool) {
	if !complete || len(d.retry) == 0 {
		return
	}
	pending := make(map[int64]bool, len(recs))
	for _, rec := range recs {
		pending[rec.ID] = true
	}
	for id := range d.retry {
		if !pending[id] {
			delete(d.retry, id)
		}
	}
}

// fetch re-fetches a target: tickets through the Fetcher, other records
// through a RecordFetcher when there is one. It returns errNoFetch for a
// target nobody can fetch.
func (d *Dispatcher) fetch(ctx context.Context, t target) error {
	switch {
	case t.id == "":
		return errNoFetch
	case t.entity == helpdesk.EntityTickets:
		return d.cfg.Fetcher.FetchTicket(ctx, t.id)
	}
	if rf, ok := d.cfg.Fetcher.(RecordFetcher); ok {
		return rf.FetchRecord(ctx, t.entity, t.id)
	}
	return errNoFetch
}

var errNoFetch = errors.New(ReasonLeftToPolling)

// settle marks a group processed or failed, or schedules its retry. It
// returns the store's error when the group could not be marked.
func (d *Dispatcher) settle(ctx context.Context, g group, err error) error {
	now := store.NormalizeTime(d.cfg.Now())
	switch {
	case err == nil || errors.Is(err, errNoFetch):
		reason := ""
		if err != nil {
			reason = ReasonLeftToPolling
		}
		return d.mark(ctx, g, store.CallbackProcessed, reason, now)
	case ctx.Err() != nil:
		// Shutting down past FinishTimeout: leave them accepted for the
		// next process.
		return nil
	case helpdesk.Retryable(err) && d.attempts(g)+1 < d.cfg.MaxAttempts:
		d.schedule(g, err, now)
		return nil
	default:
		reason := sanitize(fmt.Sprintf("fetch %s %s: %v", g.target.entity, g.target.id, err), 500)
		d.log.Warn("callback fetch failed", "entity", g.target.entity, "id", g.target.id,
			"attempts", d.attempts(g)+1, "err", err)
		return d.mark(ctx, g, store.CallbackFailed, reason, now)
	}
}

func (d *Dispatcher) mark(ctx context.Context, g group, result, reason string, at time.Time) error {
	if err := d.cfg.Store.MarkCallbacks(ctx, d.cfg.Scope, g.ids, result, reason, at); err != nil {
		return fmt.Errorf("mark callbacks %s: %w", result, err)
	}
	for _, id := range g.ids {
		delete(d.retry, id)
	}
	return nil
}

// attempts is the most failed attempts of any callback in the group.
func (d *Dispatcher) attempts(g group) int {
	n := 0
	for _, id := range g.ids {
		n = max(n, d.retry[id].attempts)
	}
	return n
}

// schedule records a failed attempt and when to retry.
func (d *Dispatcher) schedule(g group, err error, now time.Time) {
	n := d.attempts(g) + 1
	wait := max(d.cfg.Backoff(n), helpdesk.RetryAfter(err))
	d.log.Info("callback fetch will be retried", "entity", g.target.entity, "id", g.target.id,
		"attempt", n, "in", wait, "err", err)
	for _, id := range g.ids {
		d.retry[id] = retryState{attempts: n, next: now.Add(wait)}
	}
}

// target is the record a callback makes the dispatcher fetch.
type target struct {
	entity helpdesk.Entity
	id     string
}

// group is the callbacks coalesced into one fetch.
type group struct {
	target target
	ids    []int64
}

// targetOf returns what to fetch for a callback: the ticket for ticket
// events, the parent ticket for notes and time entries that name one
// (ExternalIDs[1]), else the record itself.
func targetOf(rec store.CallbackRecord) target {
	e, _ := entityOf(rec.Event)
	if len(rec.ExternalIDs) == 0 {
		return target{entity: e}
	}
	if (e == helpdesk.EntityNotes || e == helpdesk.EntityTimeEntries) && len(rec.ExternalIDs) > 1 {
		return target{entity: helpdesk.EntityTickets, id: rec.ExternalIDs[1]}
	}
	return target{entity: e, id: rec.ExternalIDs[0]}
}

// coalesce groups callbacks by target, in order of first appearance
// (oldest first).
func coalesce(recs []store.CallbackRecord) []group {
	idx := map[target]int{}
	var out []group
	for _, rec := range recs {
		t := targetOf(rec)
		i, ok := idx[t]
		if !ok || t.id == "" {
			i = len(out)
			idx[t] = i
			out = append(out, group{target: t})
		}
		out[i].ids = append(out[i].ids, rec.ID)
	}
	return out
}
