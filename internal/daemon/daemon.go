// Package daemon is `reconciler run`: it keeps one account reconciled. It
// serves /metrics, /healthz, /readyz and the callback endpoint; reconciles
// on an interval with jitter, on a change of horizon.yaml (debounced) and
// on SIGHUP; runs the polling sync, the picklist refresh and the callback
// dispatcher; and never replaces the last good config with an invalid one.
//
// Several replicas may share one PostgreSQL store: every replica accepts
// and logs callbacks, and the holder of the account's lease (a row with an
// epoch, renewed every few seconds) runs the reconcile loop, the polling
// sync and the dispatcher.
package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/horizon/reconciler/internal/account"
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
	ConfigPath string
	// Listen is the HTTP address (HORIZON_LISTEN_ADDR); Listener, when
	// set, is used instead (tests, the demo).
	Listen   string
	Listener net.Listener
	Store    store.Store
	Registry *prometheus.Registry // nil: a new one
	Logger   *slog.Logger
	// ReconcileInterval is the period of reconcile passes (jittered by
	// ±10 %).
	ReconcileInterval time.Duration
	// Debounce shapes reactions to file changes.
	Debounce Debounce
	// Holder names this replica in the lease (default: hostname and pid).
	Holder   string
	LeaseTTL time.Duration
	// RatePerSecond overrides the PSA client's rate limit (negative: none,
	// for the sandbox).
	RatePerSecond float64
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
}

// Event is a notable thing the daemon did.
type Event struct {
	Kind    string // reconciled, reload, invalid-config, leader, follower
	Message string
}

// Daemon runs one account.
type Daemon struct {
	o       Options
	m       *metrics.Metrics
	log     *slog.Logger
	leader  atomic.Bool
	handler atomic.Pointer[callback.Receiver]
	gen     atomic.Pointer[generation]
	trigger chan struct{}

	// genChanged wakes the leadership loop when a new generation starts.
	genChanged chan struct{}

	// serving is set once the HTTP server serves; storeSeen is when the
	// store last answered a lease request (Unix nanoseconds): with the
	// config in force, they are what readiness means.
	serving   atomic.Bool
	storeSeen atomic.Int64

	// swapMu serialises reloads and rotations, so that neither puts back
	// a config the other replaced.
	swapMu sync.Mutex

	board board // what the status pages show of the daemon's work

	mu   sync.Mutex
	cfg  *config.Config // last good config
	fp   string         // fingerprint of its resolved secrets
	acct *account.Account

	smoke smokeState // when smoke.auto runs the smoke test
}

// New checks options and registers the metrics.
func New(o Options) (*Daemon, error) {
	if o.Store == nil || o.ConfigPath == "" {
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
	return &Daemon{o: o, m: metrics.New(o.Registry), log: o.Logger, trigger: make(chan struct{}, 1),
		genChanged: make(chan struct{}, 1)}, nil
}

// Metrics returns the daemon's collectors.
func (d *Daemon) Metrics() *metrics.Metrics { return d.m }

func (d *Daemon) emit(kind, format string, args ...any) {
	if d.o.Events != nil {
		d.o.Events(Event{Kind: kind, Message: fmt.Sprintf(format, args...)})
	}
}

// Run loads the config (it must be valid to start), serves HTTP and runs
// the account until ctx ends, then shuts down gracefully: the batch in
// hand finishes, the lease is released, the server drains.
func (d *Daemon) Run(ctx context.Context) (err error) {
	defer func() {
		if err != nil && d.o.Listener != nil {
			d.o.Listener.Close()
		}
	}()
	cfg, diags, err := config.Load(d.o.ConfigPath, config.LoadOptions{})
	if err != nil {
		return fmt.Errorf("read %s: %w", d.o.ConfigPath, err)
	}
	if cfg == nil {
		d.logDiagnostics(diags)
		return fmt.Errorf("%s is invalid (%d problems)", d.o.ConfigPath, len(diags))
	}
	if err := d.swap(ctx, cfg); err != nil {
		return err
	}
	d.board.configValid(d.o.ConfigPath, d.o.ReconcileInterval)
	srv, ln, err := d.listen()
	if err != nil {
		return err
	}
	admin, adminLn, err := d.admin()
	if err != nil {
		ln.Close()
		return err
	}
	watcher, err := NewFileWatcher(d.o.ConfigPath)
	if err != nil {
		ln.Close()
		if adminLn != nil {
			adminLn.Close()
		}
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	changes := make(chan struct{}, 1)
	goFn(&wg, func() { watcher.Run(ctx, d.o.Debounce, changes, d.log) })
	goFn(&wg, func() { d.serve(srv, ln) })
	if admin != nil {
		goFn(&wg, func() { d.serve(admin, adminLn) })
	}
	goFn(&wg, func() { d.reloads(ctx, changes) })
	goFn(&wg, func() { d.receivers(ctx) })
	goFn(&wg, func() { d.leadership(ctx) })
	goFn(&wg, func() { d.rotations(ctx) })
	if adminLn != nil {
		d.log.Info("status pages", "url", "http://"+adminLn.Addr().String()+"/ui/")
	}
	if d.o.Retention != nil {
		goFn(&wg, func() { retention.Run(ctx, d.o.Store, *d.o.Retention, d.log) })
	}
	d.log.Info("reconciler running", "listen", ln.Addr().String(), "config", d.o.ConfigPath,
		"account", cfg.Account.Name, "provider", cfg.Helpdesk.Provider, "store", d.o.Store.Backend())
	<-ctx.Done()
	shut, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	srv.Shutdown(shut)
	if admin != nil {
		admin.Shutdown(shut)
	}
	wg.Wait()
	d.log.Info("reconciler stopped")
	return nil
}

func goFn(wg *sync.WaitGroup, f func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		f()
	}()
}

// current returns the last good config and its account.
func (d *Daemon) current() (*config.Config, *account.Account) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg, d.acct
}

// swap builds the account for cfg and makes it current.
func (d *Daemon) swap(ctx context.Context, cfg *config.Config) error {
	fp, err := secretsFingerprint(ctx, cfg)
	if err != nil {
		return err
	}
	a, err := account.New(ctx, cfg, account.Options{Store: d.o.Store, Metrics: d.m, Logger: d.log,
		RatePerSecond: d.o.RatePerSecond, Now: d.o.Now})
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.cfg, d.fp, d.acct = cfg, fp, a
	d.mu.Unlock()
	d.m.ConfigValid.Set(1)
	d.m.ConfigInfo.Reset()
	d.m.ConfigInfo.WithLabelValues(string(cfg.Helpdesk.Provider), cfg.Hash()).Set(1)
	stale := 0.0
	if cfg.Callbacks != nil {
		stale = cfg.Callbacks.StaleAfter.Std().Seconds()
	}
	d.m.CallbackStaleThreshold.Set(stale)
	return nil
}

// reloads reacts to file changes and SIGHUP: a valid new file (or a
// rotated secret) replaces the config, and the new generation reconciles
// at once; an invalid one is logged with every
// diagnostic and the daemon keeps the last good config. SIGHUP with
// nothing changed still reconciles now, as `run --help` promises.
func (d *Daemon) reloads(ctx context.Context, changes <-chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-changes:
			d.reload(ctx)
		case <-d.o.Reload:
			if d.reload(ctx) == reloadUnchanged {
				d.log.Info("SIGHUP: config unchanged; reconciling now")
				d.Trigger()
			}
		}
	}
}

// reloadOutcome is what a reload did.
type reloadOutcome int

const (
	reloadFailed    reloadOutcome = iota // invalid file: the last good one stays
	reloadUnchanged                      // nothing changed, secrets included
	reloadSwapped                        // a new generation started
)

// reload loads the file again. A file that cannot be used counts as a
// reconcile attempt with result invalid_config: the change it carries is
// not in force.
func (d *Daemon) reload(ctx context.Context) reloadOutcome {
	d.swapMu.Lock()
	defer d.swapMu.Unlock()
	cfg, diags, err := config.Load(d.o.ConfigPath, config.LoadOptions{})
	if err != nil || cfg == nil {
		d.m.ConfigValid.Set(0)
		d.m.ReconcileTotal.WithLabelValues("invalid_config").Inc()
		if err != nil {
			d.log.Error("config reload failed; keeping the last good config", "err", err)
		}
		d.logDiagnostics(diags)
		d.board.configInvalid(err, diags)
		d.emit("invalid-config", "%s is invalid: keeping the last good config", d.o.ConfigPath)
		return reloadFailed
	}
	d.mu.Lock()
	old, oldFP := d.cfg, d.fp
	d.mu.Unlock()
	fp, err := secretsFingerprint(ctx, cfg)
	if err == nil && old != nil && old.Hash() == cfg.Hash() && fp == oldFP {
		d.m.ConfigValid.Set(1) // unchanged, secrets included
		d.board.configValid(d.o.ConfigPath, d.o.ReconcileInterval)
		return reloadUnchanged
	}
	if err := d.swap(ctx, cfg); err != nil {
		d.m.ConfigValid.Set(0)
		d.m.ReconcileTotal.WithLabelValues("invalid_config").Inc()
		d.board.configInvalid(err, nil)
		d.log.Error("config reload failed; keeping the last good config", "err", err)
		return reloadFailed
	}
	d.board.configValid(d.o.ConfigPath, d.o.ReconcileInterval)
	d.log.Info("config reloaded", "hash", cfg.Hash())
	d.emit("reload", "config reloaded (hash %s)", cfg.Hash())
	return reloadSwapped
}

// secretsFingerprint digests the values behind every secret reference, so
// that a rotated secret (same reference, new value) counts as a change on
// reload (SIGHUP). The digest never leaves the process.
func secretsFingerprint(ctx context.Context, cfg *config.Config) (string, error) {
	h := sha256.New()
	for _, ref := range cfg.SecretRefs() {
		v, err := ref.Ref.Resolve(ctx)
		if err != nil {
			return "", fmt.Errorf("%s: %w", ref.Path, err)
		}
		fmt.Fprintf(h, "%s=%d:%s\n", ref.Path, len(v.Reveal()), v.Reveal())
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (d *Daemon) logDiagnostics(diags []config.Diagnostic) {
	for _, diag := range diags {
		d.log.Error("invalid config", "at", fmt.Sprintf("%s:%d:%d", diag.File, diag.Line, diag.Col),
			"pointer", diag.Pointer, "problem", diag.Message)
	}
}

// Trigger asks for a reconcile pass now.
func (d *Daemon) Trigger() {
	select {
	case d.trigger <- struct{}{}:
	default:
	}
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
