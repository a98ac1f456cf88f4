package daemon

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/reconcile"
	"github.com/horizon/reconciler/internal/smoke"
)

// smokeState decides when the daemon runs the smoke test (smoke.auto):
// after an apply that changed the credentials (a rotated secret counts),
// the webhook registrations or the PSA's base URL, and on smoke.interval.
// It outlives generations: a reload is how credentials change.
type smokeState struct {
	mu     sync.Mutex
	seen   string   // risk fingerprint at the last apply; "" before the first
	reason []string // why the next run is due
	due    chan struct{}
	once   sync.Once
}

func (s *smokeState) wake() chan struct{} {
	s.once.Do(func() { s.due = make(chan struct{}, 1) })
	return s.due
}

// request asks for a run.
func (s *smokeState) request(reason string) {
	s.mu.Lock()
	if !slices.Contains(s.reason, reason) {
		s.reason = append(s.reason, reason)
	}
	s.mu.Unlock()
	select {
	case s.wake() <- struct{}{}:
	default:
	}
}

func (s *smokeState) take() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := strings.Join(s.reason, "; ")
	s.reason = nil
	return r
}

// riskFingerprint digests what a smoke test must follow: the helpdesk
// section (provider, base URL, secret references) and the values behind
// every secret. It never leaves the process.
func riskFingerprint(cfg *config.Config, secrets string) string {
	b, _ := json.Marshal(cfg.Helpdesk)
	sum := sha256.Sum256(append(b, secrets...))
	return hex.EncodeToString(sum[:])
}

// afterApply requests a smoke test when the apply followed a risky change.
func (d *runner) afterApply(g *generation, res reconcile.Result) {
	d.mu.Lock()
	fp := riskFingerprint(g.cfg, d.fp)
	d.mu.Unlock()
	var reasons []string
	d.smoke.mu.Lock()
	if d.smoke.seen != "" && d.smoke.seen != fp {
		reasons = append(reasons, "the credentials or the PSA's base URL changed")
	}
	d.smoke.seen = fp
	d.smoke.mu.Unlock()
	for _, c := range res.Applied {
		if c.Kind == reconcile.KindWebhooks {
			reasons = append(reasons, "the webhook registrations changed")
			break
		}
	}
	if g.cfg.Smoke.Auto {
		for _, r := range reasons {
			d.smoke.request(r)
		}
	}
}

// smokeLoop runs the smoke test when one is due, while this replica leads
// the generation. It does nothing unless smoke.auto is true.
func (d *runner) smokeLoop(ctx context.Context, g *generation) {
	if !g.cfg.Smoke.Auto {
		return
	}
	var every <-chan time.Time
	if iv := g.cfg.Smoke.Interval.Std(); iv > 0 {
		t := time.NewTicker(iv)
		defer t.Stop()
		every = t.C
	}
	for {
		var reason string
		select {
		case <-ctx.Done():
			return
		case <-d.smoke.wake():
			reason = d.smoke.take()
		case <-every:
			reason = "smoke.interval"
		}
		d.runSmoke(ctx, g, reason)
	}
}

// runSmoke runs one smoke test on the leader: the daemon receives the
// callback and its write-back worker delivers the writes.
func (d *runner) runSmoke(ctx context.Context, g *generation, reason string) {
	d.log.Info("running the smoke test", "reason", reason)
	timeout := g.cfg.Smoke.CallbackTimeout.Std() + g.cfg.Sync.PollInterval.Std() + 3*time.Minute
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	rep, err := smoke.Run(rctx, smoke.Options{Provider: g.acct.Provider, Store: d.o.Store, Scope: g.acct.Scope,
		Config: g.cfg, Writer: smoke.AccountWriter(g.acct, false), Syncer: g.acct.Syncer, Daemon: true,
		File: d.o.ConfigPath, Metrics: d.m, Logger: d.log})
	if err != nil {
		d.log.Error("smoke test could not run", "err", err)
		return
	}
	var b bytes.Buffer
	rep.Write(&b, smoke.FormatText)
	d.emit("smoke", "smoke test (%s) %s:\n%s", reason, rep.Result(), strings.TrimRight(b.String(), "\n"))
}
