package halopsa

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/transport"
	"github.com/horizon/reconciler/internal/metrics"
)

// MaxPageSize is the largest page Halo returns: it caps page_size at 100
// whatever the request asks (LESSONS R19, HaloAPI #90).
const MaxPageSize = 100

// DefaultRatePerSecond sizes the client-side limiter: hosted Halo allows
// about 300 requests per rolling 5 minutes (LESSONS R18).
const DefaultRatePerSecond = 1.0

// DefaultBurst is the limiter's default burst.
const DefaultBurst = 3

// DefaultClosedStatusID is Halo's built-in Closed status.
const DefaultClosedStatusID = "9"

// DefaultNoteOutcome is the action outcome used for notes and time.
const DefaultNoteOutcome = "Private Note"

// Config configures a Client. BaseURL (or Tenant, for a hosted
// instance), ClientID and ClientSecret are required.
type Config struct {
	// BaseURL is the instance root (https://acme.halopsa.com or an
	// on-premise URL); the API is under {BaseURL}/api. When empty and
	// Tenant is set, https://{Tenant}.halopsa.com is used. Sandboxes and
	// tests point it at the emulator: every call then goes there.
	BaseURL string
	// AuthURL is the authorisation server when it is not {BaseURL}/auth
	// (some hosted tenants); the token endpoint is {AuthURL}/token.
	AuthURL string
	// Tenant is sent as ?tenant= to the token endpoint of hosted
	// instances; leave it empty on premise.
	Tenant string
	// ClientID and ClientSecret are the API application's
	// client-credentials pair.
	ClientID     string
	ClientSecret helpdesk.Secret
	// Scope defaults to "all".
	Scope string
	// ClosedStatusID is the status that closes a ticket (default "9",
	// Halo's built-in Closed).
	ClosedStatusID string
	// NoteOutcome is the action outcome for notes and time entries
	// (default "Private Note"; outcomes are tenant-configured).
	NoteOutcome string
	// MaxPageSize bounds the page size the client asks for (default
	// MaxPageSize). Halo caps pages server-side whatever is asked; the
	// client copes with a smaller page than it asked for.
	MaxPageSize int
	// HTTPClient sends requests, the token request included; default: 30 s
	// timeout.
	HTTPClient *http.Client
	// Metrics records requests; nil records nothing.
	Metrics *metrics.Metrics
	// Logger receives retry debug lines; default slog.Default().
	Logger *slog.Logger
	// RatePerSecond and Burst size the client-side limiter; zero means
	// DefaultRatePerSecond and DefaultBurst, a negative rate no limit
	// (tests).
	RatePerSecond float64
	Burst         int
	// MaxAttempts, BaseBackoff, MaxBackoff and MaxRetryAfter tune retries;
	// zero means 6 attempts, 5 s, 60 s and 2 m.
	MaxAttempts                            int
	BaseBackoff, MaxBackoff, MaxRetryAfter time.Duration
	// Sleep replaces the retry sleep (tests make it instant).
	Sleep func(ctx context.Context, d time.Duration) error
	// TokenCache, when set, shares access tokens with the account's other
	// processes (the store implements it); nil keeps them in this
	// process.
	TokenCache helpdesk.TokenCache
}

// Client is a HaloPSA API client. It is safe for concurrent use.
type Client struct {
	cfg     Config
	t       *transport.Client
	apiRoot string // {base}/api
	auth    *tokenCache
	names   nameCache
}

var _ helpdesk.Provider = (*Client)(nil)

// New returns a Client for cfg. It does no I/O: the first call fetches a
// token.
func New(cfg Config) (*Client, error) {
	cfg, err := withDefaults(cfg)
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, apiRoot: cfg.BaseURL + "/api"}
	c.auth = newTokenCache(cfg, tokenURL(cfg))
	c.t = transport.New(c.transportConfig())
	if cfg.Sleep != nil {
		c.t.SetSleep(cfg.Sleep)
	}
	return c, nil
}

func withDefaults(cfg Config) (Config, error) {
	if cfg.BaseURL == "" && cfg.Tenant != "" {
		cfg.BaseURL = "https://" + url.PathEscape(cfg.Tenant) + ".halopsa.com"
	}
	var missing []string
	for name, v := range map[string]string{"baseURL": cfg.BaseURL, "clientId": cfg.ClientID,
		"clientSecret": cfg.ClientSecret.Reveal()} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return cfg, fmt.Errorf("halopsa: config: missing %s", strings.Join(missing, ", "))
	}
	if u, err := url.Parse(cfg.BaseURL); err != nil || u.Scheme == "" || u.Host == "" {
		return cfg, errors.New("halopsa: config: baseURL must be an absolute URL")
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/api")
	if cfg.AuthURL == "" {
		cfg.AuthURL = cfg.BaseURL + "/auth"
	}
	cfg.AuthURL = strings.TrimRight(cfg.AuthURL, "/")
	cfg.Scope = cmpOr(cfg.Scope, "all")
	cfg.ClosedStatusID = cmpOr(cfg.ClosedStatusID, DefaultClosedStatusID)
	cfg.NoteOutcome = cmpOr(cfg.NoteOutcome, DefaultNoteOutcome)
	if cfg.MaxPageSize <= 0 {
		cfg.MaxPageSize = MaxPageSize
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, nil
}

// tokenURL is {AuthURL}/token, with ?tenant= on hosted instances.
func tokenURL(cfg Config) string {
	u := cfg.AuthURL + "/token"
	if cfg.Tenant != "" {
		u += "?tenant=" + url.QueryEscape(cfg.Tenant)
	}
	return u
}

func (c *Client) transportConfig() transport.Config {
	rate, burst := c.cfg.RatePerSecond, c.cfg.Burst
	if rate == 0 {
		rate = DefaultRatePerSecond
	}
	if rate < 0 {
		rate = 0
	}
	if burst <= 0 {
		burst = DefaultBurst
	}
	return transport.Config{
		Provider: helpdesk.HaloPSA, HTTPClient: c.cfg.HTTPClient,
		RatePerSecond: rate, Burst: burst, MaxAttempts: c.cfg.MaxAttempts,
		BaseBackoff: durOr(c.cfg.BaseBackoff, 5*time.Second), MaxBackoff: durOr(c.cfg.MaxBackoff, time.Minute),
		MaxRetryAfter: c.cfg.MaxRetryAfter, Metrics: c.cfg.Metrics, Logger: c.cfg.Logger,
		ErrorMessage: errorMessage, OnUnauthorized: c.auth.invalidate,
	}
}

// Name implements helpdesk.Provider.
func (c *Client) Name() string { return helpdesk.HaloPSA }

// Capabilities implements helpdesk.Provider.
func (c *Client) Capabilities() helpdesk.Capabilities {
	return helpdesk.Capabilities{
		Entities: []helpdesk.Entity{helpdesk.EntityTickets, helpdesk.EntityContacts, helpdesk.EntityCompanies,
			helpdesk.EntityTimeEntries, helpdesk.EntityNotes, helpdesk.EntityMembers, helpdesk.EntityPicklists},
		IncrementalMembers: false,
		Picklists: []helpdesk.PicklistKind{helpdesk.PicklistStatus, helpdesk.PicklistType,
			helpdesk.PicklistPriority, helpdesk.PicklistQueue},
		CreatablePicklists: nil,
		Events:             supportedEvents(),
		MaxPageSize:        MaxPageSize,
		SignedCallbacks:    false,
	}
}

// PSATime implements syncer.PSAClock: the PSA's clock, from the Date
// header of its latest answer (one second's resolution, never ahead of
// the PSA), plus the time elapsed since; without a recent answer it
// pings first.
func (c *Client) PSATime(ctx context.Context) (time.Time, error) {
	return c.t.ServerTime(ctx, c.Ping)
}

// Ping implements helpdesk.Provider with GET /Agent/me, which needs a
// valid token and nothing else.
func (c *Client) Ping(ctx context.Context) error {
	if _, err := c.Me(ctx); err != nil {
		return fmt.Errorf("halopsa: ping: %w", err)
	}
	return nil
}

// Me returns the agent the API application acts as. Every write Horizon
// makes is attributed to it, so callbacks whose agent_id is this agent's
// are echoes of Horizon's own writes.
func (c *Client) Me(ctx context.Context) (helpdesk.Member, error) {
	var raw rawObject
	if _, err := c.get(ctx, "get agent me", "/Agent/me", nil, &raw); err != nil {
		return helpdesk.Member{}, fmt.Errorf("halopsa: get api agent: %w", err)
	}
	var a wireAgent
	if err := raw.decode(&a); err != nil {
		return helpdesk.Member{}, fmt.Errorf("halopsa: get api agent: %w", err)
	}
	return a.member(raw), nil
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func durOr(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}
