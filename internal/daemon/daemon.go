// Package daemon is `reconciler run`: it keeps accounts reconciled, one
// per horizon.yaml, from one file, several files or a directory of them.
// It serves /metrics, /healthz, /readyz, the callback endpoints, the write
// API and the status pages; for each account it reconciles on an interval
// with jitter, on a change of its file (debounced) and on SIGHUP; runs the
// polling sync, the picklist refresh, the callback dispatcher and the
// write-back worker; and never replaces an account's last good config
// with an invalid one. An invalid or failing account never affects the
// others.
//
// Several replicas may share one PostgreSQL store: every replica accepts
// and logs callbacks for every account, and the holder of an account's
// lease (a row with an epoch, renewed every few seconds) runs its
// reconcile loop, polling sync, dispatcher and write-back. Replicas share
// the accounts evenly (see share.go).
package daemon

import (
	"context"
	"errors"
	"fmt"
	iofs "io/fs"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/horizon/reconciler/internal/callback"
	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/metrics"
	"github.com/horizon/reconciler/internal/retention"
	"github.com/horizon/reconciler/internal/store"
)

// Defaults for Options.
const (
	DefaultReconcileInterval = 10 * time.Minute
	DefaultLeaseTTL          = 30 * time.Second
)

// Options configure a Daemon.
type Options struct {
	// ConfigPath is an account file or a directory of them (every
	// non-hidden *.yaml and *.yml); ConfigPaths adds more of either.
	ConfigPath  string
	ConfigPaths []string
	// Listen is the HTTP address (HORIZON_LISTEN_ADDR); Listener, when
	// set, is used instead (tests, the demo).
	Listen   string
	Listener net.Listener
	Store    store.Store
	// Registry holds the process's own collectors; each account's
	// collectors live in a registry of their own, labelled account=NAME,
	// and /metrics serves them all. Nil: a new one.
	Registry *prometheus.Registry
	Logger   *slog.Logger
	// ReconcileInterval is the period of reconcile passes (jittered by
	// ±10 %).
	ReconcileInterval time.Duration
	// Debounce shapes reactions to file changes.
	Debounce Debounce
	// Holder names this replica in the leases (default: hostname and
	// pid).
	Holder   string
	LeaseTTL time.Duration
	// RatePerSecond overrides the PSA client's rate limit (negative: none,
	// for the sandbox).
	RatePerSecond float64
	// HTTPClient carries every account's PSA calls (nil: one client for
	// the process, so that connections are pooled per PSA host).
	HTTPClient *http.Client
	// RetryBase is the first wait after a failed pass whose cause passes
	// by itself; it doubles per failure up to ReconcileInterval. Default
	// DefaultRetryBase.
	RetryBase time.Duration
	// Reload, when set, triggers a reload like a file change (SIGHUP).
	Reload <-chan struct{}
	// Events, when set, is told what the daemon does (the demo prints
	// it).
	Events func(Event)
	// Now is the clock of scheduled secret rotation and of the callback
	// receiver (tests). Default time.Now.
	Now func() time.Time
	// AdminListen is the status pages' address (HORIZON_ADMIN_ADDR; ""
	// or "off": none); AdminListener, when set, is used instead.
	// AdminToken, when set, guards the pages.
	AdminListen   string
	AdminListener net.Listener
	AdminToken    helpdesk.Secret
	// Retention, when set, prunes old audit rows (package retention).
	Retention *retention.Policy
	// OutboxPollInterval is how often the replica reads every account's
	// outbox backlog for the write-back engines it runs (outbox.go).
	// Default writeback.DefaultPollInterval.
	OutboxPollInterval time.Duration
}

// paths is every path the daemon was given.
func (o Options) paths() []string {
	var out []string
	if o.ConfigPath != "" {
		out = append(out, o.ConfigPath)
	}
	return append(out, o.ConfigPaths...)
}

// Event is a notable thing the daemon did.
type Event struct {
	Kind    string // reconciled, reload, invalid-config, leader, follower, ...
	Account string // the account it concerns ("" for the process)
	Message string
}

// Daemon runs the accounts of its files.
type Daemon struct {
	o   Options
	log *slog.Logger
	fm  *metrics.Fleet

	// multi is true when the daemon was given a directory or several
	// files: callbacks, the write API and the status pages then name the
	// account in their paths.
	multi bool
	dirs  map[string]bool // which given paths are directories

	// serving is set once the HTTP server serves; storeSeen is when the
	// store last answered a lease request (Unix nanoseconds): with an
	// account in force, they are what readiness means.
	serving   atomic.Bool
	storeSeen atomic.Int64

	share share // how many accounts this replica may lead

	// cbLog group-commits the callback-log rows of every account's
	// receiver: webhooks of different accounts arriving together share
	// one transaction. It outlives the accounts (stopped after them).
	cbLog *callback.Log

	outbox outboxFeed // the led accounts' write-back engines, fed by one poll

	reloadMu sync.Mutex // serialises reloads of the file set
	mu       sync.Mutex
	runners  map[string]*runner // by file
	byName   map[string]*runner // by account name
	problems map[string]string  // file → why no account runs from it
	runCtx   context.Context
	wg       sync.WaitGroup
}

// New checks options.
func New(o Options) (*Daemon, error) {
	if o.Store == nil || len(o.paths()) == 0 {
		return nil, errors.New("daemon: Store and ConfigPath are required")
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ReconcileInterval <= 0 {
		o.ReconcileInterval = DefaultReconcileInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RetryBase <= 0 {
		o.RetryBase = DefaultRetryBase
	}
	if o.Debounce == (Debounce{}) {
		o.Debounce = DefaultDebounce
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = DefaultLeaseTTL
	}
	if o.Holder == "" {
		host, _ := os.Hostname()
		o.Holder = fmt.Sprintf("%s/%d", host, os.Getpid())
	}
	if o.HTTPClient == nil {
		// One transport for every account: connections pool per PSA host.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		// Many accounts often share a PSA host (one Autotask zone, one
		// Zoho data centre): keep enough idle connections per host that
		// they are reused, not redialled.
		tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 1024, 64
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second, Transport: tr}
	}
	// The Go runtime's and the process's own figures (memory, CPU, file
	// descriptors): what sizing a replica for its accounts is read from.
	for _, c := range []prometheus.Collector{collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := o.Registry.Register(c); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
			return nil, fmt.Errorf("daemon: register process metrics: %w", err)
		}
	}
	multi := len(o.paths()) > 1 || config.IsDir(o.paths()[0])
	dirs := map[string]bool{}
	for _, p := range o.paths() {
		dirs[p] = config.IsDir(p)
	}
	return &Daemon{o: o, log: o.Logger, fm: metrics.NewFleet(o.Registry), multi: multi, dirs: dirs,
		cbLog:   callback.NewLog(o.Store, callback.LogOptions{Committers: logCommitters(o.Store)}),
		runners: map[string]*runner{}, byName: map[string]*runner{}, problems: map[string]string{}}, nil
}

// logCommitters is how many group commits of the callback log run at
// once: two on PostgreSQL (one gathers while the other commits), one on
// SQLite (one writer at a time).
func logCommitters(st store.Store) int {
	if st.Backend() == "postgres" {
		return 2
	}
	return 1
}

func (d *Daemon) emit(kind, account, format string, args ...any) {
	if d.o.Events != nil {
		d.o.Events(Event{Kind: kind, Account: account, Message: fmt.Sprintf(format, args...)})
	}
}

// Run loads the accounts (at least one must be valid to start), serves
// HTTP and runs the accounts until ctx ends, then shuts down gracefully:
// the batch in hand finishes, the leases are released, the server
// drains.
func (d *Daemon) Run(ctx context.Context) (err error) {
	defer func() {
		if err != nil && d.o.Listener != nil {
			d.o.Listener.Close()
		}
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d.runCtx = ctx
	// Count the live replicas before any account asks for its lease, so
	// that a replica joining others takes its share, not every free lease.
	d.beat(ctx, replicaLeasePrefix+d.o.Holder)
	logCtx, stopLog := context.WithCancel(context.WithoutCancel(ctx))
	var logRun sync.WaitGroup
	logRun.Go(func() { d.cbLog.Run(logCtx) })
	defer func() { stopLog(); logRun.Wait() }() // after stopAll: receivers first
	if err := d.start(ctx); err != nil {
		return err
	}
	defer d.stopAll()
	srv, ln, err := d.listen()
	if err != nil {
		return err
	}
	admin, adminLn, err := d.admin()
	if err != nil {
		ln.Close()
		return err
	}
	changes := make(chan struct{}, 1)
	var wg sync.WaitGroup
	for _, p := range d.o.paths() {
		w, err := NewWatcher(p)
		if err != nil {
			ln.Close()
			if adminLn != nil {
				adminLn.Close()
			}
			return err
		}
		goFn(&wg, func() { w.Run(ctx, d.o.Debounce, changes, d.log) })
	}
	goFn(&wg, func() { d.serve(srv, ln) })
	if admin != nil {
		goFn(&wg, func() { d.serve(admin, adminLn) })
	}
	goFn(&wg, func() { d.reloads(ctx, changes) })
	goFn(&wg, func() { d.heartbeat(ctx) })
	goFn(&wg, func() { d.feedOutboxes(ctx) })
	if adminLn != nil {
		d.log.Info("status pages", "url", "http://"+adminLn.Addr().String()+"/ui/")
	}
	if d.o.Retention != nil {
		goFn(&wg, func() { retention.Run(ctx, d.o.Store, *d.o.Retention, d.log) })
	}
	d.log.Info("reconciler running", "listen", ln.Addr().String(), "config", strings.Join(d.o.paths(), ","),
		"accounts", len(d.accounts()), "store", d.o.Store.Backend(), "holder", d.o.Holder)
	<-ctx.Done()
	shut, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	srv.Shutdown(shut)
	if admin != nil {
		admin.Shutdown(shut)
	}
	wg.Wait()
	d.stopAll()
	d.log.Info("reconciler stopped")
	return nil
}

// start loads every account file and starts a runner for each valid one.
// With a single file, the file must be valid; with several, at least one.
func (d *Daemon) start(ctx context.Context) error {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	files, err := config.Files(d.o.paths())
	if err != nil {
		return err
	}
	var failed []string
	for _, f := range files {
		if why := d.add(ctx, f); why != "" {
			failed = append(failed, why)
		}
	}
	d.index()
	if len(d.accounts()) == 0 {
		if len(files) == 1 {
			return errors.New(failed[0])
		}
		return fmt.Errorf("no account file of %s is valid:\n  %s", strings.Join(d.o.paths(), ", "), strings.Join(failed, "\n  "))
	}
	return nil
}

// add loads file and starts its account, or records why it cannot run.
func (d *Daemon) add(ctx context.Context, file string) string {
	r, why := d.prepare(ctx, file)
	if why != "" {
		d.log.Error("account not running", "file", file, "why", why)
		d.emit("invalid-config", "", "%s", why)
		d.mu.Lock()
		d.problems[file] = why
		d.mu.Unlock()
		d.recordAccounts()
		return why
	}
	d.launch(ctx, r, file)
	return ""
}

// prepare loads file and builds its account without starting it; why
// says why it cannot run.
func (d *Daemon) prepare(ctx context.Context, file string) (r *runner, why string) {
	cfg, diags, err := config.Load(file, config.LoadOptions{})
	switch {
	case err != nil:
		return nil, fmt.Sprintf("read %s: %v", file, err)
	case cfg == nil:
		logDiagnostics(d.log, diags)
		return nil, fmt.Sprintf("%s is invalid (%d problems)", file, len(config.SortDiagnostics(diags)))
	}
	if other := d.nameTaken(cfg.Account.Name, file); other != "" {
		return nil, fmt.Sprintf("%s: account.name %q is already run from %s: every account file needs its own name", file, cfg.Account.Name, other)
	}
	r = newRunner(d, file)
	if err := r.swap(ctx, cfg); err != nil {
		return nil, fmt.Sprintf("%s: %v", file, err)
	}
	return r, ""
}

// launch makes r the account of file and starts it.
func (d *Daemon) launch(ctx context.Context, r *runner, file string) {
	d.mu.Lock()
	d.runners[file] = r
	delete(d.problems, file)
	d.mu.Unlock()
	rctx, cancel := context.WithCancel(ctx)
	r.stop = cancel
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer close(r.done)
		r.run(rctx)
	}()
}

// remove stops the account of a file that is gone.
func (d *Daemon) remove(file string) {
	d.mu.Lock()
	r := d.runners[file]
	delete(d.runners, file)
	delete(d.problems, file)
	d.mu.Unlock()
	if r != nil {
		r.stop()
		<-r.done
		cfg, _ := r.current()
		d.log.Info("account removed: its file is gone", "file", file, "account", cfg.Account.Name)
		d.emit("removed", cfg.Account.Name, "account %s removed (%s is gone)", cfg.Account.Name, file)
	}
}

func (d *Daemon) stopAll() {
	d.mu.Lock()
	rs := make([]*runner, 0, len(d.runners))
	for _, r := range d.runners {
		rs = append(rs, r)
	}
	d.mu.Unlock()
	for _, r := range rs {
		r.stop()
	}
	d.wg.Wait()
}

// nameTaken returns the file of another running account called name.
func (d *Daemon) nameTaken(name, file string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	for f, r := range d.runners {
		if f == file {
			continue
		}
		if cfg, _ := r.current(); cfg != nil && cfg.Account.Name == name {
			return f
		}
	}
	return ""
}

// index rebuilds the account-name index the HTTP routes use.
func (d *Daemon) index() {
	d.mu.Lock()
	by := make(map[string]*runner, len(d.runners))
	for _, r := range d.runners {
		if cfg, _ := r.current(); cfg != nil {
			by[cfg.Account.Name] = r
		}
	}
	d.byName = by
	n := len(d.runners)
	d.mu.Unlock()
	d.share.setAccounts(n)
	d.recordAccounts()
}

// runnerFor returns the account called name; "" names the account of a
// daemon given one file. A daemon given a directory or several files
// never answers the paths without an account, even while it runs one: a
// PSA set up with them would stop reaching it when a second account came.
func (d *Daemon) runnerFor(name string) *runner {
	d.mu.Lock()
	defer d.mu.Unlock()
	if name == "" {
		if d.multi || len(d.byName) != 1 {
			return nil
		}
		for _, r := range d.byName {
			return r
		}
	}
	return d.byName[name]
}

// accounts returns the running accounts, by name.
func (d *Daemon) accounts() []*runner {
	d.mu.Lock()
	defer d.mu.Unlock()
	names := make([]string, 0, len(d.byName))
	for n := range d.byName {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]*runner, len(names))
	for i, n := range names {
		out[i] = d.byName[n]
	}
	return out
}

func (d *Daemon) recordAccounts() {
	d.mu.Lock()
	running, notRunning := len(d.runners), len(d.problems)
	d.mu.Unlock()
	d.fm.Accounts.WithLabelValues("running").Set(float64(running))
	d.fm.Accounts.WithLabelValues("not_running").Set(float64(notRunning))
}

// reloads reacts to file changes and SIGHUP: every account reloads its
// file (an unchanged one costs a parse), new files start accounts, gone
// files stop theirs. SIGHUP with nothing changed still reconciles every
// account now, as `run --help` promises.
func (d *Daemon) reloads(ctx context.Context, changes <-chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-changes:
			d.reload(ctx, false)
		case <-d.o.Reload:
			d.reload(ctx, true)
		}
	}
}

// reload re-reads the file set: gone files stop their accounts, known
// files reload (a renamed account is built before the old one stops, so
// a new name that cannot run leaves the old account running), then new
// files start theirs.
func (d *Daemon) reload(ctx context.Context, hup bool) {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	files, err := d.currentFiles()
	if err != nil {
		// A directory briefly empty or unreadable (a ConfigMap swap, a
		// checkout in progress) must not stop every account.
		d.log.Error("config reload failed; keeping every account as it is", "err", err)
		return
	}
	d.mu.Lock()
	known := make(map[string]*runner, len(d.runners))
	for f, r := range d.runners {
		known[f] = r
	}
	for f := range d.problems {
		if !slices.Contains(files, f) {
			delete(d.problems, f) // a broken file that is gone is no problem
		}
	}
	d.mu.Unlock()
	for f := range known {
		if !slices.Contains(files, f) {
			d.remove(f)
		}
	}
	for _, f := range files {
		r := known[f]
		if r == nil {
			continue
		}
		switch r.reload(ctx) {
		case reloadUnchanged:
			if hup {
				r.log.Info("SIGHUP: config unchanged; reconciling now")
				r.Trigger()
			}
		case reloadRenamed:
			next, why := d.prepare(ctx, f)
			if why != "" {
				r.refuse(why)
				continue
			}
			d.remove(f)
			d.launch(ctx, next, f)
		}
	}
	for _, f := range files {
		if known[f] == nil {
			d.add(ctx, f)
		}
	}
	d.index()
}

// currentFiles lists the account files now. An account file named on
// the command line that is gone counts as removed; a directory that
// cannot be read is an error.
func (d *Daemon) currentFiles() ([]string, error) {
	var out []string
	for _, p := range d.o.paths() {
		fs, err := config.Files([]string{p})
		if err != nil {
			if _, serr := os.Stat(p); errors.Is(serr, iofs.ErrNotExist) && !d.dirs[p] {
				continue
			}
			return nil, err
		}
		for _, f := range fs {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out, nil
}

func logDiagnostics(log *slog.Logger, diags []config.Diagnostic) {
	for _, diag := range diags {
		log.Error("invalid config", "at", fmt.Sprintf("%s:%d:%d", diag.File, diag.Line, diag.Col),
			"pointer", diag.Pointer, "problem", diag.Message)
	}
}

func goFn(wg *sync.WaitGroup, f func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		f()
	}()
}

// jitter spreads d by ±10 %.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.9 + 0.2*rand.Float64()))
}

// listen opens the HTTP listener.
func (d *Daemon) listen() (*http.Server, net.Listener, error) {
	ln := d.o.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", d.o.Listen); err != nil {
			return nil, nil, fmt.Errorf("listen on %s: %w", d.o.Listen, err)
		}
	}
	srv := &http.Server{Handler: d.routes(), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	return srv, ln, nil
}

func (d *Daemon) serve(srv *http.Server, ln net.Listener) {
	d.serving.Store(true)
	defer d.serving.Store(false)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		d.log.Error("http server stopped", "err", err)
	}
}
