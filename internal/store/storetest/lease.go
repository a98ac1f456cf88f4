package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/store"
)

var leaseTests = map[string]func(*testing.T, store.Store){
	"AcquireRenewRelease":   testLeaseAcquireRenew,
	"TakeoverAfterExpiry":   testLeaseTakeover,
	"InvalidArguments":      testLeaseInvalid,
	"IndependentLeaseNames": testLeaseNames,
	"ListByPrefix":          testLeaseList,
}

func acquire(t *testing.T, s store.Store, name, holder string, ttl time.Duration) store.Lease {
	t.Helper()
	l, err := s.AcquireLease(ctx(t), name, holder, ttl)
	noErr(t, "AcquireLease "+holder, err)
	if l.Name != name || l.Holder != holder {
		t.Fatalf("AcquireLease(%s, %s) = %+v", name, holder, l)
	}
	return l
}

func testLeaseAcquireRenew(t *testing.T, s store.Store) {
	a := acquire(t, s, "leader/acme", "a", time.Minute)
	equal(t, "first epoch", a.Epoch, int64(1))
	if d := time.Until(a.ExpiresAt); d <= 0 || d > time.Minute+5*time.Second {
		t.Fatalf("expires in %s, want about a minute", d)
	}
	if a.ExpiresAt.Location() != time.UTC || !a.ExpiresAt.Equal(store.NormalizeTime(a.ExpiresAt)) {
		t.Fatalf("ExpiresAt %v not UTC microseconds", a.ExpiresAt)
	}
	renewed := acquire(t, s, "leader/acme", "a", 2*time.Minute)
	equal(t, "renewal keeps the epoch", renewed.Epoch, int64(1))
	if !renewed.ExpiresAt.After(a.ExpiresAt) {
		t.Fatalf("renewal did not extend: %v then %v", a.ExpiresAt, renewed.ExpiresAt)
	}
	held, err := s.AcquireLease(ctx(t), "leader/acme", "b", time.Minute)
	isErr(t, "AcquireLease b", err, store.ErrLeaseHeld)
	if held.Holder != "a" || !held.ExpiresAt.Equal(renewed.ExpiresAt) {
		t.Fatalf("a held lease answers %+v, want a's lease until %v (so b can try as it expires)", held, renewed.ExpiresAt)
	}
	noErr(t, "ReleaseLease by non-holder", s.ReleaseLease(ctx(t), "leader/acme", "b"))
	_, err = s.AcquireLease(ctx(t), "leader/acme", "b", time.Minute)
	isErr(t, "AcquireLease b after a non-holder's release", err, store.ErrLeaseHeld)
	noErr(t, "ReleaseLease", s.ReleaseLease(ctx(t), "leader/acme", "a"))
	b := acquire(t, s, "leader/acme", "b", time.Minute)
	equal(t, "new holder, new epoch", b.Epoch, int64(2))
	noErr(t, "ReleaseLease", s.ReleaseLease(ctx(t), "leader/acme", "b"))
	b = acquire(t, s, "leader/acme", "b", time.Minute)
	equal(t, "reacquired after release: new epoch", b.Epoch, int64(3))
}

func testLeaseTakeover(t *testing.T, s store.Store) {
	const ttl = 50 * time.Millisecond
	a := acquire(t, s, "leader", "a", ttl)
	var b store.Lease
	eventually(t, 10*time.Second, "b takes over after a's lease expires", func() bool {
		var err error
		b, err = s.AcquireLease(ctx(t), "leader", "b", time.Minute)
		if err != nil && !errors.Is(err, store.ErrLeaseHeld) {
			t.Fatalf("AcquireLease: %v", err)
		}
		return err == nil
	})
	equal(t, "epoch after takeover", b.Epoch, a.Epoch+1)
	if start := b.ExpiresAt.Add(-time.Minute); start.Before(a.ExpiresAt) {
		t.Fatalf("b's lease starts at %v, before a's ends at %v", start, a.ExpiresAt)
	}
	_, err := s.AcquireLease(ctx(t), "leader", "a", time.Minute)
	isErr(t, "old holder", err, store.ErrLeaseHeld)
}

func testLeaseInvalid(t *testing.T, s store.Store) {
	for _, c := range []struct {
		name, holder string
		ttl          time.Duration
	}{{"", "a", time.Second}, {"x", "", time.Second}, {"x", "a", 0}} {
		if _, err := s.AcquireLease(ctx(t), c.name, c.holder, c.ttl); err == nil || errors.Is(err, store.ErrLeaseHeld) {
			t.Fatalf("AcquireLease(%q, %q, %s): error %v, want an argument error", c.name, c.holder, c.ttl, err)
		}
	}
}

func testLeaseNames(t *testing.T, s store.Store) {
	acquire(t, s, "leader/acme", "a", time.Minute)
	acquire(t, s, "leader/globex", "b", time.Minute)
}

func testLeaseList(t *testing.T, s store.Store) {
	acquire(t, s, "replica/a", "a", time.Minute)
	acquire(t, s, "replica/b", "b", time.Minute)
	acquire(t, s, "replica/c", "c", time.Minute)
	acquire(t, s, "replicas", "x", time.Minute)
	acquire(t, s, "account/acme", "a", time.Minute)
	noErr(t, "ReleaseLease", s.ReleaseLease(ctx(t), "replica/c", "c"))
	acquire(t, s, "replica/d", "d", time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := s.Leases(ctx(t), "replica/")
		noErr(t, "Leases", err)
		var names []string
		for _, l := range got {
			names = append(names, l.Name+"="+l.Holder)
		}
		if len(names) == 2 && names[0] == "replica/a=a" && names[1] == "replica/b=b" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Leases(replica/) = %v, want the live a and b only (c released, d expired)", names)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
