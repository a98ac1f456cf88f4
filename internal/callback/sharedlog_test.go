package callback

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/store"
)

// scopedStore records the scopes of each InsertCallbackBatches call and
// fails every call that holds the scope bad.
type scopedStore struct {
	*memStore
	bad   string
	mu    sync.Mutex
	calls [][]string // accounts per call
}

func (s *scopedStore) InsertCallbackBatches(ctx context.Context, bs []store.CallbackBatch) error {
	var accts []string
	for _, b := range bs {
		accts = append(accts, b.Scope.Account)
	}
	s.mu.Lock()
	s.calls = append(s.calls, accts)
	s.mu.Unlock()
	if slices.Contains(accts, s.bad) {
		return errors.New("rows of " + s.bad + " refused")
	}
	return s.memStore.InsertCallbackBatches(ctx, bs)
}

// sharedReceivers returns running receivers for accounts sharing one Log
// that commits only once it holds a row of each (BatchSize = the number
// of accounts, an hour's delay), so the grouping does not depend on
// timing. stop stops one receiver.
func sharedReceivers(t *testing.T, st store.Store, accounts ...string) (rcs []*Receiver, stop []func()) {
	t.Helper()
	log := NewLog(st, LogOptions{BatchSize: len(accounts), BatchDelay: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { log.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	for _, a := range accounts {
		rc, err := NewReceiver(Config{Scope: store.Scope{Account: a, Provider: testScope.Provider}, Provider: &fakeProvider{},
			Store: st, Secret: testSecret, Log: log, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		rctx, rcancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); rc.Run(rctx) }()
		rcs, stop = append(rcs, rc), append(stop, func() { rcancel(); <-done })
	}
	return rcs, stop
}

// postAll posts one delivery to each receiver at once and returns the
// answers' status codes.
func postAll(rcs []*Receiver) []int {
	codes := make([]int, len(rcs))
	var wg sync.WaitGroup
	for i, rc := range rcs {
		wg.Go(func() {
			body := envelope(ticketEvent("d-"+string(rune('a'+i)), "1"))
			codes[i] = post(rc, "/callbacks/fakepsa", body, sign(testSecret, body)).Code
		})
	}
	wg.Wait()
	return codes
}

// TestSharedLogCommitsAccountsTogether: webhooks of different accounts
// arriving together share one transaction.
func TestSharedLogCommitsAccountsTogether(t *testing.T) {
	st := &scopedStore{memStore: newMemStore()}
	rcs, _ := sharedReceivers(t, st, "a", "b", "c")
	if codes := postAll(rcs); !slices.Equal(codes, []int{200, 200, 200}) {
		t.Fatalf("answers %v, want 200 each", codes)
	}
	if len(st.calls) != 1 || len(st.calls[0]) != 3 {
		t.Fatalf("transactions %v, want one holding the three accounts", st.calls)
	}
	if n := len(st.all()); n != 3 {
		t.Fatalf("%d rows logged, want 3", n)
	}
}

// TestSharedLogIsolatesAFailingAccount: when a shared transaction fails,
// each account is tried alone: only the failing account's webhook is
// answered 503 (the PSA retries it); the others are logged and answered
// 200.
func TestSharedLogIsolatesAFailingAccount(t *testing.T) {
	st := &scopedStore{memStore: newMemStore(), bad: "b"}
	rcs, _ := sharedReceivers(t, st, "a", "b", "c")
	if codes := postAll(rcs); !slices.Equal(codes, []int{200, 503, 200}) {
		t.Fatalf("answers %v, want 200, 503, 200", codes)
	}
	if n := len(st.all()); n != 2 {
		t.Fatalf("%d rows logged, want the 2 of the healthy accounts", n)
	}
}

// TestSharedLogStoppedReceiver: a receiver stopped (its account removed
// or rebuilt) refuses deliveries while the shared log goes on serving
// the others.
func TestSharedLogStoppedReceiver(t *testing.T) {
	st := &scopedStore{memStore: newMemStore()}
	rcs, stop := sharedReceivers(t, st, "a", "b")
	stop[0]()
	body := envelope(ticketEvent("d-late", "1"))
	if code := post(rcs[0], "/callbacks/fakepsa", body, sign(testSecret, body)).Code; code != 503 {
		t.Fatalf("stopped receiver answered %d, want 503", code)
	}
	// The log commits once it holds two rows: two deliveries to b.
	var wg sync.WaitGroup
	for _, id := range []string{"d-1", "d-2"} {
		wg.Go(func() {
			body := envelope(ticketEvent(id, "1"))
			if code := post(rcs[1], "/callbacks/fakepsa", body, sign(testSecret, body)).Code; code != 200 {
				t.Errorf("running receiver answered %d, want 200", code)
			}
		})
	}
	wg.Wait()
	if n := len(st.all()); n != 2 {
		t.Fatalf("%d rows logged, want 2", n)
	}
}
