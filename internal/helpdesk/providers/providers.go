// Package providers builds the Provider a horizon.yaml names: it resolves
// the file's secret references and hands them to the right PSA client. It
// is the one place that knows every client package.
package providers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/autotask"
	"github.com/horizon/reconciler/internal/helpdesk/connectwise"
	"github.com/horizon/reconciler/internal/helpdesk/halopsa"
	"github.com/horizon/reconciler/internal/helpdesk/zohodesk"
	"github.com/horizon/reconciler/internal/metrics"
)

// Options are what every client shares.
type Options struct {
	HTTPClient *http.Client
	Metrics    *metrics.Metrics
	Logger     *slog.Logger
	// RatePerSecond overrides the client-side rate limit: 0 keeps the
	// provider's default (sized for the real PSA's limits), a negative
	// value turns it off (the sandbox has no limits).
	RatePerSecond float64
	// Tokens shares OAuth access tokens with the account's other
	// processes (Zoho Desk, HaloPSA); nil keeps them per process.
	Tokens helpdesk.TokenCache
	// BudgetReserve is the share of the PSA's API allowance backfills
	// leave (sync.budgetReserve), for the PSAs that report what is left
	// (Autotask, Zoho Desk).
	BudgetReserve float64
}

// New returns the client for the file's provider. Errors name the setting
// whose secret could not be read, never a value.
func New(ctx context.Context, h config.Helpdesk, o Options) (helpdesk.Provider, error) {
	r := resolver{ctx: ctx}
	switch h.Provider {
	case config.ProviderConnectWise:
		c := h.ConnectWise
		cfg := connectwise.Config{Site: c.Site, CompanyID: c.CompanyID, ClientID: c.ClientID, BaseURL: c.BaseURL,
			PublicKey:  r.get("helpdesk.connectwise.publicKey", c.PublicKey),
			PrivateKey: r.get("helpdesk.connectwise.privateKey", c.PrivateKey),
			HTTPClient: o.HTTPClient, Metrics: o.Metrics, Logger: o.Logger, RatePerSecond: o.RatePerSecond}
		if r.err != nil {
			return nil, r.err
		}
		return connectwise.New(cfg)
	case config.ProviderAutotask:
		c := h.Autotask
		cfg := autotask.Config{Username: c.Username, ZoneURL: c.ZoneURL, BaseURL: c.BaseURL,
			Secret:          r.get("helpdesk.autotask.secret", c.Secret),
			IntegrationCode: r.get("helpdesk.autotask.integrationCode", c.IntegrationCode),
			HTTPClient:      o.HTTPClient, Metrics: o.Metrics, Logger: o.Logger, RatePerSecond: o.RatePerSecond,
			BudgetReserve: o.BudgetReserve}
		if r.err != nil {
			return nil, r.err
		}
		return autotask.New(cfg)
	case config.ProviderZohoDesk:
		c := h.ZohoDesk
		cfg := zohodesk.Config{DataCenter: c.DataCenter, OrgID: string(c.OrgID), ClientID: c.ClientID, BaseURL: c.BaseURL,
			ClientSecret: r.get("helpdesk.zohodesk.clientSecret", c.ClientSecret),
			RefreshToken: r.get("helpdesk.zohodesk.refreshToken", c.RefreshToken),
			HTTPClient:   o.HTTPClient, Metrics: o.Metrics, Logger: o.Logger, TokenCache: o.Tokens,
			Tuning: zohodesk.Tuning{RatePerSecond: o.RatePerSecond}, BudgetReserve: o.BudgetReserve}
		if r.err != nil {
			return nil, r.err
		}
		return zohodesk.New(cfg)
	case config.ProviderHaloPSA:
		c := h.HaloPSA
		cfg := halopsa.Config{BaseURL: c.BaseURL, Tenant: c.Tenant, ClientID: c.ClientID,
			ClientSecret: r.get("helpdesk.halopsa.clientSecret", c.ClientSecret),
			HTTPClient:   o.HTTPClient, Metrics: o.Metrics, Logger: o.Logger, RatePerSecond: o.RatePerSecond,
			TokenCache: o.Tokens}
		if r.err != nil {
			return nil, r.err
		}
		return halopsa.New(cfg)
	}
	return nil, fmt.Errorf("unknown helpdesk provider %q", h.Provider)
}

// resolver reads secret references, keeping the first failure.
type resolver struct {
	ctx context.Context
	err error
}

func (r *resolver) get(setting string, ref config.SecretRef) helpdesk.Secret {
	if r.err != nil {
		return ""
	}
	s, err := ref.Resolve(r.ctx)
	if err != nil {
		r.err = fmt.Errorf("%s: %w", setting, err)
		return ""
	}
	return helpdesk.Secret(s.Reveal())
}

// Secret resolves one reference into a helpdesk.Secret.
func Secret(ctx context.Context, setting string, ref config.SecretRef) (helpdesk.Secret, error) {
	r := resolver{ctx: ctx}
	s := r.get(setting, ref)
	return s, r.err
}
