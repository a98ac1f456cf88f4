package daemon_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/daemon"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/pgtest"

	_ "github.com/horizon/reconciler/internal/helpdesk/sandbox/zohodesk"
)

// scaleProviders are taken in turn, so a fleet mixes every PSA.
var scaleProviders = []string{"connectwise", "autotask", "zohodesk", "halopsa"}

// scaleResult is what one fleet run measured.
type scaleResult struct {
	accounts       int
	startup        time.Duration // until every account reconciled and synced
	heapPerAccount float64       // bytes of Go heap in use per account, sandboxes excluded
	reconcileMean  time.Duration // mean reconcile pass, from the accounts' histograms
	callbacks      int           // deliveries sent during the load
	rate           float64       // deliveries per second achieved
	p50, p99       time.Duration // callback answer time, seen by the PSA
	lost           int           // changes not in the store when the load ended (after a grace period)
	refused        map[int]int   // answers other than 2xx, by status (503: not logged in time, the PSA retries)
	answered2xx    float64       // 200 answers the daemon's horizon_callback_answer_duration_seconds counted
}

// callbackTimer is the emulated PSAs' transport for webhooks: it times
// every callback's answer, as the PSA sees it. Connections are kept
// alive, as a PSA sending many webhooks to one host does.
type callbackTimer struct {
	next  http.RoundTripper
	mu    sync.Mutex
	times []time.Duration
	fails map[int]int // status → count, for answers not 2xx (0: no answer)
}

func newCallbackTimer() *callbackTimer {
	return &callbackTimer{next: &http.Transport{MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute}}
}

func (c *callbackTimer) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	res, err := c.next.RoundTrip(r)
	d := time.Since(start)
	status := 0
	if err == nil {
		status = res.StatusCode
	}
	c.mu.Lock()
	if r.Method == http.MethodPost {
		c.times = append(c.times, d)
		if status < 200 || status >= 300 {
			if c.fails == nil {
				c.fails = map[int]int{}
			}
			c.fails[status]++
		}
	}
	c.mu.Unlock()
	return res, err
}

func (c *callbackTimer) reset() {
	c.mu.Lock()
	c.times, c.fails = nil, nil
	c.mu.Unlock()
}

// runFleetScale runs n accounts (50 tickets each, every PSA in turn) in
// one daemon on SQLite, waits until each has reconciled and backfilled,
// then sends rate changes per second for load, spread over the accounts,
// each reaching the daemon as the PSA's callback, and checks every one
// landed in the store.
func runFleetScale(t testing.TB, n int, rate float64, load time.Duration) scaleResult {
	root := t.TempDir()
	dir := filepath.Join(root, "accounts")
	os.Mkdir(dir, 0o700)
	ln := listen(t)
	timer := newCallbackTimer()
	accts := make([]*fleetAccount, n)
	for i := range accts {
		accts[i] = newTimedFleetAccount(t, fmt.Sprintf("acct-%04d", i), scaleProviders[i%len(scaleProviders)], 50, timer)
		// Every ticket in the ingest window, so each account syncs all 50.
		body := strings.Replace(accts[i].file(t, dir, "http://"+ln.Addr().String(), ""), "ingestWindow: 30d", "ingestWindow: 1000d", 1)
		writeFile(t, filepath.Join(dir, accts[i].name+".yaml"), body)
	}
	heapBefore := heapInUse()

	dbURL := "sqlite:" + filepath.Join(root, "h.db")
	if os.Getenv("HORIZON_BENCH_STORE") == "postgres" {
		dbURL = pgtest.FreshURL(t)
		if n := os.Getenv("HORIZON_BENCH_POOL"); n != "" { // the pool size to try instead of the default
			dbURL += "&pool_max_conns=" + n
		}
	}
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var mu sync.Mutex
	reconciled := map[string]bool{}
	adminLn := listen(t)
	var logOut io.Writer = io.Discard
	if os.Getenv("HORIZON_BENCH_LOG") != "" { // the daemon's warnings, to see why a figure is off
		logOut = os.Stderr
	}
	d, err := daemon.New(daemon.Options{ConfigPath: dir, Listener: ln, AdminListener: adminLn, Store: st, RatePerSecond: -1,
		Logger: slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelWarn})), ReconcileInterval: time.Hour,
		Events: func(e daemon.Event) {
			if e.Kind == "reconciled" {
				mu.Lock()
				reconciled[e.Account] = true
				mu.Unlock()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	began := time.Now()
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	deadline := time.Now().Add(10 * time.Minute)
	pending := slices.Clone(accts)
	wait := func(what string, cond func() bool) {
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	wait("every account reconciled", func() bool { mu.Lock(); defer mu.Unlock(); return len(reconciled) == n })
	// Settled: every entity backfilled and no run of the account's
	// startup still going, so that the load meets the steady state.
	wait("every account backfilled and settled", func() bool {
		pending = slices.DeleteFunc(pending, func(a *fleetAccount) bool {
			return settled(t, st, store.Scope{Account: a.name, Provider: a.provider})
		})
		return len(pending) == 0
	})
	res := scaleResult{accounts: n, startup: time.Since(began)}
	res.heapPerAccount = float64(heapInUse()-heapBefore) / float64(n)
	res.reconcileMean = reconcileMean(t, "http://"+ln.Addr().String())

	// The load: each change is a staff edit or a new ticket in one
	// account's PSA, which calls back; the daemon fetches the ticket and
	// stores it.
	timer.reset()
	type key struct {
		acct int
		id   int64
	}
	latest := map[key]string{}
	ids := make([][]int64, n)
	for i, a := range accts {
		tks, _ := a.world.QueryTickets(sandbox.TicketQuery{})
		for _, tk := range tks {
			ids[i] = append(ids[i], tk.ID)
		}
	}
	// Changes are made on a schedule, not on a ticker's ticks: a ticker
	// drops the ticks a busy machine misses, and the rate with them.
	if p := os.Getenv("HORIZON_BENCH_CPUPROFILE"); p != "" { // the load alone, not the startup
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	loadStart := time.Now()
	sent := 0
	for elapsed := time.Duration(0); elapsed < load; elapsed = time.Since(loadStart) {
		for due := int(rate * elapsed.Seconds()); sent < due; sent++ {
			i := rand.IntN(n)
			a := accts[i]
			id := ids[i][rand.IntN(len(ids[i]))]
			summary := "load " + strconv.Itoa(sent)
			by := sandbox.UI(a.world.Members()[1].ID)
			if sent%10 == 9 { // a mix: one change in ten is a new ticket
				tk, _ := a.world.Ticket(id)
				tk.Summary, tk.Deleted = summary, false
				id = a.world.CreateTicket(tk, by).ID
				ids[i] = append(ids[i], id)
			} else if _, err := a.world.UpdateTicket(id, by, func(tk *sandbox.Ticket) error {
				tk.Summary = summary
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			latest[key{i, id}] = summary
		}
		time.Sleep(time.Millisecond) // the generator's pace, not a wait for a condition
	}
	res.rate = float64(sent) / time.Since(loadStart).Seconds()
	pprof.StopCPUProfile()

	// Nothing lost: every ticket's last change reaches the store.
	lostDeadline := time.Now().Add(2 * time.Minute)
	for {
		res.lost = 0
		byAcct := map[int]map[string]bool{}
		for k := range latest {
			if byAcct[k.acct] == nil {
				byAcct[k.acct] = storedSummaries(t, st, accts[k.acct])
			}
		}
		for k, s := range latest {
			if !byAcct[k.acct][s] {
				res.lost++
			}
		}
		if res.lost == 0 || time.Now().After(lostDeadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	timer.mu.Lock()
	times := slices.Clone(timer.times)
	fails := maps.Clone(timer.fails)
	timer.mu.Unlock()
	slices.Sort(times)
	res.callbacks = len(times)
	if len(times) > 0 {
		res.p50 = times[len(times)/2]
		res.p99 = times[min(len(times)-1, len(times)*99/100)]
	}
	res.refused = fails
	res.answered2xx = metricValue(t, "http://"+ln.Addr().String(), `horizon_callback_answer_duration_seconds_count{code="200"}`)
	return res
}

// settled reports whether an account has backfilled its tickets (all 50),
// contacts and companies and has no sync run in progress.
func settled(t testing.TB, st store.Store, scope store.Scope) bool {
	ctx := context.Background()
	if c, err := st.Count(ctx, scope, helpdesk.EntityTickets); err != nil || c != 50 {
		return false
	}
	runs, err := st.SyncRuns(ctx, scope, store.SyncRunFilter{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	done := map[helpdesk.Entity]bool{}
	for _, r := range runs {
		if r.FinishedAt.IsZero() {
			return false
		}
		if r.Trigger == store.TriggerBackfill {
			done[r.Entity] = true
		}
	}
	return done[helpdesk.EntityTickets] && done[helpdesk.EntityContacts] && done[helpdesk.EntityCompanies]
}

func storedSummaries(t testing.TB, st store.Store, a *fleetAccount) map[string]bool {
	out := map[string]bool{}
	for tk, err := range st.Tickets(context.Background(), store.Scope{Account: a.name, Provider: a.provider}) {
		if err != nil {
			t.Fatal(err)
		}
		out[tk.Summary] = true
	}
	return out
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// reconcileMean reads every account's reconcile histogram.
func reconcileMean(t testing.TB, base string) time.Duration {
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var sum, count float64
	for _, line := range strings.Split(string(body), "\n") {
		name, v, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		f, _ := strconv.ParseFloat(v, 64)
		switch {
		case strings.HasPrefix(name, "horizon_reconcile_duration_seconds_sum{"):
			sum += f
		case strings.HasPrefix(name, "horizon_reconcile_duration_seconds_count{"):
			count += f
		}
	}
	if count == 0 {
		return 0
	}
	return time.Duration(sum / count * float64(time.Second))
}

// TestFleetScale runs a small fleet end to end under callback load: every
// account reconciled and synced, every change a callback announced is
// in the store. BenchmarkFleet measures the same at 10, 100 and 1,000
// accounts.
func TestFleetScale(t *testing.T) {
	res := runFleetScale(t, 8, 100, 2*time.Second)
	t.Logf("%+v", res)
	if res.lost > 0 {
		t.Errorf("%d changes announced by callbacks never reached the store", res.lost)
	}
	if res.callbacks == 0 {
		t.Error("no callback reached the daemon during the load")
	}
	if len(res.refused) > 0 {
		t.Errorf("callbacks not answered 2xx, by status: %v (of %d)", res.refused, res.callbacks)
	}
	// The answer-time histogram counts what the PSAs saw (and the
	// startup's webhooks, if any).
	if res.answered2xx < float64(res.callbacks) {
		t.Errorf("horizon_callback_answer_duration_seconds counted %v 2xx answers; the PSAs got %d", res.answered2xx, res.callbacks)
	}
}

// BenchmarkFleet: one replica, n accounts of 50 tickets each on SQLite
// (GOGC=400, as deploy/ sets it),
// every PSA in turn, then callbacks at 1,000/s spread over the accounts
// for 10 s. HORIZON_BENCH_ACCOUNTS picks the sizes (default 10,100,1000);
// HORIZON_BENCH_STORE=postgres runs the store on PostgreSQL
// (HORIZON_TEST_POSTGRES_URL, as scripts/with-postgres sets) instead.
func BenchmarkFleet(b *testing.B) {
	// The daemon as deploy/ runs it: GOGC=400 (unless GOGC says
	// otherwise). The emulated PSAs share the process and its collector.
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	sizes := []int{10, 100, 1000}
	if s := os.Getenv("HORIZON_BENCH_ACCOUNTS"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				b.Fatalf("HORIZON_BENCH_ACCOUNTS=%q: want a comma-separated list of account counts", s)
			}
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			for range b.N {
				res := runFleetScale(b, n, 1000, 10*time.Second)
				b.ReportMetric(float64(res.accounts), "accounts")
				b.ReportMetric(res.heapPerAccount/(1<<20), "MB/account")
				b.ReportMetric(float64(res.reconcileMean.Microseconds())/1000, "ms/account-reconcile")
				b.ReportMetric(res.startup.Seconds(), "s-startup")
				b.ReportMetric(res.rate, "callbacks/s")
				b.ReportMetric(float64(res.p50.Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(res.p99.Microseconds())/1000, "p99-ms")
				b.ReportMetric(float64(res.lost), "lost")
				refused := 0
				for _, n := range res.refused {
					refused += n
				}
				b.ReportMetric(float64(refused)/float64(max(res.callbacks, 1)), "refused/callback")
			}
		})
	}
}

// replicaScale is what a run of two replicas measured.
type replicaScale struct {
	accounts int
	split    time.Duration // from the second replica's start until each leads half
	takeover time.Duration // from the kill until the survivor leads every account
	ttl      time.Duration
}

// runReplicaScale runs n accounts on two replicas sharing one PostgreSQL
// database, waits until they split the accounts evenly, kills one without
// a goodbye and times until the other leads every account.
func runReplicaScale(t testing.TB, n int, ttl time.Duration) replicaScale {
	u := pgtest.FreshURL(t)
	open := func() *killable { return &killable{Store: openStore(t, u)} }
	root := t.TempDir()
	dir := filepath.Join(root, "accounts")
	os.Mkdir(dir, 0o700)
	ln := listen(t)
	base := "http://" + ln.Addr().String()
	for i := range n {
		a := newFleetAccount(t, fmt.Sprintf("acct-%04d", i), scaleProviders[i%len(scaleProviders)], 10)
		writeFile(t, filepath.Join(dir, a.name+".yaml"), a.file(t, dir, base, ""))
	}
	stA, stB := open(), open()
	a := startFleet(t, dir, fleetOptions{store: stA, holder: "replica-a", leaseTTL: ttl}, ln)
	wait := func(d time.Duration, what string, cond func() bool) {
		deadline := time.Now().Add(d)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out after %s waiting for %s", d, what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	wait(10*time.Minute, "replica a leading every account", func() bool { return heldBy(t, stA)["replica-a"] == n })
	began := time.Now()
	startFleet(t, dir, fleetOptions{store: stB, holder: "replica-b", leaseTTL: ttl}, listen(t))
	half := (n + 1) / 2
	wait(10*time.Minute, "an even split", func() bool {
		h := heldBy(t, stA)
		return h["replica-a"] <= half && h["replica-b"] >= n-half && h["replica-a"]+h["replica-b"] == n
	})
	res := replicaScale{accounts: n, split: time.Since(began), ttl: ttl}
	stA.dead.Store(true)
	killed := time.Now()
	a.stop()
	wait(10*time.Minute, "replica b leading every account", func() bool { return heldBy(t, stB)["replica-b"] == n })
	res.takeover = time.Since(killed)
	return res
}

// BenchmarkFleetReplicas: two replicas on PostgreSQL split the accounts
// (HORIZON_BENCH_ACCOUNTS, default 1000), then one is killed.
func BenchmarkFleetReplicas(b *testing.B) {
	n := 1000
	if s := os.Getenv("HORIZON_BENCH_ACCOUNTS"); s != "" {
		f := strings.Split(s, ",")
		n, _ = strconv.Atoi(strings.TrimSpace(f[len(f)-1]))
	}
	for range b.N {
		res := runReplicaScale(b, n, 10*time.Second)
		b.ReportMetric(float64(res.accounts), "accounts")
		b.ReportMetric(res.split.Seconds(), "s-split")
		b.ReportMetric(res.takeover.Seconds(), "s-takeover")
		b.ReportMetric(res.takeover.Seconds()/res.ttl.Seconds(), "takeover/ttl")
	}
}
