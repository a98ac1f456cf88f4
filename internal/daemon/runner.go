package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/horizon/reconciler/internal/account"
	"github.com/horizon/reconciler/internal/callback"
	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/metrics"
)

// runner runs one account: its file, its last good config, its metrics
// (a registry of its own, labelled account=NAME), its callback receiver
// and, while this replica holds the account's lease, the leader's work.
type runner struct {
	fleet   *Daemon
	o       Options // the daemon's, with ConfigPath set to the account's file
	reg     *prometheus.Registry
	m       *metrics.Metrics
	log     *slog.Logger
	leader  atomic.Bool
	handler atomic.Pointer[callback.Receiver]
	gen     atomic.Pointer[generation]
	trigger chan struct{}

	// genChanged wakes the leadership loop when a new generation starts;
	// swapped wakes the receiver and rotation loops when the account is
	// rebuilt.
	genChanged chan struct{}
	swapped    chan struct{}
	rotSwapped chan struct{}

	// swapMu serialises reloads and rotations, so that neither puts back
	// a config the other replaced.
	swapMu sync.Mutex

	board board // what the status pages show of the daemon's work

	mu   sync.Mutex
	cfg  *config.Config // last good config
	fp   string         // fingerprint of its resolved secrets
	acct *account.Account

	smoke smokeState // when smoke.auto runs the smoke test

	apiOnce    sync.Once
	apiHandler http.Handler

	stop context.CancelFunc
	done chan struct{}
}

func newRunner(d *Daemon, file string) *runner {
	o := d.o
	o.ConfigPath, o.ConfigPaths = file, nil
	return &runner{fleet: d, o: o, log: d.log, trigger: make(chan struct{}, 1), genChanged: make(chan struct{}, 1),
		swapped: make(chan struct{}, 1), rotSwapped: make(chan struct{}, 1), done: make(chan struct{})}
}

// run runs the account until ctx ends; its lease is released on the way
// out.
func (d *runner) run(ctx context.Context) {
	d.board.configValid(d.o.ConfigPath, d.o.ReconcileInterval)
	var wg sync.WaitGroup
	goFn(&wg, func() { d.receivers(ctx) })
	goFn(&wg, func() { d.leadership(ctx) })
	goFn(&wg, func() { d.rotations(ctx) })
	wg.Wait()
}

func (d *runner) emit(kind, format string, args ...any) {
	name := ""
	if cfg, _ := d.current(); cfg != nil {
		name = cfg.Account.Name
	}
	d.fleet.emit(kind, name, format, args...)
}

func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// current returns the last good config and its account.
func (d *runner) current() (*config.Config, *account.Account) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg, d.acct
}

// swap builds the account for cfg and makes it current.
func (d *runner) swap(ctx context.Context, cfg *config.Config) error {
	fp, err := secretsFingerprint(ctx, cfg)
	if err != nil {
		return err
	}
	if d.m == nil { // the first config names the account for good (a rename is a new account)
		d.reg = prometheus.NewRegistry()
		d.m = metrics.New(prometheus.WrapRegistererWith(prometheus.Labels{"account": cfg.Account.Name}, d.reg))
		d.log = d.fleet.log.With("account", cfg.Account.Name)
	}
	a, err := account.New(ctx, cfg, account.Options{Store: d.o.Store, Metrics: d.m, Logger: d.log,
		RatePerSecond: d.o.RatePerSecond, Now: d.o.Now, HTTPClient: d.o.HTTPClient})
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.cfg, d.fp, d.acct = cfg, fp, a
	d.mu.Unlock()
	notify(d.swapped)
	notify(d.rotSwapped)
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

// reloadOutcome is what a reload did.
type reloadOutcome int

const (
	reloadFailed    reloadOutcome = iota // invalid file: the last good one stays
	reloadUnchanged                      // nothing changed, secrets included
	reloadSwapped                        // a new generation started
	reloadRenamed                        // account.name changed: a new account (the daemon restarts it)
)

// reload loads the file again. A file that cannot be used counts as a
// reconcile attempt with result invalid_config: the change it carries is
// not in force.
func (d *runner) reload(ctx context.Context) reloadOutcome {
	d.swapMu.Lock()
	defer d.swapMu.Unlock()
	cfg, diags, err := config.Load(d.o.ConfigPath, config.LoadOptions{})
	if err != nil || cfg == nil {
		d.m.ConfigValid.Set(0)
		d.m.ReconcileTotal.WithLabelValues("invalid_config").Inc()
		if err != nil {
			d.log.Error("config reload failed; keeping the last good config", "err", err)
		}
		logDiagnostics(d.log, diags)
		d.board.configInvalid(err, diags)
		d.emit("invalid-config", "%s is invalid: keeping the last good config", d.o.ConfigPath)
		return reloadFailed
	}
	d.mu.Lock()
	old, oldFP := d.cfg, d.fp
	d.mu.Unlock()
	if old != nil && old.Account.Name != cfg.Account.Name {
		return reloadRenamed // the daemon builds the renamed account, or refuses it
	}
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

// refuse records why the newest file cannot be put in force: the
// account keeps running on its last good config.
func (d *runner) refuse(why string) {
	d.m.ConfigValid.Set(0)
	d.m.ReconcileTotal.WithLabelValues("invalid_config").Inc()
	d.board.configInvalid(errors.New(why), nil)
	d.log.Error("config reload failed; keeping the last good config", "err", why)
	d.emit("invalid-config", "%s: keeping the last good config", why)
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

// Trigger asks for a reconcile pass now.
func (d *runner) Trigger() {
	select {
	case d.trigger <- struct{}{}:
	default:
	}
}
