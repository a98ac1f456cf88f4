package daemon

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/horizon/reconciler/internal/account"
	"github.com/horizon/reconciler/internal/callback"
	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/reconcile"
	"github.com/horizon/reconciler/internal/store"
)

// generation is what one config runs: its account and its callback
// receiver. A reload starts a new generation and stops the old one.
type generation struct {
	cfg  *config.Config
	acct *account.Account
	rc   *callback.Receiver
}

// receivers keeps a callback receiver for the current account (every
// replica accepts callbacks) and restarts the leader's work when the
// account changes (swap signals it).
func (d *runner) receivers(ctx context.Context) {
	var stopOld context.CancelFunc
	var wg sync.WaitGroup
	var lastAcct *account.Account
	for {
		cfg, a := d.current()
		if a != lastAcct {
			previous, until := previousSecret(lastAcct, a)
			rc, err := callback.NewReceiver(callback.Config{Scope: a.Scope, Provider: a.Provider, Store: d.o.Store,
				Secret: a.CallbackSecret, PreviousSecret: previous, PreviousUntil: until, Metrics: d.m, Logger: d.log,
				Now: d.o.Now, Log: d.fleet.cbLog})
			if err != nil {
				d.log.Error("callback receiver", "err", err)
			} else {
				rctx, cancel := context.WithCancel(ctx)
				goFn(&wg, func() { rc.Run(rctx) })
				d.gen.Store(&generation{cfg: cfg, acct: a, rc: rc})
				d.handler.Store(rc)
				notify(d.genChanged)
				if stopOld != nil {
					stopOld()
				}
				stopOld, lastAcct = cancel, a
			}
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-d.swapped:
		}
	}
}

// previousSecret is the secret a new receiver still accepts for a grace
// period, so that deliveries sent before a rotation pass: the last
// account's when the secret changed (grace from now: zero until), else,
// under scheduled rotation, the last period's until its grace after the
// period began (a restart within it still accepts it).
func previousSecret(last, a *account.Account) (helpdesk.Secret, time.Time) {
	if last != nil && last.CallbackSecret != a.CallbackSecret {
		return last.CallbackSecret, time.Time{}
	}
	if a.Rotation != nil {
		return a.Rotation.Previous, a.Rotation.Since.Add(callback.DefaultSecretGrace)
	}
	return "", time.Time{}
}

// leadership renews the account's lease and runs the leader's work while
// it holds it. Losing the lease (or any store error) stops the work at
// once: two replicas must never both reconcile. The replica's share
// (share.go) decides whether it tries to take a free lease, and when it
// gives one up for another replica to take.
func (d *runner) leadership(ctx context.Context) {
	var stop context.CancelFunc
	var done chan struct{}
	var ledGen *generation
	sh := &d.fleet.share
	stepDown := func() {
		if stop != nil {
			stop()
			<-done
			stop, ledGen = nil, nil
		}
		d.leader.Store(false)
		d.m.Leader.Set(0)
	}
	release := func(g *generation) {
		rel, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		d.o.Store.ReleaseLease(rel, leaseName(g.cfg), d.o.Holder)
		cancel()
		sh.release(g.cfg.Account.Name)
	}
	defer func() {
		stepDown()
		if g := d.gen.Load(); g != nil {
			release(g)
		}
	}()
	every := d.o.LeaseTTL / 3
	var ledEpoch int64
	for {
		g := d.gen.Load()
		// Up to a fifth early, at random: accounts started together would
		// otherwise renew together, a thousand upserts in one burst.
		wait := every - time.Duration(rand.Int64N(int64(every/5)+1))
		if g != nil {
			name := g.cfg.Account.Name
			switch {
			case stop != nil && sh.surplus(name):
				d.log.Info("giving the account to another replica: this one leads more than its share")
				d.emit("follower", "handed account %s to another replica (share)", name)
				// Keep the lease while the work winds down, so no other
				// replica starts before this one has stopped.
				stop()
				for waiting := true; waiting; {
					t := time.NewTimer(every)
					select {
					case <-done:
						waiting = false
					case <-t.C:
						d.renew(ctx, g)
					}
					t.Stop()
				}
				stepDown()
				release(g)
			case stop == nil && !sh.reserve(name, leaseName(g.cfg)):
				// Over the share: leave the lease to a replica with room.
			default:
				lease, held := d.renew(ctx, g)
				switch {
				case held && stop != nil && (ledGen != g || lease.Epoch != ledEpoch):
					// A newer config, or the lease changed hands in between:
					// stop, then take the lease afresh before leading again.
					stepDown()
					continue
				case held && stop == nil:
					lctx, cancel := context.WithCancel(ctx)
					stop, done, ledGen, ledEpoch = cancel, make(chan struct{}), g, lease.Epoch
					d.leader.Store(true)
					d.m.Leader.Set(1)
					go func() { defer close(done); d.lead(lctx, g, lease.Epoch) }()
				case !held && stop != nil:
					d.log.Warn("lost the account lease: stepping down")
					d.emit("follower", "another replica leads this account")
					stepDown()
					sh.release(name)
				case !held:
					sh.release(name)
					if !lease.ExpiresAt.IsZero() {
						// Try again as the holder's lease runs out: a replica
						// killed without a goodbye is replaced within the TTL.
						wait = min(max(time.Until(lease.ExpiresAt)+10*time.Millisecond, 10*time.Millisecond), every)
					}
				}
			}
		}
		d.fleet.fm.AccountsLed.Set(float64(sh.leading()))
		if g == nil {
			wait = 200 * time.Millisecond
		}
		var grew <-chan struct{}
		if stop == nil {
			grew = sh.wait()
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-d.genChanged:
			t.Stop()
		case <-grew:
			t.Stop()
		case <-t.C:
		}
	}
}

func leaseName(cfg *config.Config) string { return account.LeaseName(cfg) }

// renew takes or renews the lease; false on any failure. The lease's
// epoch tells a renewal from a takeover.
func (d *runner) renew(ctx context.Context, g *generation) (store.Lease, bool) {
	lctx, cancel := context.WithTimeout(ctx, d.o.LeaseTTL/3)
	defer cancel()
	lease, err := d.o.Store.AcquireLease(lctx, leaseName(g.cfg), d.o.Holder, d.o.LeaseTTL)
	if err == nil || errors.Is(err, store.ErrLeaseHeld) {
		d.fleet.storeSeen.Store(time.Now().UnixNano()) // the store answered
	} else if ctx.Err() == nil {
		d.log.Warn("lease renewal failed", "err", err)
	}
	return lease, err == nil
}

// lead runs the leader's work for one generation until ctx ends: reconcile
// passes, the polling sync and the callback dispatcher.
func (d *runner) lead(ctx context.Context, g *generation, epoch int64) {
	d.log.Info("leading the account", "account", g.cfg.Account.Name, "holder", d.o.Holder)
	d.emit("leader", "this replica leads account %s", g.cfg.Account.Name)
	var wg sync.WaitGroup
	goFn(&wg, func() { d.reconcileLoop(ctx, g, epoch) })
	goFn(&wg, func() { d.runWriteback(ctx, g) })
	goFn(&wg, func() { d.smokeLoop(ctx, g) })
	goFn(&wg, func() {
		if err := g.acct.Syncer.Run(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("polling sync stopped", "err", err)
		}
	})
	disp, err := callback.NewDispatcher(callback.DispatcherConfig{Scope: g.acct.Scope, Store: d.o.Store,
		Fetcher: callback.SyncFetcher(g.acct.Syncer), Logger: d.log, Wake: g.rc.Accepted(), Echo: g.acct.Writeback.EchoOf})
	if err != nil {
		d.log.Error("callback dispatcher", "err", err)
	} else {
		goFn(&wg, func() { disp.Run(ctx) })
	}
	wg.Wait()
}

// reconcileLoop runs a pass at once, then on every trigger and every
// interval (jittered); after a failed pass, sooner (see failure.retryIn).
func (d *runner) reconcileLoop(ctx context.Context, g *generation, epoch int64) {
	failures := 0
	for {
		if d.gen.Load() != g {
			return // a newer config took over; never apply an old one
		}
		wait := jitter(d.o.ReconcileInterval)
		if err := d.pass(ctx, g, epoch); err == nil {
			failures = 0
			d.recordFailure(failure{}, 0)
		} else if ctx.Err() == nil {
			failures++
			f := classify(err)
			d.recordFailure(f, failures)
			wait = f.retryIn(failures, d.o.RetryBase, d.o.ReconcileInterval)
			d.log.Error("reconcile failed", "err", err, "cause", f.cause, "needs_human", f.needsHuman,
				"failures", failures, "retry_in", wait.Round(time.Second))
			d.emit("reconcile-failed", "reconcile failed (%s): %v; %s", f.cause, err, f.next(wait))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-d.trigger:
			t.Stop()
		case <-t.C:
		}
	}
}

// errNotLeading stops an apply whose replica no longer leads the account.
var errNotLeading = errors.New("this replica no longer holds the account's lease")

// fence returns the check made before each change an apply makes: this
// replica still holds the account's lease under the epoch it started
// leading with. The check is a renewal (one indexed upsert): a lease
// another replica holds answers ErrLeaseHeld, and one another replica
// held in between comes back under a new epoch; either stops the apply
// before its next change. (A lease that expired with no other holder
// since keeps its epoch: nobody else led meanwhile.)
func (d *runner) fence(g *generation, epoch int64) func(context.Context) error {
	name := leaseName(g.cfg)
	return func(ctx context.Context) error {
		l, err := d.o.Store.AcquireLease(ctx, name, d.o.Holder, d.o.LeaseTTL)
		switch {
		case err != nil:
			return fmt.Errorf("%w: %w", errNotLeading, err)
		case l.Epoch != epoch:
			return fmt.Errorf("%w: the lease expired and was taken afresh (epoch %d, led under %d)", errNotLeading, l.Epoch, epoch)
		}
		return nil
	}
}

// pass is one reconcile: plan, apply, and record the outcome in metrics
// whatever happens (the deferred block runs on every path). It returns
// why the pass failed, nil when it succeeded.
func (d *runner) pass(ctx context.Context, g *generation, epoch int64) (err error) {
	start := time.Now()
	defer func() {
		result := "success"
		if err != nil {
			result = "error"
		}
		d.m.ReconcileTotal.WithLabelValues(result).Inc()
		d.m.ReconcileDuration.Observe(time.Since(start).Seconds())
	}()
	p, err := g.acct.Reconciler.Plan(ctx)
	if err != nil {
		if ctx.Err() == nil {
			d.board.passed(nil, err)
		}
		return err
	}
	res := g.acct.Reconciler.ApplyFenced(ctx, p, d.fence(g, epoch))
	d.afterApply(g, res)
	d.record(p, res)
	d.board.passed(p, res.Err())
	if err := res.Err(); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	d.m.ReconcileLastSuccess.SetToCurrentTime()
	d.log.Info("reconciled", "applied", len(res.Applied), "drift", len(p.Drift), "unmapped", p.Unmapped,
		"duration", time.Since(start).Round(time.Millisecond))
	d.emit("reconciled", "reconciled: %d applied; %s", len(res.Applied), p.SummaryLine())
	return nil
}

// record exports what a pass found.
func (d *runner) record(p *reconcile.Plan, res reconcile.Result) {
	for kind, n := range p.DriftByKind(true) {
		d.m.DriftItems.WithLabelValues(string(kind)).Set(float64(n))
	}
	for _, f := range res.Failed {
		d.m.DriftItems.WithLabelValues(string(f.Change.Kind)).Inc()
	}
	d.m.UsersUnmapped.Set(float64(p.Unmapped))
	d.m.WidgetUp.Reset()
	for _, w := range p.Widgets {
		up := 0.0
		if w.Up {
			up = 1
		}
		d.m.WidgetUp.WithLabelValues(w.Name).Set(up)
	}
}
