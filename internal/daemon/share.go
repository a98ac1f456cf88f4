package daemon

import (
	"context"
	"slices"
	"sync"
	"time"
)

// replicaLeasePrefix names the leases replicas hold to show they are
// alive: "replica/HOLDER".
const replicaLeasePrefix = "replica/"

// share decides how many accounts this replica may lead, so that N
// replicas sharing one store each lead about A/N of the A accounts. A
// replica takes a free account's lease only while it leads fewer than
// its share, and gives up the surplus (the last by name, so that which
// ones move is predictable) when it leads more, e.g. after another
// replica joined. Leases still guarantee one leader per account; the
// share only spreads them.
type share struct {
	mu       sync.Mutex
	replicas int             // live replicas at the last heartbeat (at least 1)
	accounts int             // accounts this replica runs
	led      map[string]bool // accounts this replica leads or is taking
	changed  chan struct{}   // closed when the share grows
	// unled are the account leases nobody held at the last heartbeat
	// (by lease name); orphans those unled at the last two. A replica
	// takes an orphan over its share (rescued), and never gives a rescued
	// account up as surplus: some replica cannot run it (its file is
	// invalid there, or not there yet), and an account with no leader is
	// worse than an uneven split.
	unled, orphans map[string]bool
	rescued        map[string]bool
}

func (s *share) init() {
	if s.led == nil {
		s.led, s.changed, s.replicas = map[string]bool{}, make(chan struct{}), 1
		s.rescued = map[string]bool{}
	}
}

// limit is ceil(accounts / replicas).
func (s *share) limit() int {
	if s.accounts == 0 {
		return 0
	}
	return (s.accounts + s.replicas - 1) / s.replicas
}

// set records the live replicas; setAccounts the accounts this replica
// runs. A larger share wakes the waiting accounts at once rather than at
// their next renewal.
func (s *share) set(replicas int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	s.grow(func() { s.replicas = max(replicas, 1) })
}

func (s *share) setAccounts(accounts int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	s.grow(func() { s.accounts = accounts })
}

// grow applies change (under s.mu) and wakes the waiters if the limit
// grew.
func (s *share) grow(change func()) {
	before := s.limit()
	change()
	if s.limit() > before {
		close(s.changed)
		s.changed = make(chan struct{})
	}
}

// setUnled records the accounts whose lease nobody held at the last
// heartbeat; an account unled at two heartbeats in a row is an orphan.
func (s *share) setUnled(unled map[string]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	orphans := map[string]bool{}
	for n := range unled {
		if s.unled[n] {
			orphans[n] = true
		}
	}
	s.unled, s.orphans = unled, orphans
	if len(orphans) > 0 {
		close(s.changed)
		s.changed = make(chan struct{})
	}
}

// wait returns a channel closed when the share next grows.
func (s *share) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	return s.changed
}

// reserve counts name as led if the share allows one more; the caller
// then tries the lease and calls release if it did not get it.
func (s *share) reserve(name, lease string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	if s.led[name] {
		return true
	}
	if len(s.led) >= s.limit() {
		if !s.orphans[lease] {
			return false
		}
		s.rescued[name] = true
	}
	s.led[name] = true
	return true
}

// release stops counting name.
func (s *share) release(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	delete(s.led, name)
	delete(s.rescued, name)
}

// surplus reports whether name is one this replica should give up: it
// leads more than its share and name is among the last by name.
func (s *share) surplus(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	over := len(s.led) - s.limit()
	if over <= 0 || !s.led[name] || s.rescued[name] {
		return false
	}
	names := make([]string, 0, len(s.led))
	for n := range s.led {
		if !s.rescued[n] {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return slices.Index(names, name) >= len(names)-over
}

// leading returns how many accounts this replica leads or is taking.
func (s *share) leading() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.led)
}

// heartbeat holds this replica's lease and counts the live replicas
// every third of the lease TTL, until ctx ends; then it gives its lease
// up so the others' shares grow at once.
func (d *Daemon) heartbeat(ctx context.Context) {
	name := replicaLeasePrefix + d.o.Holder
	defer func() {
		rel, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		d.o.Store.ReleaseLease(rel, name, d.o.Holder)
		cancel()
	}()
	for {
		t := time.NewTimer(d.beat(ctx, name))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// beat renews this replica's lease and counts the live ones. It returns
// when to beat next: a third of the TTL, or sooner, as another replica's
// lease runs out, so that a replica gone without a goodbye stops counting
// (and the others' shares grow) as soon as it can.
func (d *Daemon) beat(ctx context.Context, name string) time.Duration {
	every := d.o.LeaseTTL / 3
	bctx, cancel := context.WithTimeout(ctx, every)
	defer cancel()
	if _, err := d.o.Store.AcquireLease(bctx, name, d.o.Holder, d.o.LeaseTTL); err != nil {
		if ctx.Err() == nil {
			d.log.Warn("replica heartbeat failed", "err", err)
		}
		return every
	}
	d.storeSeen.Store(time.Now().UnixNano())
	live, err := d.o.Store.Leases(bctx, replicaLeasePrefix)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn("count replicas", "err", err)
		}
		return every
	}
	next := every
	for _, l := range live {
		if l.Holder != d.o.Holder {
			next = min(next, max(time.Until(l.ExpiresAt)+10*time.Millisecond, 10*time.Millisecond))
		}
	}
	d.share.set(len(live))
	d.findUnled(bctx)
	d.fm.Replicas.Set(float64(max(len(live), 1)))
	d.fm.AccountsLed.Set(float64(d.share.leading()))
	return next
}

// findUnled tells the share which of this replica's accounts no replica
// leads.
func (d *Daemon) findUnled(ctx context.Context) {
	held, err := d.o.Store.Leases(ctx, "account/")
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn("list account leases", "err", err)
		}
		return
	}
	taken := make(map[string]bool, len(held))
	for _, l := range held {
		taken[l.Name] = true
	}
	unled := map[string]bool{}
	for _, r := range d.accounts() {
		if g := r.gen.Load(); g != nil && !taken[leaseName(g.cfg)] {
			unled[leaseName(g.cfg)] = true
		}
	}
	d.share.setUnled(unled)
}
