package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/pgtest"

	_ "github.com/horizon/reconciler/internal/store/postgres" // registers postgres:
)

// killable is a replica's view of the store that can die at once, as a
// replica killed with -9 does: no more renewals, no release.
type killable struct {
	store.Store
	dead atomic.Bool
}

var errKilled = errors.New("replica killed")

func (k *killable) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (store.Lease, error) {
	if k.dead.Load() {
		return store.Lease{}, errKilled
	}
	return k.Store.AcquireLease(ctx, name, holder, ttl)
}

func (k *killable) ReleaseLease(ctx context.Context, name, holder string) error {
	if k.dead.Load() {
		return errKilled
	}
	return k.Store.ReleaseLease(ctx, name, holder)
}

// openStore opens the database at u (one connection pool per replica),
// closed at cleanup.
func openStore(t testing.TB, u string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// heldBy counts the account leases per holder.
func heldBy(t testing.TB, st store.Store) map[string]int {
	t.Helper()
	leases, err := st.Leases(context.Background(), "account/")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, l := range leases {
		out[l.Holder]++
	}
	return out
}

// TestReplicasShareAccounts: replicas on one PostgreSQL database split
// the accounts evenly; one killed without a goodbye has its accounts led
// by the other within the lease TTL (plus a renewal period); a replica
// that joins takes its share.
func TestReplicasShareAccounts(t *testing.T) {
	u := pgtest.FreshURL(t)
	open := func() *killable { return &killable{Store: openStore(t, u)} }
	root := t.TempDir()
	dir := filepath.Join(root, "accounts")
	os.Mkdir(dir, 0o700)
	ln := listen(t)
	base := "http://" + ln.Addr().String()
	const accounts = 6
	for i := range accounts {
		a := newFleetAccount(t, fmt.Sprintf("acct-%02d", i), "connectwise", 5)
		writeFile(t, filepath.Join(dir, a.name+".yaml"), a.file(t, dir, base, ""))
	}
	ttl := 3 * time.Second
	stA, stB := open(), open()
	a := startFleet(t, dir, fleetOptions{store: stA, holder: "replica-a", leaseTTL: ttl}, ln)
	b := startFleet(t, dir, fleetOptions{store: stB, holder: "replica-b", leaseTTL: ttl}, listen(t))
	eventuallyWithin(t, 30*time.Second, "3 accounts led by each replica", func() bool {
		h := heldBy(t, stA)
		return h["replica-a"] == 3 && h["replica-b"] == 3
	})
	if got := metricValue(t, a.base, "horizon_replicas"); got != 2 {
		t.Errorf("horizon_replicas = %v, want 2", got)
	}
	if got := metricValue(t, b.base, "horizon_accounts_led"); got != 3 {
		t.Errorf("replica b horizon_accounts_led = %v, want 3", got)
	}

	// Kill A: its leases are neither renewed nor released.
	stA.dead.Store(true)
	killed := time.Now()
	a.stop()
	eventuallyWithin(t, 4*ttl, "replica b leading all accounts", func() bool { return heldBy(t, stB)["replica-b"] == accounts })
	took := time.Since(killed)
	t.Logf("takeover after a kill: %s (lease TTL %s)", took.Round(10*time.Millisecond), ttl)
	if took > ttl+ttl {
		t.Errorf("takeover took %s, want within the lease TTL (%s) plus a renewal period", took, ttl)
	}

	// A new replica joins: it takes its share from b.
	stC := open()
	startFleet(t, dir, fleetOptions{store: stC, holder: "replica-c", leaseTTL: ttl}, listen(t))
	eventuallyWithin(t, 30*time.Second, "3 accounts led by b and c", func() bool {
		h := heldBy(t, stC)
		return h["replica-b"] == 3 && h["replica-c"] == 3
	})
}

func eventuallyWithin(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAccountOnlyOneReplicaCanRun: a replica gives up its surplus, but
// an account the other replica cannot run (its file is not there) is
// taken back and kept, never left without a leader.
func TestAccountOnlyOneReplicaCanRun(t *testing.T) {
	u := pgtest.FreshURL(t)
	open := func() store.Store { return openStore(t, u) }
	root := t.TempDir()
	dirA, dirB := filepath.Join(root, "a"), filepath.Join(root, "b")
	os.Mkdir(dirA, 0o700)
	os.Mkdir(dirB, 0o700)
	ln := listen(t)
	base := "http://" + ln.Addr().String()
	for _, name := range []string{"acct-a", "acct-b", "acct-c"} {
		a := newFleetAccount(t, name, "connectwise", 5)
		writeFile(t, filepath.Join(dirA, name+".yaml"), a.file(t, dirA, base, ""))
		if name != "acct-c" { // replica b has no file for acct-c
			writeFile(t, filepath.Join(dirB, name+".yaml"), a.file(t, dirB, base, ""))
		}
	}
	ttl := 3 * time.Second
	st := open()
	startFleet(t, dirA, fleetOptions{store: st, holder: "replica-a", leaseTTL: ttl}, ln)
	eventuallyWithin(t, 30*time.Second, "replica a leading all three", func() bool { return heldBy(t, st)["replica-a"] == 3 })
	startFleet(t, dirB, fleetOptions{store: open(), holder: "replica-b", leaseTTL: ttl}, listen(t))
	holders := func() map[string]string {
		leases, err := st.Leases(context.Background(), "account/")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, l := range leases {
			out[strings.TrimSuffix(strings.TrimPrefix(l.Name, "account/"), "/connectwise")] = l.Holder
		}
		return out
	}
	eventuallyWithin(t, 60*time.Second, "acct-c led by a and one of acct-a/acct-b by b", func() bool {
		h := holders()
		return h["acct-c"] == "replica-a" && len(h) == 3 && (h["acct-a"] == "replica-b" || h["acct-b"] == "replica-b")
	})
	// And it stays so: acct-c is not handed over again.
	deadline := time.Now().Add(3 * ttl)
	for time.Now().Before(deadline) {
		if h := holders(); h["acct-c"] != "replica-a" {
			t.Fatalf("acct-c left without its only possible leader: %v", h)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
