// Package account wires one horizon.yaml into running parts: the PSA
// client, the store scope, the sync engine and the reconciler. The CLI's
// one-shot commands and the daemon build an Account the same way, so that
// what plan shows is what run does.
package account

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/horizon/reconciler/internal/callback"
	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/providers"
	"github.com/horizon/reconciler/internal/metrics"
	"github.com/horizon/reconciler/internal/reconcile"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/syncer"
	"github.com/horizon/reconciler/internal/writeback"
)

// Options are what an Account is built with besides its config.
type Options struct {
	Store   store.Store
	Metrics *metrics.Metrics // nil: a private registry
	Logger  *slog.Logger     // nil: slog.Default()
	// Progress reports sync progress (nil: none).
	Progress syncer.Progress
	// HTTPClient is used for PSA calls and widget checks (nil: defaults).
	HTTPClient *http.Client
	// RatePerSecond overrides the PSA client's rate limit (0: the
	// provider's default; negative: none, for the sandbox).
	RatePerSecond float64
	// Now is the clock that picks the rotation period of the callback
	// secret (callbacks.rotateEvery); nil: time.Now.
	Now func() time.Time
}

// Account is one horizon.yaml's account, ready to plan, apply and sync.
type Account struct {
	Config         *config.Config
	Scope          store.Scope
	Provider       helpdesk.Provider
	Store          store.Store
	Syncer         *syncer.Syncer
	Reconciler     *reconcile.Reconciler
	CallbackSecret helpdesk.Secret    // registered and required: callbacks.secret, or this period's (Rotation)
	Rotation       *callback.Rotation // the scheduled rotation in force; nil without callbacks.rotateEvery
	// Writeback enqueues and delivers writes to the PSA; WriteToken is
	// writeback.apiToken ("" when the file sets none).
	Writeback  *writeback.Engine
	WriteToken helpdesk.Secret
}

// New builds an Account. It resolves every secret the file references (an
// unresolvable one is an error naming the setting) but does no PSA I/O.
func New(ctx context.Context, cfg *config.Config, o Options) (*Account, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	scope := store.Scope{Account: cfg.Account.Name, Provider: string(cfg.Helpdesk.Provider)}
	var tokens helpdesk.TokenCache
	if o.Store != nil {
		tokens = store.TokenCache(o.Store, scope)
	}
	prov, err := providers.New(ctx, cfg.Helpdesk, providers.Options{HTTPClient: o.HTTPClient,
		Metrics: o.Metrics, Logger: o.Logger, RatePerSecond: o.RatePerSecond, Tokens: tokens,
		BudgetReserve: cfg.Sync.ReserveFraction()})
	if err != nil {
		return nil, fmt.Errorf("helpdesk: %w", err)
	}
	a := &Account{Config: cfg, Provider: prov, Store: o.Store, Scope: scope}
	if cfg.Callbacks != nil {
		if a.CallbackSecret, err = providers.Secret(ctx, "callbacks.secret", cfg.Callbacks.Secret); err != nil {
			return nil, err
		}
		if every := cfg.Callbacks.RotateEvery.Std(); every > 0 {
			now := time.Now
			if o.Now != nil {
				now = o.Now
			}
			r := callback.Rotate(a.CallbackSecret, cfg.Account.Name, every, now())
			a.Rotation, a.CallbackSecret = &r, r.Current
		}
	}
	a.Syncer, err = syncer.New(prov, o.Store, syncer.Options{Scope: a.Scope, Entities: Entities(cfg),
		IngestWindow: cfg.Sync.IngestWindow.Std(), PollInterval: cfg.Sync.PollInterval.Std(),
		PicklistInterval: cfg.Sync.PicklistRefreshInterval.Std(),
		Metrics:          o.Metrics, Logger: o.Logger, Progress: o.Progress})
	if err != nil {
		return nil, err
	}
	if a.Writeback, a.WriteToken, err = newWriteback(ctx, a, o); err != nil {
		return nil, err
	}
	a.Reconciler = &reconcile.Reconciler{Config: cfg, Provider: prov, Store: o.Store, Syncer: a.Syncer,
		CallbackSecret: a.CallbackSecret, HTTPClient: o.HTTPClient, Logger: o.Logger}
	return a, nil
}

// newWriteback builds the account's write-back engine on the sync
// engine's PSA client (one rate limiter for both) and resolves the API
// token.
func newWriteback(ctx context.Context, a *Account, o Options) (*writeback.Engine, helpdesk.Secret, error) {
	var token helpdesk.Secret
	if wb := a.Config.Writeback; wb != nil && wb.APIToken != nil {
		var err error
		if token, err = providers.Secret(ctx, "writeback.apiToken", *wb.APIToken); err != nil {
			return nil, "", err
		}
	}
	e, err := writeback.New(writeback.Options{Store: o.Store, Scope: a.Scope, Provider: a.Provider, Config: a.Config,
		Metrics: o.Metrics, Logger: o.Logger})
	return e, token, err
}

// LeaseName is the name of the account's leadership lease: its holder
// runs the reconcile loop, the sync, the callback dispatcher and the
// write-back worker.
func LeaseName(cfg *config.Config) string {
	return "account/" + cfg.Account.Name + "/" + string(cfg.Helpdesk.Provider)
}

// Entities converts the file's sync entities.
func Entities(cfg *config.Config) []helpdesk.Entity {
	out := make([]helpdesk.Entity, len(cfg.Sync.Entities))
	for i, e := range cfg.Sync.Entities {
		out[i] = helpdesk.Entity(e)
	}
	return out
}

// Events converts the file's callback events.
func Events(cfg *config.Config) []helpdesk.Event {
	if cfg.Callbacks == nil {
		return nil
	}
	out := make([]helpdesk.Event, len(cfg.Callbacks.Events))
	for i, e := range cfg.Callbacks.Events {
		out[i] = helpdesk.Event(e)
	}
	return out
}

// WebhookSpec is what the file asks of the PSA's webhooks (zero when the
// file declares no callbacks).
func (a *Account) WebhookSpec() helpdesk.WebhookSpec {
	if a.Config.Callbacks == nil {
		return helpdesk.WebhookSpec{Account: a.Config.Account.Name}
	}
	return helpdesk.WebhookSpec{URL: a.Config.Callbacks.URL, Events: Events(a.Config),
		Secret: a.CallbackSecret, Account: a.Config.Account.Name}
}
