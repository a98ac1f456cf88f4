package daemon_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/daemon"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	"github.com/horizon/reconciler/internal/store"

	_ "github.com/horizon/reconciler/internal/helpdesk/sandbox/autotask"
	_ "github.com/horizon/reconciler/internal/helpdesk/sandbox/halopsa"
)

// fleetAccount is one account of a fleet test: its own emulated PSA.
type fleetAccount struct {
	name, provider string
	world          *sandbox.World
	em             sandbox.Emulator
	psa            *httptest.Server
}

// newFleetAccount starts an emulator for an account. Its credentials go
// in files beside the account file ({file: ...} references), since
// several accounts of one PSA would otherwise share variable names.
func newFleetAccount(t testing.TB, name, provider string, tickets int) *fleetAccount {
	return newTimedFleetAccount(t, name, provider, tickets, nil)
}

// newTimedFleetAccount is newFleetAccount whose PSA sends its webhooks
// through rt (nil: the default transport).
func newTimedFleetAccount(t testing.TB, name, provider string, tickets int, rt http.RoundTripper) *fleetAccount {
	t.Helper()
	world := sandbox.Generate(sandbox.GenOptions{Tickets: tickets, Seed: int64(len(name)) + 7})
	em, err := sandbox.New(provider, sandbox.Options{World: world, DeliveryScale: 0.001, DeliveryTransport: rt})
	if err != nil {
		t.Fatal(err)
	}
	psa := httptest.NewServer(em)
	t.Cleanup(func() { psa.Close(); em.Close() })
	return &fleetAccount{name: name, provider: provider, world: world, em: em, psa: psa}
}

// file returns the account's horizon.yaml, its secrets written under
// secrets/NAME/ in dir; callbacks go to base/callbacks/NAME/PROVIDER.
func (a *fleetAccount) file(t testing.TB, dir, base, extra string) string {
	t.Helper()
	frag := a.em.ConfigFragment(a.psa.URL)
	sdir := filepath.Join(dir, "..", "secrets", a.name)
	if err := os.MkdirAll(sdir, 0o700); err != nil {
		t.Fatal(err)
	}
	for k, v := range a.em.Env() {
		p := filepath.Join(sdir, k)
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
		frag = strings.ReplaceAll(frag, "{env: "+k+"}", "{file: "+p+"}")
	}
	return fmt.Sprintf("apiVersion: horizon/v1\naccount: {name: %s}\n%s"+
		"sync:\n  entities: [tickets, contacts, companies]\n  ingestWindow: 30d\n"+
		"callbacks:\n  url: %s/callbacks/%s/%s\n  secret: {file: %s}\n  events: [ticket.created, ticket.updated]\n%s",
		a.name, frag, base, a.name, a.provider, a.secretFile(t, sdir), extra)
}

func (a *fleetAccount) secretFile(t testing.TB, dir string) string {
	p := filepath.Join(dir, "callback-secret")
	if err := os.WriteFile(p, []byte("fleet-secret-"+a.name+"-0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// fleet is a daemon running a directory of account files.
type fleet struct {
	base, admin string
	dir         string
	events      chan daemon.Event
	stop        func()
	st          store.Store
}

type fleetOptions struct {
	more     []string    // more files or directories (ConfigPaths)
	store    store.Store // default: SQLite in a temp dir
	holder   string
	leaseTTL time.Duration
	// outboxPoll is the replica's outbox poll (0: the default).
	outboxPoll time.Duration
}

func startFleet(t testing.TB, dir string, fo fleetOptions, ln net.Listener) *fleet {
	t.Helper()
	if fo.store == nil {
		st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(filepath.Dir(dir), "h.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fo.store = st
	}
	adminLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fleet{base: "http://" + ln.Addr().String(), admin: "http://" + adminLn.Addr().String(), dir: dir,
		events: make(chan daemon.Event, 1000), st: fo.store}
	d, err := daemon.New(daemon.Options{ConfigPath: dir, ConfigPaths: fo.more, Listener: ln, AdminListener: adminLn, Store: fo.store,
		RatePerSecond: -1, Holder: fo.holder, LeaseTTL: fo.leaseTTL, OutboxPollInterval: fo.outboxPoll,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), ReconcileInterval: time.Hour,
		Debounce: daemon.Debounce{Min: 20 * time.Millisecond, Max: time.Second},
		Events: func(e daemon.Event) {
			select {
			case f.events <- e:
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
	f.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		})
	}
	t.Cleanup(f.stop)
	return f
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func writeFile(t testing.TB, path, body string) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil { // as editors and ConfigMaps do: never a half file
		t.Fatal(err)
	}
}

// accountMetric reads one account's series.
func accountMetric(t testing.TB, base, account, series string) float64 {
	t.Helper()
	return metricValue(t, base, withLabel(series, `account="`+account+`"`))
}

func withLabel(series, label string) string {
	name, rest, hasValue := strings.Cut(series, " ")
	if i := strings.IndexByte(name, '{'); i >= 0 {
		name = name[:i+1] + label + "," + name[i+1:]
	} else {
		name += "{" + label + "}"
	}
	if hasValue {
		return name + " " + rest
	}
	return name
}

func metricValue(t testing.TB, base, series string) float64 {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	return -1
}

// TestFleetRunsADirectoryOfAccounts: one process runs every account file
// of a directory; each account reconciles and takes callbacks at its own
// path; an invalid file, a duplicate name or a failing PSA affects only
// its own account; files added, fixed and removed are followed.
func TestFleetRunsADirectoryOfAccounts(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "accounts")
	os.Mkdir(dir, 0o700)
	ln := listen(t)
	base := "http://" + ln.Addr().String()
	acme := newFleetAccount(t, "acme", "connectwise", 20)
	globex := newFleetAccount(t, "globex", "halopsa", 20)
	initech := newFleetAccount(t, "initech", "autotask", 20)
	writeFile(t, filepath.Join(dir, "acme.yaml"), acme.file(t, dir, base, ""))
	writeFile(t, filepath.Join(dir, "globex.yaml"), globex.file(t, dir, base, ""))
	writeFile(t, filepath.Join(dir, "initech.yaml"), "apiVersion: horizon/v1\naccount: {name: initech}\n") // invalid
	writeFile(t, filepath.Join(dir, "dup.yaml"), acme.file(t, dir, base, ""))                              // acme's name again
	f := startFleet(t, dir, fleetOptions{}, ln)

	eventually(t, "both valid accounts reconciled", func() bool {
		return accountMetric(t, base, "acme", `horizon_reconcile_total{result="success"}`) >= 1 &&
			accountMetric(t, base, "globex", `horizon_reconcile_total{result="success"}`) >= 1
	})
	if got := metricValue(t, base, `horizon_accounts{state="running"}`); got != 2 {
		t.Errorf("running accounts = %v, want 2 (acme, globex)", got)
	}
	if got := metricValue(t, base, `horizon_accounts{state="not_running"}`); got != 2 {
		t.Errorf("accounts not running = %v, want 2 (initech invalid, dup.yaml reusing acme's name)", got)
	}
	if s, _ := get(t, base+"/readyz"); s != 200 {
		t.Errorf("readyz = %d: an invalid account file must not take the others' callbacks offline", s)
	}

	// The status pages: an accounts overview naming the broken file, and
	// each account's pages under its name.
	if s, body := get(t, f.admin+"/ui/"); s != 200 || !strings.Contains(body, "acme") || !strings.Contains(body, "globex") ||
		!strings.Contains(body, "initech") {
		t.Errorf("accounts overview = %d, want acme, globex and the invalid initech:\n%s", s, body)
	}
	if s, body := get(t, f.admin+"/ui/accounts/globex/"); s != 200 || !strings.Contains(body, "globex") {
		t.Errorf("/ui/accounts/globex/ = %d\n%s", s, body)
	}
	if s, _ := get(t, f.admin+"/ui/accounts/nosuch/"); s != http.StatusNotFound {
		t.Errorf("/ui/accounts/nosuch/ = %d, want 404", s)
	}

	// Each account's callbacks arrive at its own path and land in its own scope.
	tk, _ := acme.world.QueryTickets(sandbox.TicketQuery{Limit: 1})
	if _, err := acme.world.UpdateTicket(tk[0].ID, sandbox.UI(acme.world.Members()[1].ID), func(tk *sandbox.Ticket) error {
		tk.Summary = "changed at acme"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "acme's callback", func() bool {
		return accountMetric(t, base, "acme", `horizon_callbacks_received_total{event="ticket.updated",provider="connectwise",result="accepted"}`) >= 1
	})
	if got := accountMetric(t, base, "globex", `horizon_callbacks_received_total{event="ticket.updated",provider="connectwise",result="accepted"}`); got > 0 {
		t.Errorf("acme's callback counted for globex: %v", got)
	}
	for _, path := range []string{"/callbacks/connectwise", "/callbacks/nosuch/connectwise"} {
		res, err := http.Post(base+path, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s = %d, want 404: several accounts run here, the path must name one that exists", path, res.StatusCode)
		}
	}
	// The write API names the account too.
	res, err := http.Post(base+"/api/v1/accounts/nosuch/tickets", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "not_found") {
		t.Errorf("write API of an unknown account = %d %s", res.StatusCode, body)
	}
	if s, body := get(t, base+"/api/v1/accounts/acme/writes/1"); s != http.StatusUnauthorized && s != http.StatusNotFound && s != http.StatusForbidden {
		t.Errorf("GET /api/v1/accounts/acme/writes/1 = %d %s: want the account's own API to answer", s, body)
	}

	// One account's file turns invalid: it keeps its last good config; the
	// other is untouched.
	before := accountMetric(t, base, "globex", `horizon_reconcile_total{result="success"}`)
	writeFile(t, filepath.Join(dir, "acme.yaml"), "apiVersion: horizon/v1\naccount: {name: acme}\nhelpdesk: 7\n")
	eventually(t, "acme's config_valid 0", func() bool { return accountMetric(t, base, "acme", "horizon_config_valid") == 0 })
	if got := accountMetric(t, base, "globex", "horizon_config_valid"); got != 1 {
		t.Errorf("globex config_valid = %v after acme's file broke", got)
	}
	if got := accountMetric(t, base, "acme", "horizon_leader"); got != 1 {
		t.Errorf("acme stopped running on its last good config (leader %v)", got)
	}
	if got := accountMetric(t, base, "globex", `horizon_reconcile_total{result="success"}`); got < before {
		t.Errorf("globex's counters went back: %v < %v", got, before)
	}

	// The invalid file is fixed and the duplicate renamed: both start;
	// acme's file is removed: acme stops and gives its lease up.
	writeFile(t, filepath.Join(dir, "initech.yaml"), initech.file(t, dir, base, ""))
	writeFile(t, filepath.Join(dir, "dup.yaml"), strings.Replace(acme.file(t, dir, base, ""), "{name: acme}", "{name: acme-two}", 1))
	eventually(t, "initech and acme-two reconciled", func() bool {
		return accountMetric(t, base, "initech", `horizon_reconcile_total{result="success"}`) >= 1 &&
			accountMetric(t, base, "acme-two", `horizon_reconcile_total{result="success"}`) >= 1
	})
	// A rename to a name another file runs is refused: the account keeps
	// running under its old name on its last good file.
	writeFile(t, filepath.Join(dir, "globex.yaml"), strings.Replace(globex.file(t, dir, base, ""), "{name: globex}", "{name: initech}", 1))
	eventually(t, "globex refusing the taken name", func() bool { return accountMetric(t, base, "globex", "horizon_config_valid") == 0 })
	if got := accountMetric(t, base, "globex", "horizon_leader"); got != 1 {
		t.Errorf("globex stopped when its file took a name already run (leader %v)", got)
	}
	writeFile(t, filepath.Join(dir, "globex.yaml"), globex.file(t, dir, base, ""))
	eventually(t, "globex valid again", func() bool { return accountMetric(t, base, "globex", "horizon_config_valid") == 1 })

	// A broken file that is deleted is no longer counted.
	writeFile(t, filepath.Join(dir, "junk.yaml"), "apiVersion: horizon/v1\n")
	eventually(t, "junk.yaml counted", func() bool { return metricValue(t, base, `horizon_accounts{state="not_running"}`) == 1 })
	os.Remove(filepath.Join(dir, "junk.yaml"))
	eventually(t, "junk.yaml forgotten", func() bool { return metricValue(t, base, `horizon_accounts{state="not_running"}`) == 0 })

	os.Remove(filepath.Join(dir, "acme.yaml"))
	eventually(t, "acme removed", func() bool {
		return accountMetric(t, base, "acme", "horizon_config_valid") == -1 && metricValue(t, base, `horizon_accounts{state="running"}`) == 3
	})
	leases, err := f.st.Leases(context.Background(), "account/")
	if err != nil {
		t.Fatal(err)
	}
	var held []string
	for _, l := range leases {
		held = append(held, strings.TrimPrefix(l.Name, "account/"))
	}
	if got := strings.Join(held, " "); got != "acme-two/connectwise globex/halopsa initech/autotask" {
		t.Errorf("leases held = %q, want acme's given up and the three others held", got)
	}
}

// TestFleetOfSeveralFiles: a daemon given files (not a directory) stops
// the account of a file that is deleted and goes on reloading the others;
// it never answers the paths without an account.
func TestFleetOfSeveralFiles(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "etc")
	os.Mkdir(dir, 0o700)
	ln := listen(t)
	base := "http://" + ln.Addr().String()
	acme := newFleetAccount(t, "acme", "connectwise", 10)
	globex := newFleetAccount(t, "globex", "halopsa", 10)
	a, b := filepath.Join(dir, "acme.yaml"), filepath.Join(dir, "globex.yaml")
	writeFile(t, a, acme.file(t, dir, base, ""))
	writeFile(t, b, globex.file(t, dir, base, ""))
	startFleet(t, a, fleetOptions{more: []string{b}}, ln)
	eventually(t, "both reconciled", func() bool {
		return accountMetric(t, base, "acme", `horizon_reconcile_total{result="success"}`) >= 1 &&
			accountMetric(t, base, "globex", `horizon_reconcile_total{result="success"}`) >= 1
	})
	os.Remove(b)
	eventually(t, "globex stopped", func() bool { return accountMetric(t, base, "globex", "horizon_config_valid") == -1 })
	writeFile(t, a, "apiVersion: horizon/v1\naccount: {name: acme}\nhelpdesk: 7\n")
	eventually(t, "acme's edit seen after globex's file went", func() bool {
		return accountMetric(t, base, "acme", "horizon_config_valid") == 0
	})
	res, err := http.Post(base+"/callbacks/connectwise", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("POST /callbacks/connectwise to a daemon of several files running one account = %d, want 404", res.StatusCode)
	}
}
