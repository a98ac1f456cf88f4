package syncer

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	"github.com/horizon/reconciler/internal/store"
)

// crashMode is how a run is interrupted.
type crashMode int

const (
	killBeforeCommit  crashMode = iota // the process dies while write k is in flight
	killAfterCommit                    // the process dies just after write k commits
	cancelDuringWrite                  // shutdown arrives during write k
	fetchFailure                       // the PSA fails after page k (retries exhausted)
	crashModes
)

func (m crashMode) String() string {
	return [...]string{"killBeforeCommit", "killAfterCommit", "cancelDuringWrite", "fetchFailure"}[m]
}

// crasher wraps a memStore's hooks to interrupt one run.
type crasher struct {
	mu     sync.Mutex
	dead   bool
	mode   crashMode
	at     int
	cancel context.CancelFunc
}

var errKilled = errors.New("killed")

func (c *crasher) install(st *memStore, psa *fakePSA) {
	st.before = func(n int, b store.Batch) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		switch {
		case c.dead:
			return errKilled
		case n == c.at && c.mode == killBeforeCommit:
			c.dead = true
			return errKilled
		case n == c.at && c.mode == cancelDuringWrite:
			c.cancel()
		}
		return nil
	}
	st.after = func(n int, b store.Batch) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if n == c.at && c.mode == killAfterCommit {
			c.dead = true
		}
	}
	if c.mode == fetchFailure {
		psa.fail[helpdesk.EntityTickets] = failure{afterPages: c.at, err: &helpdesk.Error{Provider: "connectwise",
			Op: "list tickets", Kind: helpdesk.ErrTransient, Status: 502}}
	}
}

func uninstall(st *memStore, psa *fakePSA) {
	st.before, st.after = nil, nil
	delete(psa.fail, helpdesk.EntityTickets)
}

// crashWorld returns a fake PSA with a random dataset for seed.
func crashWorld(r *rand.Rand) *fakePSA {
	psa := newFakePSA()
	psa.pageSize = 10 + r.IntN(60)
	n := 100 + r.IntN(500)
	for i := range n {
		back := time.Duration(r.Int64N(int64(60 * 24 * time.Hour))).Truncate(time.Millisecond)
		put(psa, &psa.tickets, ticket(i+1, t0.Add(-back)))
	}
	return psa
}

// edit changes the PSA as users would between two polls: edits (some
// stamped before the watermark, as late commits), new tickets and
// deletions.
func edit(r *rand.Rand, psa *fakePSA, now time.Time) {
	n := len(psa.tickets)
	for range 1 + r.IntN(50) {
		id := 1 + r.IntN(n)
		t := ticket(id, now.Add(-time.Duration(r.Int64N(int64(70*time.Minute)))).Truncate(time.Millisecond))
		t.Summary = fmt.Sprintf("edited %d", r.Int())
		put(psa, &psa.tickets, t)
	}
	for i := range r.IntN(80) {
		put(psa, &psa.tickets, ticket(10000+i, now.Add(-time.Duration(r.IntN(1000))*time.Millisecond)))
	}
}

// TestCrashResume interrupts a backfill and an incremental sync at random
// points (a kill before or after a commit, a shutdown, a PSA failure),
// restarts, and checks that the store ends equal to an uninterrupted run:
// same records, same watermark.
func TestCrashResume(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 50
	}
	for seed := range seeds {
		r := rand.New(rand.NewPCG(uint64(seed), 1))
		mode := crashMode(r.IntN(int(crashModes)))
		t.Run(fmt.Sprintf("seed=%d/%v", seed, mode), func(t *testing.T) {
			crashResume(t, r, mode)
		})
	}
}

func crashResume(t *testing.T, r *rand.Rand, mode crashMode) {
	psa := crashWorld(r)
	clk := &clock{t: t0}
	ref, got := newMemStore(), newMemStore()
	opts := Options{Entities: []helpdesk.Entity{helpdesk.EntityTickets}, IngestWindow: 30 * 24 * time.Hour,
		Logger: quietLogger(), Now: clk.Now}
	for phase := range 2 {
		if phase == 1 {
			clk.Set(t0.Add(time.Hour))
			edit(r, psa, t0.Add(time.Hour))
		}
		syncOnce(t, psa, ref, opts, nil)
		writes := ref.writes
		ref.writes = 0
		c := &crasher{mode: mode, at: 1 + r.IntN(max(writes, 1))}
		if mode == fetchFailure {
			c.at = r.IntN(writes + 1)
		}
		syncOnce(t, psa, got, opts, c)
		got.writes = 0
		syncOnce(t, psa, got, opts, nil) // the restart
		got.writes = 0
		compareStores(t, phase, ref, got)
	}
}

// syncOnce syncs tickets with a fresh Syncer (a fresh process); with a
// crasher, the run is interrupted and its error expected.
func syncOnce(t *testing.T, psa *fakePSA, st *memStore, opts Options, c *crasher) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if c != nil {
		c.cancel = cancel
		c.install(st, psa)
		defer uninstall(st, psa)
	}
	s, err := New(psa, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.SyncEntity(ctx, helpdesk.EntityTickets, store.TriggerPoll, false)
	if c == nil && err != nil {
		t.Fatalf("uninterrupted sync: %v", err)
	}
}

func compareStores(t *testing.T, phase int, ref, got *memStore) {
	t.Helper()
	want, have := ref.snapshot(helpdesk.EntityTickets), got.snapshot(helpdesk.EntityTickets)
	if len(want) != len(have) {
		t.Errorf("phase %d: %d tickets after restart, want %d", phase, len(have), len(want))
	}
	for id, w := range want {
		if !reflect.DeepEqual(have[id], w) {
			t.Errorf("phase %d: ticket %s = %+v, want %+v", phase, id, have[id], w)
		}
	}
	ww, hw := ref.watermarks[helpdesk.EntityTickets], got.watermarks[helpdesk.EntityTickets]
	if ww != hw {
		t.Errorf("phase %d: watermark %+v, want %+v", phase, hw, ww)
	}
}

// crashStore wraps a real store and interrupts one run the way crasher
// does for memStore.
type crashStore struct {
	store.Store
	mu     sync.Mutex
	writes int
	c      *crasher // nil: no crash
}

func (s *crashStore) WriteBatch(ctx context.Context, sc store.Scope, b store.Batch) (store.UpsertResult, error) {
	s.mu.Lock()
	s.writes++
	n, c := s.writes, s.c
	s.mu.Unlock()
	if c != nil {
		c.mu.Lock()
		switch {
		case c.dead:
			c.mu.Unlock()
			return store.UpsertResult{}, errKilled
		case n == c.at && c.mode == killBeforeCommit:
			c.dead = true
			c.mu.Unlock()
			return store.UpsertResult{}, errKilled
		case n == c.at && c.mode == cancelDuringWrite:
			c.cancel()
		}
		c.mu.Unlock()
	}
	res, err := s.Store.WriteBatch(ctx, sc, b)
	if c != nil && n == c.at && c.mode == killAfterCommit {
		c.mu.Lock()
		c.dead = true
		c.mu.Unlock()
	}
	return res, err
}

// TestCrashResumeSQLite runs the crash-and-restart check against each
// provider's emulator and SQLite stores: a backfill and an incremental
// sync after edits in the PSA, each interrupted at a random write.
func TestCrashResumeSQLite(t *testing.T) {
	seeds := 3
	if testing.Short() {
		seeds = 1
	}
	for _, spec := range psaSpecs {
		for seed := range seeds {
			r := rand.New(rand.NewPCG(uint64(seed), 2))
			mode := crashMode(r.IntN(int(fetchFailure))) // store-side interruptions
			t.Run(fmt.Sprintf("%s/seed=%d/%v", spec.name, seed, mode), func(t *testing.T) {
				t.Parallel()
				crashResumeSQLite(t, spec, r, mode)
			})
		}
	}
}

func crashResumeSQLite(t *testing.T, spec psaSpec, r *rand.Rand, mode crashMode) {
	e := newSandboxEnv(t, spec, sandboxOpts{tickets: 400})
	ref := e.st
	got := &crashStore{Store: openSQLite(t, t.TempDir()+"/got.db")}
	refCount := &crashStore{Store: ref}
	opts := func(o *Options) { o.PageSize = 20 }
	for phase := range 2 {
		if phase == 1 {
			e.clock.Set(anchor.Add(time.Hour))
			live := e.liveTickets()
			for range 30 {
				tk := live[r.IntN(len(live))]
				e.world.UpdateTicket(tk.ID, e.ui(), func(t *sandbox.Ticket) error { t.Summary += " *"; return nil })
			}
			e.world.CreateTicket(sandbox.Ticket{Summary: "new", QueueID: live[0].QueueID, StatusID: live[0].StatusID}, e.ui())
		}
		refCount.writes = 0
		e.st = refCount
		mustSync(t, e.syncer(t, opts))
		ctx, cancel := context.WithCancel(context.Background())
		got.writes, got.c = 0, &crasher{mode: mode, at: 1 + r.IntN(max(refCount.writes, 1)), cancel: cancel}
		e.st = got
		_, _ = e.syncer(t, opts).SyncEntity(ctx, helpdesk.EntityTickets, store.TriggerPoll, false) // interrupted
		cancel()
		got.c = nil
		mustSync(t, e.syncer(t, opts)) // the restart
		e.st = ref
		compareSQLite(t, phase, e.scope, ref, got.Store)
	}
}

func mustSync(t *testing.T, s *Syncer) {
	t.Helper()
	if _, err := s.SyncEntity(context.Background(), helpdesk.EntityTickets, store.TriggerPoll, false); err != nil {
		t.Fatal(err)
	}
}

func compareSQLite(t *testing.T, phase int, sc store.Scope, ref, got store.Store) {
	t.Helper()
	ctx := context.Background()
	next, stop := iter.Pull2(iter.Seq2[helpdesk.Ticket, error](got.Tickets(ctx, sc)))
	defer stop()
	n := 0
	for w, err := range ref.Tickets(ctx, sc) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		g, gerr, ok := next()
		if !ok || gerr != nil || !reflect.DeepEqual(g, w) {
			t.Fatalf("phase %d: ticket %d after restart = %+v (%v), want %+v", phase, n, g.ExternalID, gerr, w.ExternalID)
		}
	}
	if _, _, ok := next(); ok {
		t.Errorf("phase %d: more tickets after restart than in the uninterrupted run (%d)", phase, n)
	}
	ww, _ := ref.Watermark(ctx, sc, helpdesk.EntityTickets)
	gw, _ := got.Watermark(ctx, sc, helpdesk.EntityTickets)
	// The run's start caps the watermark, read from the PSA's clock: the
	// Date header's second plus the real time since, so two runs at the
	// same test clock may differ by that much.
	if d := gw.UpdatedThrough.Sub(ww.UpdatedThrough).Abs(); d > time.Second || ww.Cursor != gw.Cursor ||
		!ww.BackfilledFrom.Equal(gw.BackfilledFrom) {
		t.Errorf("phase %d: watermark %+v, want %+v", phase, gw, ww)
	}
	if n < 50 {
		t.Errorf("phase %d: only %d tickets compared", phase, n)
	}
}
