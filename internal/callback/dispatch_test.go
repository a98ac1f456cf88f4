package callback

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

var quiet = slog.New(slog.DiscardHandler)

// fakeFetcher records fetches; errs[id] is returned (and consumed, one
// per call) for that id.
type fakeFetcher struct {
	mu    sync.Mutex
	calls []string
	errs  map[string][]error
	// block, when set, makes FetchTicket wait for it to be closed, after
	// signalling started.
	block   chan struct{}
	started chan struct{}
}

func (f *fakeFetcher) FetchTicket(ctx context.Context, id string) error {
	if f.block != nil {
		f.started <- struct{}{}
		<-f.block
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, id)
	if errs := f.errs[id]; len(errs) > 0 {
		f.errs[id] = errs[1:]
		return errs[0]
	}
	return nil
}

func (f *fakeFetcher) fetched() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// recordFetcher also fetches other records.
type recordFetcher struct {
	fakeFetcher
	records []string
}

func (f *recordFetcher) FetchRecord(_ context.Context, e helpdesk.Entity, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.records = append(f.records, string(e)+"/"+id)
	return nil
}

func seed(t *testing.T, st *memStore, recs ...store.CallbackRecord) {
	t.Helper()
	for i := range recs {
		if recs[i].Result == "" {
			recs[i].Result = store.CallbackAccepted
		}
	}
	if _, _, err := st.InsertCallbacks(context.Background(), testScope, recs); err != nil {
		t.Fatal(err)
	}
}

func cb(event string, ids ...string) store.CallbackRecord {
	return store.CallbackRecord{Event: event, ExternalIDs: ids, Verified: true}
}

func newTestDispatcher(t *testing.T, st store.Store, f Fetcher, edit func(*DispatcherConfig)) *Dispatcher {
	t.Helper()
	cfg := DispatcherConfig{Scope: testScope, Store: st, Fetcher: f, Logger: quiet, Coalesce: -1,
		Backoff: func(int) time.Duration { return time.Second }}
	if edit != nil {
		edit(&cfg)
	}
	d, err := NewDispatcher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func results(st *memStore) string {
	var s []string
	for _, r := range st.all() {
		s = append(s, r.Result)
	}
	return strings.Join(s, ",")
}

func TestDispatcherCoalesces(t *testing.T) {
	st := newMemStore()
	seed(t, st,
		cb("ticket.updated", "1"), cb("ticket.updated", "2"), cb("ticket.updated", "1"),
		cb("note.created", "n-5", "1"), cb("timeEntry.created", "te-6", "2"), cb("ticket.deleted", "3"),
		store.CallbackRecord{Event: "ticket.updated", Result: store.CallbackProcessed, ExternalIDs: []string{"4"}},
	)
	f := &fakeFetcher{}
	d := newTestDispatcher(t, st, f, nil)
	if _, err := d.pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.fetched(), ","); got != "1,2,3" {
		t.Errorf("fetched %s, want 1,2,3 (one fetch per ticket, oldest first)", got)
	}
	if got := results(st); got != "processed,processed,processed,processed,processed,processed,processed" {
		t.Errorf("results %s", got)
	}
	if st.row(1).ProcessedAt.IsZero() {
		t.Error("processedAt not set")
	}
}

func TestDispatcherOtherRecords(t *testing.T) {
	st := newMemStore()
	seed(t, st, cb("contact.updated", "c-1"), cb("note.created", "n-1"), cb("other"))
	d := newTestDispatcher(t, st, &fakeFetcher{}, nil)
	d.pass(context.Background())
	for _, r := range st.all() {
		if r.Result != store.CallbackProcessed || r.Reason != ReasonLeftToPolling {
			t.Errorf("%s: %s %q, want processed, left to polling", r.Event, r.Result, r.Reason)
		}
	}
	st = newMemStore()
	seed(t, st, cb("contact.updated", "c-1"), cb("company.deleted", "co-2"))
	rf := &recordFetcher{}
	newTestDispatcher(t, st, rf, nil).pass(context.Background())
	if got := strings.Join(rf.records, ","); got != "contacts/c-1,companies/co-2" {
		t.Errorf("record fetches %s", got)
	}
	if got := results(st); got != "processed,processed" {
		t.Errorf("results %s", got)
	}
}

func TestDispatcherRetries(t *testing.T) {
	clock := newClock()
	st := newMemStore()
	seed(t, st, cb("ticket.updated", "1"), cb("ticket.updated", "2"), cb("ticket.updated", "3"))
	f := &fakeFetcher{errs: map[string][]error{
		"1": {errTransient},                             // then succeeds
		"2": {errTransient, errTransient, errTransient}, // exhausts MaxAttempts
		"3": {errUnauthorized},                          // not retryable
	}}
	d := newTestDispatcher(t, st, f, func(c *DispatcherConfig) { c.MaxAttempts = 3; c.Now = clock.Now })
	ctx := context.Background()
	d.pass(ctx)
	if got := results(st); got != "accepted,accepted,failed" {
		t.Fatalf("after pass 1: %s", got)
	}
	if !strings.Contains(st.row(3).Reason, "fetch tickets 3: unauthorized") {
		t.Errorf("reason %q", st.row(3).Reason)
	}
	d.pass(ctx) // nothing due yet
	if got := len(f.fetched()); got != 3 {
		t.Fatalf("fetched %d times before the backoff elapsed", got)
	}
	if w := d.nextWait(); w != time.Second {
		t.Errorf("next wait %v, want the 1s backoff", w)
	}
	clock.Add(time.Second)
	d.pass(ctx)
	if got := results(st); got != "processed,accepted,failed" {
		t.Fatalf("after pass 3: %s", got)
	}
	clock.Add(time.Second)
	d.pass(ctx)
	if got := results(st); got != "processed,failed,failed" {
		t.Fatalf("after pass 4: %s", got)
	}
	if got := strings.Join(f.fetched(), ","); got != "1,2,3,1,2,2" {
		t.Errorf("fetches %s", got)
	}
	if len(d.retry) != 0 {
		t.Errorf("retry state left: %v", d.retry)
	}
}

func TestDispatcherRetryAfter(t *testing.T) {
	clock := newClock()
	st := newMemStore()
	seed(t, st, cb("ticket.updated", "1"))
	limited := &helpdesk.Error{Kind: helpdesk.ErrRateLimited, Status: 429, RetryAfter: time.Minute}
	d := newTestDispatcher(t, st, &fakeFetcher{errs: map[string][]error{"1": {limited}}},
		func(c *DispatcherConfig) { c.Now = clock.Now })
	d.pass(context.Background())
	if next := d.retry[1].next; !next.Equal(clock.Now().Add(time.Minute)) {
		t.Errorf("retry at %v, want Retry-After 1m from now", next)
	}
}

func TestDispatcherMarkFailure(t *testing.T) {
	st := newMemStore()
	seed(t, st, cb("ticket.updated", "1"))
	st.markErr = errors.New("database is locked")
	d := newTestDispatcher(t, st, &fakeFetcher{}, nil)
	if _, err := d.pass(context.Background()); err == nil || !strings.Contains(err.Error(), "database is locked") {
		t.Fatalf("pass error %v", err)
	}
	if got := results(st); got != "accepted" {
		t.Errorf("results %s: the callback must stay pending", got)
	}
}

func TestDispatcherRunDrainsAndWakes(t *testing.T) {
	st := newMemStore()
	seed(t, st, cb("ticket.updated", "1"))
	f := &fakeFetcher{}
	wake := make(chan struct{}, 1)
	d := newTestDispatcher(t, st, f, func(c *DispatcherConfig) { c.Wake = wake; c.PollInterval = time.Hour })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	eventually(t, "the startup drain", func() bool { return results(st) == "processed" })
	seed(t, st, cb("ticket.updated", "2"))
	wake <- struct{}{}
	eventually(t, "the woken pass", func() bool { return results(st) == "processed,processed" })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestDispatcherFullBatchContinues(t *testing.T) {
	st := newMemStore()
	for i := range 25 {
		seed(t, st, cb("ticket.updated", string(rune('a'+i))))
	}
	f := &fakeFetcher{}
	d := newTestDispatcher(t, st, f, func(c *DispatcherConfig) { c.BatchSize = 10; c.PollInterval = time.Hour })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	eventually(t, "every batch", func() bool { return len(f.fetched()) == 25 })
}

func TestDispatcherFinishesBatchInHand(t *testing.T) {
	st := newMemStore()
	seed(t, st, cb("ticket.updated", "1"), cb("ticket.updated", "2"))
	f := &fakeFetcher{block: make(chan struct{}), started: make(chan struct{}, 2)}
	d := newTestDispatcher(t, st, f, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	<-f.started
	cancel()
	close(f.block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := results(st); got != "processed,processed" {
		t.Fatalf("results %s: the batch in hand must finish", got)
	}
}

func TestTargetOf(t *testing.T) {
	for _, tc := range []struct {
		rec  store.CallbackRecord
		want target
	}{
		{cb("ticket.updated", "1"), target{helpdesk.EntityTickets, "1"}},
		{cb("note.created", "n", "1"), target{helpdesk.EntityTickets, "1"}},
		{cb("timeEntry.deleted", "te", "2"), target{helpdesk.EntityTickets, "2"}},
		{cb("note.created", "n"), target{helpdesk.EntityNotes, "n"}},
		{cb("contact.updated", "c"), target{helpdesk.EntityContacts, "c"}},
		{cb("ticket.updated"), target{helpdesk.EntityTickets, ""}},
		{cb("other", "x"), target{"", "x"}},
	} {
		if got := targetOf(tc.rec); got != tc.want {
			t.Errorf("targetOf(%s %v) = %v, want %v", tc.rec.Event, tc.rec.ExternalIDs, got, tc.want)
		}
	}
}

func TestDefaultBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{1: 2 * time.Second, 3: 8 * time.Second, 20: 5 * time.Minute} {
		got := DefaultBackoff(n)
		if got < want*8/10 || got > want*12/10 {
			t.Errorf("DefaultBackoff(%d) = %v, want %v ±20%%", n, got, want)
		}
	}
}

// TestDispatcherNotSentIsNotAFailure: a fetch the client-side limiter
// could not send in time leaves its callbacks accepted with no attempt
// counted, and the pass stops there: the callbacks it did not reach stay
// accepted too.
func TestDispatcherNotSentIsNotAFailure(t *testing.T) {
	st := newMemStore()
	seed(t, st, cb("ticket.updated", "1"), cb("ticket.updated", "2"), cb("ticket.updated", "3"))
	notSent := &helpdesk.Error{Kind: helpdesk.ErrNotSent, Err: errors.New("rate: Wait(n=1) would exceed context deadline")}
	f := &fakeFetcher{errs: map[string][]error{"2": {notSent, notSent, notSent, notSent, notSent, notSent}}}
	d := newTestDispatcher(t, st, f, func(c *DispatcherConfig) { c.MaxAttempts = 2 })
	for range 5 {
		if _, err := d.pass(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := results(st); got != "processed,accepted,accepted" {
		t.Fatalf("results %s: an unsent fetch is neither failed nor a reason to skip ahead", got)
	}
	if len(d.retry) != 0 {
		t.Errorf("retry state %v: an unsent fetch is no attempt", d.retry)
	}
	f.errs["2"] = nil
	d.pass(context.Background())
	if got := results(st); got != "processed,processed,processed" {
		t.Fatalf("results %s once the limiter lets it through", got)
	}
}

// TestDispatcherCoalescesAcrossBatches: callbacks about one ticket spread
// over a backlog larger than a batch still cost one fetch.
func TestDispatcherCoalescesAcrossBatches(t *testing.T) {
	st := newMemStore()
	for range 100 {
		seed(t, st, cb("ticket.updated", "1"), cb("ticket.updated", "2"), cb("note.created", "n", "3"))
	}
	f := &fakeFetcher{}
	d := newTestDispatcher(t, st, f, func(c *DispatcherConfig) { c.BatchSize = 2 })
	for range 3 {
		d.pass(context.Background())
	}
	if got := strings.Join(f.fetched(), ","); got != "1,2,3" {
		t.Errorf("fetches %s, want one per ticket", got)
	}
	if got := strings.Count(results(st), "processed"); got != 300 {
		t.Errorf("%d of 300 processed", got)
	}
}

// TestDispatcherShutdownLeavesUnreachedAccepted: once the context ends the
// dispatcher goes on for FinishTimeout only; what it did not reach stays
// accepted for the next process, never failed.
func TestDispatcherShutdownLeavesUnreachedAccepted(t *testing.T) {
	st := newMemStore()
	seed(t, st, cb("ticket.updated", "1"), cb("ticket.updated", "2"))
	f := &fakeFetcher{block: make(chan struct{}), started: make(chan struct{}, 2)}
	blocking := FetcherFunc(func(ctx context.Context, id string) error {
		if id == "1" {
			return f.FetchTicket(ctx, id)
		}
		<-ctx.Done() // waits on the limiter until cut off
		return &helpdesk.Error{Kind: helpdesk.ErrNotSent, Err: ctx.Err()}
	})
	d := newTestDispatcher(t, st, blocking, func(c *DispatcherConfig) { c.FinishTimeout = 50 * time.Millisecond })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	<-f.started
	cancel()
	close(f.block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := results(st); got != "processed,accepted" {
		t.Fatalf("results %s", got)
	}
}

// TestDispatcherRefetchesLaterCallbacks: a callback received after a
// ticket's fetch began is not settled by that fetch.
func TestDispatcherRefetchesLaterCallbacks(t *testing.T) {
	clock := newClock()
	st := newMemStore()
	early := cb("ticket.updated", "1")
	early.ReceivedAt = clock.Now().Add(-time.Minute)
	seed(t, st, early)
	f := &fakeFetcher{}
	d := newTestDispatcher(t, st, f, func(c *DispatcherConfig) { c.Now = clock.Now })
	d.pass(context.Background())
	late := cb("ticket.updated", "1")
	late.ReceivedAt = clock.Now() // within the clock skew of the fetch's start
	older := cb("ticket.updated", "1")
	older.ReceivedAt = clock.Now().Add(-time.Minute) // received before it, logged after
	seed(t, st, older)
	d.pass(context.Background())
	if got := len(f.fetched()); got != 1 {
		t.Fatalf("%d fetches: a callback received before the fetch began is settled by it", got)
	}
	seed(t, st, late)
	d.pass(context.Background())
	if got := len(f.fetched()); got != 2 {
		t.Fatalf("%d fetches: a callback received after the fetch began needs another", got)
	}
	if got := results(st); got != "processed,processed,processed" {
		t.Errorf("results %s", got)
	}
}
