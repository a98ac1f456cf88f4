package callback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
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
	DefaultReadAhead     = 2000
	DefaultPollInterval  = 10 * time.Second
	DefaultMaxAttempts   = 5
	DefaultFinishTimeout = 30 * time.Second
	DefaultCoalesce      = 100 * time.Millisecond
	DefaultClockSkew     = 2 * time.Second
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
	// BatchSize is the most fetches one pass makes. Default 100.
	BatchSize int
	// ReadAhead is how many pending callbacks a pass reads to coalesce:
	// every callback about a ticket among them is settled by the ticket's
	// one fetch, so a burst for one ticket costs one request however it
	// is spread over the backlog. Default 2,000.
	ReadAhead int
	// ClockSkew is how far the clocks of replicas receiving callbacks may
	// be apart; a callback stamped within it of a fetch's start is
	// fetched again. Default 2 s.
	ClockSkew time.Duration
	// MaxAttempts bounds the fetches of one callback whose failures are
	// retryable; then it is marked failed. Default 5.
	MaxAttempts int
	// Backoff returns the wait before retry n (1-based). Default
	// exponential from 2 s, capped at 5 min, with jitter; a rate limit's
	// Retry-After is honoured when longer.
	Backoff func(n int) time.Duration
	// FinishTimeout bounds the work that goes on once the context ends:
	// fetches continue for this long, then the callbacks not reached stay
	// accepted for the next process. Default 30 s.
	FinishTimeout time.Duration
	// Now is the clock (tests). Default time.Now.
	Now func() time.Time
	// Echo, when set, tells a callback about a ticket that Horizon itself
	// just wrote (its store copy already holds the PSA's answer): a
	// non-empty reason marks the callback processed without a fetch.
	Echo func(ctx context.Context, ticketID string) (reason string)
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
	c.ReadAhead = max(orDefault(c.ReadAhead, DefaultReadAhead), c.BatchSize)
	c.MaxAttempts = orDefault(c.MaxAttempts, DefaultMaxAttempts)
	c.ClockSkew = orDefault(c.ClockSkew, DefaultClockSkew)
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
	// covered is, per target, what its last successful fetch settles:
	// see pass.
	covered map[target]coverage
}

// coverage is what a successful fetch settles: every callback about its
// target with an ID up to id, or received before at.
type coverage struct {
	id int64
	at time.Time
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
		"provider", cfg.Scope.Provider), retry: map[int64]retryState{},
		covered: map[target]coverage{}}, nil
}

// Run dispatches until ctx ends. It starts by draining every callback
// already accepted (those of a previous process included), then runs a
// pass on each wake-up and at least every PollInterval. When ctx ends it
// finishes the pass in hand (bounded by FinishTimeout) and returns nil.
func (d *Dispatcher) Run(ctx context.Context) error {
	for {
		more, err := d.pass(ctx)
		if err != nil {
			d.log.Warn("callback dispatch pass failed", "err", err)
		}
		if ctx.Err() != nil {
			return nil
		}
		if more && err == nil {
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

// nextWait is the poll interval (up to a fifth less, at random, so that
// the dispatchers of accounts started together do not poll together), or
// less when a retry is due sooner.
func (d *Dispatcher) nextWait() time.Duration {
	wait := d.cfg.PollInterval - time.Duration(rand.Int64N(int64(d.cfg.PollInterval/5)+1))
	now := d.cfg.Now()
	for _, st := range d.retry {
		wait = min(wait, max(st.next.Sub(now), time.Millisecond))
	}
	return wait
}

// pass reads the due accepted callbacks (up to ReadAhead), coalesces them
// by the record to fetch, and settles up to BatchSize groups, oldest
// first. Fetches wait for the PSA's rate limit as long as it takes: a
// pass has no deadline of its own, because a client-side wait is
// queueing, not failure. Once ctx ends, fetches go on for FinishTimeout;
// the groups not reached then stay accepted. It reports whether more may
// be due at once.
//
// A fetch reads the record as it is after every change whose callback
// was received before the fetch began, so such callbacks met in later
// passes are settled without another fetch (covered). Two tests tell
// them, either enough: the ID (IDs are assigned in order of receipt, so
// an ID up to the highest this pass read was received before the pass
// began, even on another replica), and the receipt time, older than the
// fetch's start by more than ClockSkew (other replicas stamp it with
// their clocks).
func (d *Dispatcher) pass(ctx context.Context) (more bool, err error) {
	// One more than the read-ahead, beyond those waiting for a retry,
	// tells whether more is pending.
	limit := d.cfg.ReadAhead + len(d.retry) + 1
	recs, err := d.cfg.Store.PendingCallbacks(ctx, d.cfg.Scope, limit)
	if err != nil {
		return false, fmt.Errorf("read pending callbacks: %w", err)
	}
	complete := len(recs) < limit
	d.forgetSettled(recs, complete)
	groups := coalesce(d.due(recs))
	d.forgetCovered(groups, complete)
	var seen int64
	for _, rec := range recs {
		seen = max(seen, rec.ID)
	}
	fctx, stop := finishing(ctx, d.cfg.FinishTimeout)
	defer stop()
	fetches := 0
	for _, g := range groups {
		switch {
		case fctx.Err() != nil:
			return false, err // shutting down: the rest stay accepted
		case d.isCovered(g):
			err = errors.Join(err, d.mark(fctx, g, store.CallbackProcessed, "", store.NormalizeTime(d.cfg.Now())))
			continue
		case fetches == d.cfg.BatchSize:
			return true, err
		}
		fetches++
		began := d.cfg.Now().Add(-d.cfg.ClockSkew)
		ferr := d.fetch(fctx, g.target)
		if ferr == nil && g.target.id != "" {
			c := d.covered[g.target]
			d.covered[g.target] = coverage{id: max(c.id, seen), at: began}
		}
		err = errors.Join(err, d.settle(fctx, g, ferr))
		if errors.Is(ferr, helpdesk.ErrNotSent) {
			return false, err // no budget left now: the rest wait for the next pass
		}
	}
	return !complete, err
}

// isCovered reports whether a fetch already made settles every callback
// of the group.
func (d *Dispatcher) isCovered(g group) bool {
	c, ok := d.covered[g.target]
	return ok && g.target.id != "" && (slices.Max(g.ids) <= c.id || g.latest.Before(c.at))
}

// forgetCovered bounds the covered map: when the pass saw every pending
// callback, targets with none pending are dropped (a callback that
// arrives later has a higher ID than any recorded).
func (d *Dispatcher) forgetCovered(groups []group, complete bool) {
	if !complete {
		if len(d.covered) > 10*d.cfg.ReadAhead {
			clear(d.covered) // at worst one extra fetch per target
		}
		return
	}
	pending := make(map[target]bool, len(groups))
	for _, g := range groups {
		pending[g.target] = true
	}
	maps.DeleteFunc(d.covered, func(t target, _ coverage) bool { return !pending[t] })
}

// finishing returns a context that ignores ctx's end for grace more, so
// that the fetch in hand is not cut off the moment shutdown begins. It
// ends with Canceled (never a deadline): an interrupted fetch is a
// canceled sync run, not a failed one.
func finishing(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stopAfter := context.AfterFunc(ctx, func() { time.AfterFunc(grace, cancel) })
	return fctx, func() { stopAfter(); cancel() }
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
	maps.DeleteFunc(d.retry, func(id int64, _ retryState) bool { return !pending[id] })
}

// fetch re-fetches a target: tickets through the Fetcher, other records
// through a RecordFetcher when there is one. It returns errNoFetch for a
// target nobody can fetch.
func (d *Dispatcher) fetch(ctx context.Context, t target) error {
	switch {
	case t.id == "":
		return errNoFetch
	case t.entity == helpdesk.EntityTickets:
		if d.cfg.Echo != nil {
			if reason := d.cfg.Echo(ctx, t.id); reason != "" {
				return echoError(reason)
			}
		}
		return d.cfg.Fetcher.FetchTicket(ctx, t.id)
	}
	if rf, ok := d.cfg.Fetcher.(RecordFetcher); ok {
		return rf.FetchRecord(ctx, t.entity, t.id)
	}
	return errNoFetch
}

var errNoFetch = errors.New(ReasonLeftToPolling)

// echoError is a callback recognised as the echo of Horizon's own write.
type echoError string

func (e echoError) Error() string { return string(e) }

// markTimeout bounds one MarkCallbacks write.
const markTimeout = 10 * time.Second

// settle marks a group processed or failed, or schedules its retry. A
// fetch that was never sent (the client-side limiter could not let it
// through in time) or was cut off by shutdown leaves the group accepted,
// with no attempt counted. It returns the store's error when the group
// could not be marked.
func (d *Dispatcher) settle(ctx context.Context, g group, err error) error {
	now := store.NormalizeTime(d.cfg.Now())
	switch {
	case err == nil || errors.Is(err, errNoFetch) || errors.As(err, new(echoError)):
		reason := ""
		if err != nil {
			reason = err.Error()
		}
		return d.mark(ctx, g, store.CallbackProcessed, reason, now)
	case ctx.Err() != nil || errors.Is(err, helpdesk.ErrNotSent):
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

// mark records a group's outcome. The write outlives a shutdown's end of
// ctx (briefly): a fetch that succeeded should not be made again.
func (d *Dispatcher) mark(ctx context.Context, g group, result, reason string, at time.Time) error {
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancel()
	if err := d.cfg.Store.MarkCallbacks(mctx, d.cfg.Scope, g.ids, result, reason, at); err != nil {
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
	latest time.Time // the newest ReceivedAt among them
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
		if rec.ReceivedAt.After(out[i].latest) {
			out[i].latest = rec.ReceivedAt
		}
	}
	return out
}
