package zohodesk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
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

// DefaultSourceIDHeader is the request header that tags Horizon's writes
// with its source id, so that webhooks registered with ignoreSourceId
// skip Horizon's own changes. The real header name is not documented
// anywhere we could find [INF]; Config.SourceIDHeader overrides it.
const DefaultSourceIDHeader = "X-ZDesk-Source-Id"

// Page sizes per endpoint (the documented maxima, see the package doc).
const (
	ticketPage  = 100 // /tickets/search, /tickets/{id}/comments, timeEntry
	contactPage = 99  // contacts and accounts: the OAS says 99
	agentPage   = 200 // /agents, /departments
	maxFrom     = 4999
	// defaultRatePerSecond: a Professional org's 75,000 daily credits
	// last a day at under 1 credit/s on average.
	defaultRatePerSecond = 2
	defaultTimeout       = 30 * time.Second
)

// Config configures a Client.
type Config struct {
	// DataCenter picks the Desk and Accounts hosts: us (default), eu, in,
	// au, jp, ca, sa, cn.
	DataCenter string
	// OrgID is the Zoho Desk organisation id sent in the orgId header.
	OrgID string
	// ClientID is the OAuth client id (not a secret).
	ClientID string
	// ClientSecret is the OAuth client secret.
	ClientSecret helpdesk.Secret
	// RefreshToken is the long-lived refresh token (access_type=offline).
	RefreshToken helpdesk.Secret
	// BaseURL, when set, replaces both the Desk and the Accounts host
	// (sandbox, staging, tests): the API is {BaseURL}/api/v1 and the token
	// endpoint {BaseURL}/oauth/v2/token.
	BaseURL string
	// AccountsURL, when set, replaces the Accounts host only.
	AccountsURL string
	// SourceID is the UUID Horizon tags its writes with and registers as
	// ignoreSourceId; default: derived from OrgID and ClientID, so it is
	// stable across restarts.
	SourceID string
	// SourceIDHeader names the header carrying SourceID; default
	// DefaultSourceIDHeader.
	SourceIDHeader string
	// HTTPClient sends every request, API and token; default: 30 s
	// timeout.
	HTTPClient *http.Client
	// Metrics records requests; nil records nothing.
	Metrics *metrics.Metrics
	// Logger logs retries; default slog.Default().
	Logger *slog.Logger
	// Tuning adjusts limits and retries (tests make them fast).
	Tuning Tuning
	// Now is the clock used for search windows; default time.Now.
	Now func() time.Time
	// TokenCache, when set, shares access tokens with the account's other
	// processes (the store implements it); nil keeps them in this
	// process.
	TokenCache helpdesk.TokenCache
	// BudgetReserve is the share of the org's daily credits a backfill
	// leaves (sync.budgetReserve): past it, backfill requests wait for
	// the credits to come back. 0 leaves nothing.
	BudgetReserve float64
}

// Tuning holds transport settings; zero values take the defaults noted.
type Tuning struct {
	// RatePerSecond and Burst size the client-side limiter; default 2/s,
	// burst 10 (a Professional org's 75,000 daily credits last a day at
	// under 1 credit/s on average; bursts are what the limiter allows).
	// A negative RatePerSecond disables the limiter.
	RatePerSecond float64
	Burst         int
	// MaxConcurrent caps requests in flight; default 5 (the Free
	// edition's concurrency cap, the lowest of all editions).
	MaxConcurrent int
	// MaxAttempts, BaseBackoff, MaxBackoff and MaxRetryAfter are passed
	// to the transport (defaults there).
	MaxAttempts                            int
	BaseBackoff, MaxBackoff, MaxRetryAfter time.Duration
	// TokenEarlyExpiry refreshes the access token this long before it
	// expires; default 10 s.
	TokenEarlyExpiry time.Duration
	// ReservePause is how long a backfill waits at the credit reserve
	// before one request reads the remaining credits again; default
	// transport.DefaultReservePause.
	ReservePause time.Duration
	// DailyCredits is the org's daily credit allowance when known (the
	// edition's base plus its per-agent credits); default
	// DefaultDailyCredits. Zoho reports only what is left, so the reserve
	// is a share of the larger of this and the most credits seen left.
	DailyCredits int
}

// DefaultDailyCredits is the Free edition's daily allowance, the smallest
// of all editions: a reserve taken of it is never more than asked.
const DefaultDailyCredits = 5000

// Client is a Zoho Desk API v1 client. It implements helpdesk.Provider and
// is safe for concurrent use.
type Client struct {
	cfg      Config
	apiRoot  string
	tokenURL string
	http     *transport.Client
	auth     *tokenManager
	sourceID string
	header   string
	depts    deptCache
	reserve  *transport.Reserve
}

var _ helpdesk.Provider = (*Client)(nil)

// dataCentres maps a data centre to its Desk and Accounts hosts.
var dataCentres = map[string][2]string{
	"us": {"https://desk.zoho.com", "https://accounts.zoho.com"},
	"eu": {"https://desk.zoho.eu", "https://accounts.zoho.eu"},
	"in": {"https://desk.zoho.in", "https://accounts.zoho.in"},
	"au": {"https://desk.zoho.com.au", "https://accounts.zoho.com.au"},
	"jp": {"https://desk.zoho.jp", "https://accounts.zoho.jp"},
	"ca": {"https://desk.zohocloud.ca", "https://accounts.zohocloud.ca"},
	"sa": {"https://desk.zoho.sa", "https://accounts.zoho.sa"},
	"cn": {"https://desk.zoho.com.cn", "https://accounts.zoho.com.cn"},
}

// New returns a Client for cfg. It does no I/O.
func New(cfg Config) (*Client, error) {
	desk, accounts, err := hosts(cfg)
	if err != nil {
		return nil, err
	}
	if err := checkConfig(cfg); err != nil {
		return nil, err
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: defaultTimeout}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Client{
		cfg:      cfg,
		apiRoot:  desk + "/api/v1",
		tokenURL: accounts + "/oauth/v2/token",
		sourceID: cfg.SourceID,
		header:   cfg.SourceIDHeader,
	}
	if c.sourceID == "" {
		c.sourceID = deriveSourceID(cfg.OrgID, cfg.ClientID)
	}
	if c.header == "" {
		c.header = DefaultSourceIDHeader
	}
	c.auth = newTokenManager(cfg, c.tokenURL)
	api := cfg
	api.HTTPClient = spyClient(cfg.HTTPClient, c.auth)
	c.reserve = transport.NewReserve(cfg.BudgetReserve, cfg.Tuning.ReservePause)
	daily := cfg.Tuning.DailyCredits
	if daily <= 0 {
		daily = DefaultDailyCredits
	}
	c.reserve.Observe(-1, daily) // the allowance before any answer tells more
	tc := transportConfig(api, c.auth.invalidate)
	tc.Reserve, tc.Remaining = c.reserve, remainingCredits
	c.http = transport.New(tc)
	return c, nil
}

func checkConfig(cfg Config) error {
	var missing []string
	for name, v := range map[string]string{"orgId": cfg.OrgID, "clientId": cfg.ClientID,
		"clientSecret": cfg.ClientSecret.Reveal(), "refreshToken": cfg.RefreshToken.Reveal()} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("zohodesk: missing settings: %s", strings.Join(missing, ", "))
	}
	return nil
}

func hosts(cfg Config) (desk, accounts string, err error) {
	if cfg.BaseURL != "" {
		desk = strings.TrimRight(cfg.BaseURL, "/")
		accounts = desk
	} else {
		dc := strings.ToLower(cfg.DataCenter)
		if dc == "" {
			dc = "us"
		}
		h, ok := dataCentres[dc]
		if !ok {
			return "", "", fmt.Errorf("zohodesk: unknown data centre %q", cfg.DataCenter)
		}
		desk, accounts = h[0], h[1]
	}
	if cfg.AccountsURL != "" {
		accounts = strings.TrimRight(cfg.AccountsURL, "/")
	}
	return desk, accounts, nil
}

func transportConfig(cfg Config, onUnauthorized func() bool) transport.Config {
	t := cfg.Tuning
	rps, burst, conc := t.RatePerSecond, t.Burst, t.MaxConcurrent
	if rps == 0 {
		rps = defaultRatePerSecond
	}
	if rps < 0 {
		rps = 0
	}
	if burst == 0 {
		burst = 10
	}
	if conc == 0 {
		conc = 5
	}
	return transport.Config{
		Provider: helpdesk.ZohoDesk, HTTPClient: cfg.HTTPClient,
		RatePerSecond: rps, Burst: burst, MaxConcurrent: conc,
		MaxAttempts: t.MaxAttempts, BaseBackoff: t.BaseBackoff, MaxBackoff: t.MaxBackoff,
		MaxRetryAfter: t.MaxRetryAfter, Metrics: cfg.Metrics, Logger: cfg.Logger,
		ErrorMessage: errorMessage, OnUnauthorized: onUnauthorized,
	}
}

// SetSleep replaces every retry sleep (tests make it instant).
func (c *Client) SetSleep(f func(context.Context, time.Duration) error) {
	c.http.SetSleep(f)
	c.auth.sleep = f
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// SourceID returns the UUID Horizon tags its writes with.
func (c *Client) SourceID() string { return c.sourceID }

// deriveSourceID returns a stable UUID (version 5 layout over SHA-256) for
// an org and OAuth client.
func deriveSourceID(orgID, clientID string) string {
	sum := sha256.Sum256([]byte("horizon-source-id\x00" + orgID + "\x00" + clientID))
	b := sum[:16]
	b[6] = (b[6] & 0x0f) | 0x50
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// request is one API call.
type request struct {
	op     string
	method string
	path   string // below /api/v1, already escaped
	query  url.Values
	body   any
}

// call sends r and decodes a JSON answer into out (nil: ignore the body).
// A 204 leaves out untouched and returns a response with Status 204.
func (c *Client) call(ctx context.Context, r request, out any) (*transport.Response, error) {
	return c.callDecode(ctx, r, func(_ int, body []byte) error {
		if out == nil || len(body) == 0 {
			return nil
		}
		return json.Unmarshal(body, out)
	})
}

// callDecode is call with a decode of its own, which sees the status: an
// error from it is retried like a transient failure, then returned.
func (c *Client) callDecode(ctx context.Context, r request, decode func(status int, body []byte) error) (*transport.Response, error) {
	if _, err := c.auth.token(ctx); err != nil {
		return nil, err
	}
	var payload []byte
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("zohodesk: %s: encode body: %w", r.op, err)
		}
		payload = b
	}
	u := c.apiRoot + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	resp, err := c.http.DoDecodeStatus(ctx, r.op, func(ctx context.Context) (*http.Request, error) {
		return c.build(ctx, r.method, u, payload)
	}, decode)
	if err != nil {
		return nil, credentialCause(err)
	}
	return resp, nil
}

// credentialCause returns the token error behind a request that failed
// while building (a refresh after a 401 that Zoho Accounts refused), so
// it reads as the credential problem it is, not as an invalid request.
func credentialCause(err error) error {
	var outer *helpdesk.Error
	if !errors.As(err, &outer) || outer.Err == nil {
		return err
	}
	var inner *helpdesk.Error
	if errors.As(outer.Err, &inner) && inner.Op == "refresh token" {
		return inner
	}
	return err
}

func (c *Client) build(ctx context.Context, method, u string, payload []byte) (*http.Request, error) {
	tok, err := c.auth.token(ctx)
	if err != nil {
		return nil, err
	}
	var body *bytes.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	var req *http.Request
	if body != nil {
		req, err = http.NewRequestWithContext(ctx, method, u, body)
	} else {
		req, err = http.NewRequestWithContext(ctx, method, u, nil)
	}
	if err != nil {
		return nil, errors.New("malformed request URL")
	}
	req.Header.Set("Authorization", "Zoho-oauthtoken "+tok.AccessToken)
	req.Header.Set("orgId", c.cfg.OrgID)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method != http.MethodGet {
		req.Header.Set(c.header, c.sourceID)
	}
	return req, nil
}

// errorMessage turns Zoho's error body into a short message with a hint
// naming the setting to check; it never includes a credential.
func errorMessage(status int, body []byte) string {
	var e wireError
	msg := ""
	if json.Unmarshal(body, &e) == nil && (e.ErrorCode != "" || e.Message != "") {
		msg = strings.TrimSpace(e.ErrorCode + ": " + e.Message)
		for _, fe := range e.Errors {
			msg += fmt.Sprintf(" [%s %s: %s]", fe.FieldName, fe.ErrorType, fe.ErrorMessage)
		}
	} else {
		msg = excerpt(body)
	}
	return msg + hint(status, e.ErrorCode)
}

func hint(status int, code string) string {
	switch {
	case code == "OAUTH_ORG_MISMATCH":
		return " (check the helpdesk.zohodesk orgId setting: the refresh token belongs to another organisation)"
	case code == "SCOPE_MISMATCH":
		return " (the refresh token lacks a scope: re-create it with the scopes listed in the docs)"
	case status == http.StatusUnauthorized:
		return " (check the helpdesk.zohodesk refreshToken, clientId and clientSecret settings)"
	}
	return ""
}

func excerpt(b []byte) string {
	const n = 200
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// Name implements helpdesk.Provider.
func (c *Client) Name() string { return helpdesk.ZohoDesk }

// Capabilities implements helpdesk.Provider.
func (c *Client) Capabilities() helpdesk.Capabilities {
	return helpdesk.Capabilities{
		Entities: []helpdesk.Entity{helpdesk.EntityTickets, helpdesk.EntityContacts, helpdesk.EntityCompanies,
			helpdesk.EntityTimeEntries, helpdesk.EntityNotes, helpdesk.EntityMembers, helpdesk.EntityPicklists},
		IncrementalMembers: false,
		Picklists: []helpdesk.PicklistKind{helpdesk.PicklistStatus, helpdesk.PicklistType,
			helpdesk.PicklistPriority, helpdesk.PicklistDepartment},
		CreatablePicklists: nil,
		Events:             supportedEvents(),
		MaxPageSize:        ticketPage,
		SignedCallbacks:    false,
	}
}

// PSATime implements syncer.PSAClock: the PSA's clock, from the Date
// header of its latest answer (one second's resolution, never ahead of
// the PSA), plus the time elapsed since; without a recent answer it
// pings first.
func (c *Client) PSATime(ctx context.Context) (time.Time, error) {
	return c.http.ServerTime(ctx, c.Ping)
}

// Ping implements helpdesk.Provider: GET /organizations (the one call that
// needs no orgId) and a check that the configured orgId is among them.
func (c *Client) Ping(ctx context.Context) error {
	var out struct {
		Data []struct {
			ID flexID `json:"id"`
		} `json:"data"`
	}
	if _, err := c.call(ctx, request{op: "ping", method: http.MethodGet, path: "/organizations"}, &out); err != nil {
		return err
	}
	for _, o := range out.Data {
		if string(o.ID) == c.cfg.OrgID {
			return nil
		}
	}
	return &helpdesk.Error{Provider: helpdesk.ZohoDesk, Op: "ping", Kind: helpdesk.ErrForbidden,
		Message: "the orgId setting names no organisation this refresh token can reach (check the helpdesk.zohodesk orgId setting)"}
}
