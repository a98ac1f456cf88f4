package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

var concurrentTests = map[string]func(*testing.T, store.Store){
	"WriteBatchOverlapping": testConcurrentWriteBatch,
	"OutboxWorkers":         testConcurrentOutbox,
	"LeaseHolders":          testConcurrentLease,
}

// parallel runs f(0..n-1) in n goroutines and waits; the first error fails
// the test.
func parallel(t *testing.T, n int, f func(i int) error) {
	t.Helper()
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs <- f(i) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		noErr(t, "worker", err)
	}
}

// Several writers upsert overlapping rows in different orders with
// different versions; the store ends with the newest version of each, and
// exactly one writer counts each row as created.
func testConcurrentWriteBatch(t *testing.T, s store.Store) {
	const writers, ids, rounds = 4, 300, 5
	var created atomic.Int64
	parallel(t, writers, func(w int) error {
		rng := rand.New(rand.NewPCG(uint64(w), 7))
		for r := range rounds {
			batch := make([]helpdesk.Ticket, 0, ids)
			for _, i := range rng.Perm(ids) {
				v := rng.IntN(100)
				batch = append(batch, Ticket(fmt.Sprintf("%04d", i), at(time.Duration(v)*time.Second), fmt.Sprintf("v%d w%d r%d", v, w, r)))
			}
			res, err := s.WriteBatch(ctx(t), Scope, tickets(batch...))
			if err != nil {
				return err
			}
			if res.Created+res.Updated+res.Unchanged != ids {
				return fmt.Errorf("counts %+v do not add up to %d", res, ids)
			}
			created.Add(int64(res.Created))
		}
		return nil
	})
	equal(t, "rows created in total", created.Load(), int64(ids))
	newest := map[string]time.Time{}
	for w := range writers {
		rng := rand.New(rand.NewPCG(uint64(w), 7))
		for range rounds {
			for _, i := range rng.Perm(ids) {
				id, u := fmt.Sprintf("%04d", i), at(time.Duration(rng.IntN(100))*time.Second)
				if u.After(newest[id]) {
					newest[id] = u
				}
			}
		}
	}
	for tk, err := range s.Tickets(ctx(t), Scope) {
		noErr(t, "Tickets", err)
		if !tk.UpdatedAt.Equal(newest[tk.ExternalID]) {
			t.Fatalf("ticket %s at %v, newest written %v", tk.ExternalID, tk.UpdatedAt, newest[tk.ExternalID])
		}
		delete(newest, tk.ExternalID)
	}
	equal(t, "tickets missing", len(newest), 0)
}

// Workers claim concurrently; no item is ever handed to two of them.
func testConcurrentOutbox(t *testing.T, s store.Store) {
	const items, workers = 200, 4
	for i := range items {
		enqueue(t, s, item(fmt.Sprintf("k%d", i), 0))
	}
	var mu sync.Mutex
	owner := map[int64]int{}
	var claimed atomic.Int64
	deadline := time.Now().Add(30 * time.Second)
	parallel(t, workers, func(w int) error {
		for claimed.Load() < items {
			if time.Now().After(deadline) {
				return errors.New("outbox not drained in time")
			}
			got, err := s.ClaimOutbox(ctx(t), Scope, 3, time.Hour, at(time.Minute))
			if err != nil {
				return err
			}
			mu.Lock()
			for _, it := range got {
				if prev, dup := owner[it.ID]; dup {
					mu.Unlock()
					return fmt.Errorf("item %d claimed by workers %d and %d", it.ID, prev, w)
				}
				owner[it.ID] = w
			}
			mu.Unlock()
			claimed.Add(int64(len(got)))
		}
		return nil
	})
	equal(t, "items claimed", len(owner), items)
}

type grant struct {
	holder string
	lease  store.Lease
}

// Holders race for one short lease until it has changed hands a few
// times; a holder renews a few times, then lets its lease lapse. Every
// epoch has one holder, and a new epoch starts only after the previous
// one's last granted expiry.
func testConcurrentLease(t *testing.T, s store.Store) {
	const holders, epochs, ttl = 4, 6, 20 * time.Millisecond
	var mu sync.Mutex
	var grants []grant
	var top atomic.Int64
	deadline := time.Now().Add(20 * time.Second)
	parallel(t, holders, func(h int) error {
		name := fmt.Sprintf("h%d", h)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		var mine int64
		renewals := 0
		for top.Load() < epochs {
			if time.Now().After(deadline) {
				return fmt.Errorf("lease changed hands %d times in 20s", top.Load())
			}
			if mine == top.Load() && renewals >= 3 {
				<-tick.C // let the lease lapse
				continue
			}
			l, err := s.AcquireLease(ctx(t), "leader", name, ttl)
			if errors.Is(err, store.ErrLeaseHeld) {
				<-tick.C
				continue
			}
			if err != nil {
				return err
			}
			mu.Lock()
			grants = append(grants, grant{name, l})
			mu.Unlock()
			if l.Epoch == mine {
				renewals++
			} else {
				mine, renewals = l.Epoch, 0
			}
			for cur := top.Load(); l.Epoch > cur && !top.CompareAndSwap(cur, l.Epoch); cur = top.Load() {
			}
		}
		return nil
	})
	checkGrants(t, grants, ttl)
}

func checkGrants(t *testing.T, grants []grant, ttl time.Duration) {
	t.Helper()
	holder := map[int64]string{}
	lastEnd := map[int64]time.Time{}
	firstStart := map[int64]time.Time{}
	for _, g := range grants {
		e := g.lease.Epoch
		if h, ok := holder[e]; ok && h != g.holder {
			t.Fatalf("epoch %d granted to %s and %s", e, h, g.holder)
		}
		holder[e] = g.holder
		if g.lease.ExpiresAt.After(lastEnd[e]) {
			lastEnd[e] = g.lease.ExpiresAt
		}
		start := g.lease.ExpiresAt.Add(-ttl)
		if f, ok := firstStart[e]; !ok || start.Before(f) {
			firstStart[e] = start
		}
	}
	for e, start := range firstStart {
		prev, ok := lastEnd[e-1]
		if ok && start.Before(prev) {
			t.Fatalf("epoch %d (%s) starts at %v, before epoch %d (%s) ends at %v",
				e, holder[e], start, e-1, holder[e-1], prev)
		}
	}
}
