package daemon_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/daemon"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	_ "github.com/horizon/reconciler/internal/helpdesk/sandbox/connectwise"
	"github.com/horizon/reconciler/internal/store"
	_ "github.com/horizon/reconciler/internal/store/sqlite"
)

// running is a daemon on a sandbox ConnectWise, with its file on disk.
type running struct {
	base   string // daemon's HTTP base URL
	admin  string // the status pages' base URL
	file   string
	world  *sandbox.World
	events chan daemon.Event
	reload chan struct{}
	db     string
	stop   func()
}

const goodTail = `
sync:
  entities: [tickets, contacts, companies]
  ingestWindow: 30d
callbacks:
  url: %s/callbacks/connectwise
  secret: {env: HORIZON_TEST_CALLBACK_SECRET}
  events: [ticket.created, ticket.updated]
widgets:
  - {name: dashboard, url: %s}
`

func start(t *testing.T) *running { return startWith(t, startOptions{}) }

// startOptions let a test run several replicas on one store, or put a
// misbehaving PSA or store in front of the daemon.
type startOptions struct {
	peer     *running // share its PSA, file and database
	leaseTTL time.Duration
	psa      func(http.Handler) http.Handler // wraps the emulator
	store    func(store.Store) store.Store   // wraps the store
	interval time.Duration                   // reconcile interval (default 1h)
	retry    time.Duration                   // RetryBase
	provider string                          // the emulated PSA (default connectwise)
	callback string                          // extra lines of the callbacks: block
	now      func() time.Time                // the daemon's clock
}

func startWith(t *testing.T, so startOptions) *running {
	t.Helper()
	if so.peer != nil {
		return startReplica(t, so)
	}
	world := sandbox.Generate(sandbox.GenOptions{Tickets: 50, Seed: 3})
	if so.provider == "" {
		so.provider = "connectwise"
	}
	em, err := sandbox.New(so.provider, sandbox.Options{World: world, DeliveryScale: 0.001})
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = em
	if so.psa != nil {
		h = so.psa(em)
	}
	psa := httptest.NewServer(h)
	widget := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<p>widget</p>")
	}))
	for k, v := range em.Env() {
		t.Setenv(k, v)
	}
	t.Setenv("HORIZON_TEST_CALLBACK_SECRET", "daemon-test-secret-0123")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	adminLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "horizon.yaml")
	yaml := "apiVersion: horizon/v1\naccount: {name: daemon-test}\n" + em.ConfigFragment(psa.URL) +
		strings.NewReplacer("%s/callbacks/connectwise", base+"/callbacks/"+so.provider, "url: %s}", "url: "+widget.URL+"}",
			"callbacks:\n", "callbacks:\n"+so.callback).Replace(goodTail)
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(dir, "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	var dst store.Store = st
	if so.store != nil {
		dst = so.store(st)
	}
	if so.interval == 0 {
		so.interval = time.Hour
	}
	r := &running{base: base, admin: "http://" + adminLn.Addr().String(), file: file, world: world, events: make(chan daemon.Event, 100), reload: make(chan struct{}, 1),
		db: filepath.Join(dir, "h.db")}
	d, err := daemon.New(daemon.Options{ConfigPath: file, Listener: ln, AdminListener: adminLn, Store: dst, RatePerSecond: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), LeaseTTL: so.leaseTTL,
		ReconcileInterval: so.interval, RetryBase: so.retry, Reload: r.reload, Now: so.now, Debounce: daemon.Debounce{Min: 20 * time.Millisecond, Max: time.Second},
		Events: func(e daemon.Event) {
			select {
			case r.events <- e:
			default:
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
			st.Close()
			psa.Close()
			widget.Close()
			em.Close()
		})
	}
	t.Cleanup(r.stop)
	return r
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var client = &http.Client{Timeout: 5 * time.Second}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := client.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// metric returns the value of one series in the exposition, or -1.
func metric(t *testing.T, base, series string) float64 {
	t.Helper()
	_, body := get(t, base+"/metrics")
	re := regexp.MustCompile("(?m)^" + regexp.QuoteMeta(ofAccount(series)) + ` (\S+)$`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// ofAccount adds the test account's label to a series (or a prefix of
// one: `horizon_leader 1`, `horizon_x{kind="y"}`): every account series
// carries it, first since labels are sorted.
func ofAccount(series string) string { return withLabel(series, `account="daemon-test"`) }

// reconciled waits for the first successful reconcile pass.
func reconciled(t *testing.T, r *running) {
	t.Helper()
	eventually(t, "a successful reconcile", func() bool {
		return metric(t, r.base, `horizon_reconcile_total{result="success"}`) >= 1
	})
}

func TestDaemonReadyMetricsAndCallbacks(t *testing.T) {
	r := start(t)
	eventually(t, "readyz", func() bool { s, _ := get(t, r.base+"/readyz"); return s == 200 })
	reconciled(t, r)
	if s, _ := get(t, r.base+"/healthz"); s != 200 {
		t.Fatalf("healthz = %d", s)
	}
	_, body := get(t, r.base+"/metrics")
	for _, want := range []string{
		`horizon_config_valid 1`,
		`horizon_config_info{hash=`,
		`horizon_reconcile_total{result="success"}`,
		`horizon_reconcile_last_success_timestamp_seconds `,
		`horizon_drift_items{kind="webhooks"} 0`,
		`horizon_drift_items{kind="userMappings"}`,
		`horizon_helpdesk_users_unmapped `,
		`horizon_widget_up{widget="dashboard"} 1`,
		`horizon_leader 1`,
		`horizon_callback_stale_after_seconds 900`,
		`horizon_sync_runs_total{entity="tickets",result="success",trigger="backfill"}`,
	} {
		if want = ofAccount(want); !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// A change made in the PSA reaches Horizon as a callback.
	tk, _ := r.world.QueryTickets(sandbox.TicketQuery{Limit: 1})
	if _, err := r.world.UpdateTicket(tk[0].ID, sandbox.UI(r.world.Members()[1].ID), func(t *sandbox.Ticket) error {
		t.Summary = "changed in the PSA"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a processed callback", func() bool {
		return metric(t, r.base, `horizon_callbacks_received_total{event="ticket.updated",provider="connectwise",result="accepted"}`) >= 1
	})
}

func TestDaemonKeepsLastGoodConfig(t *testing.T) {
	r := start(t)
	eventually(t, "readyz", func() bool { s, _ := get(t, r.base+"/readyz"); return s == 200 })
	good, err := os.ReadFile(r.file)
	if err != nil {
		t.Fatal(err)
	}
	// An editor saves an invalid file (write a temp file, rename it over).
	tmp := r.file + ".tmp"
	os.WriteFile(tmp, []byte(strings.Replace(string(good), "ingestWindow: 30d", "ingestWindow: 30 days", 1)), 0o600)
	if err := os.Rename(tmp, r.file); err != nil {
		t.Fatal(err)
	}
	eventually(t, "config_valid 0", func() bool { return metric(t, r.base, "horizon_config_valid") == 0 })
	if got := metric(t, r.base, `horizon_reconcile_total{result="invalid_config"}`); got < 1 {
		t.Errorf(`horizon_reconcile_total{result="invalid_config"} = %v, want at least 1`, got)
	}
	if s, _ := get(t, r.base+"/readyz"); s != 200 {
		t.Fatal("an invalid file made the daemon unready: it must keep running on the last good config")
	}
	// A valid edit is taken: widen the ingest window.
	os.WriteFile(tmp, []byte(strings.Replace(string(good), "ingestWindow: 30d", "ingestWindow: 60d", 1)), 0o600)
	if err := os.Rename(tmp, r.file); err != nil {
		t.Fatal(err)
	}
	eventually(t, "config_valid 1", func() bool { return metric(t, r.base, "horizon_config_valid") == 1 })
	eventually(t, "a reload event", func() bool {
		for {
			select {
			case e := <-r.events:
				if e.Kind == "reload" {
					return true
				}
			default:
				return false
			}
		}
	})
}

// waitEvent waits for an event of the given kind.
func waitEvent(t *testing.T, r *running, kind string) daemon.Event {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case e := <-r.events:
			if e.Kind == kind {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s event", kind)
		}
	}
}

// TestDaemonReloadsRotatedSecret checks that SIGHUP picks up a secret whose
// value changed behind an unchanged reference, and ignores a no-op reload.
func TestDaemonReloadsRotatedSecret(t *testing.T) {
	r := start(t)
	eventually(t, "readyz", func() bool { s, _ := get(t, r.base+"/readyz"); return s == 200 })
	t.Setenv("HORIZON_TEST_CALLBACK_SECRET", "rotated-secret-value-456")
	r.reload <- struct{}{}
	waitEvent(t, r, "reload")
	hash := func() string {
		_, body := get(t, r.base+"/metrics")
		m := regexp.MustCompile(`horizon_config_info\{account="daemon-test",hash="([^"]+)"`).FindStringSubmatch(body)
		if m == nil {
			return ""
		}
		return m[1]
	}
	before := hash()
	r.reload <- struct{}{} // nothing changed: no new generation
	select {
	case e := <-r.events:
		if e.Kind == "reload" {
			t.Fatal("a reload with nothing changed started a new generation")
		}
	case <-time.After(300 * time.Millisecond):
	}
	if hash() != before {
		t.Fatal("config hash changed on a no-op reload")
	}
}

// startReplica runs another daemon on the peer's file and database, as a
// second replica sharing one store.
func startReplica(t *testing.T, so startOptions) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), "sqlite:"+so.peer.db)
	if err != nil {
		t.Fatal(err)
	}
	r := &running{base: "http://" + ln.Addr().String(), file: so.peer.file, world: so.peer.world, db: so.peer.db,
		events: make(chan daemon.Event, 100), reload: make(chan struct{}, 1)}
	d, err := daemon.New(daemon.Options{ConfigPath: r.file, Listener: ln, Store: st, RatePerSecond: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), ReconcileInterval: time.Hour,
		LeaseTTL: so.leaseTTL, Holder: "replica-2", Reload: r.reload})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			<-done
			st.Close()
		})
	}
	t.Cleanup(r.stop)
	return r
}

// TestOneLeaderAmongReplicas runs two replicas on one store: exactly one
// leads, both are ready and accept callbacks, and when the leader goes
// the other takes over.
func TestOneLeaderAmongReplicas(t *testing.T) {
	a := start(t)
	eventually(t, "first replica ready", func() bool { s, _ := get(t, a.base+"/readyz"); return s == 200 })
	b := startWith(t, startOptions{peer: a, leaseTTL: 3 * time.Second})
	eventually(t, "second replica ready", func() bool { s, _ := get(t, b.base+"/readyz"); return s == 200 })
	if la, lb := metric(t, a.base, "horizon_leader"), metric(t, b.base, "horizon_leader"); la+lb != 1 {
		t.Fatalf("leaders: first %v, second %v; want exactly one", la, lb)
	}
	if s, _ := get(t, b.base+"/callbacks/connectwise"); s == 0 || s == 503 {
		t.Fatalf("the follower does not serve callbacks (status %d)", s)
	}
	a.stop() // the leader releases its lease on the way out
	eventually(t, "the second replica to lead", func() bool { return metric(t, b.base, "horizon_leader") == 1 })
}

// TestSIGHUPReconcilesUnchangedFile: SIGHUP with the file and its secrets
// unchanged starts no new generation but runs a reconcile pass now, as
// `run --help` says.
func TestSIGHUPReconcilesUnchangedFile(t *testing.T) {
	r := start(t)
	reconciled(t, r)
	before := metric(t, r.base, `horizon_reconcile_total{result="success"}`)
	r.reload <- struct{}{}
	eventually(t, "a reconcile pass after SIGHUP", func() bool {
		return metric(t, r.base, `horizon_reconcile_total{result="success"}`) > before
	})
	for {
		select {
		case e := <-r.events:
			if e.Kind == "reload" {
				t.Fatal("SIGHUP with nothing changed started a new generation")
			}
			continue
		default:
		}
		break
	}
}
