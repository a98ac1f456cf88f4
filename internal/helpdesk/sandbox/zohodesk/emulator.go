// Package zohodesk is the Zoho Desk API v1 emulator: an http.Handler over a
// *sandbox.World that speaks Zoho's wire format, written from the wire
// facts in shared/psa/zohodesk-halopsa.md and sharing no code with the
// client in internal/helpdesk/zohodesk.
//
// It serves the Accounts token endpoint (/oauth/v2/token, refresh-token
// grant, the authorization-code grant for Options.GrantCode, expiring tokens, the 10-tokens-per-10-minutes block, grant errors
// as HTTP 200 {"error":...}) and /api/v1 on one host: organizations,
// tickets (search, get, create, patch), comments, time entries, contacts
// and accounts search, agents, departments, organizationFields, and
// webhooks with the GET-then-POST URL validation handshake. It is as
// strict as Zoho: the orgId header is required (403 OAUTH_ORG_MISMATCH
// for another org), unknown query parameters and body fields are 422,
// limit above the endpoint's maximum and from above 4999 are 422 with
// Zoho's messages, empty lists are 204 with no body, ids are int64 JSON
// strings and times ISO millis Z.
//
// Changes to the World, through the API or through the World's Go API
// ("the PSA UI"), are delivered to subscribed webhooks as Zoho does: a
// JSON array of {eventType, orgId, eventTime, payload}, unsigned, 5 s
// timeout, 410 deletes the subscription; API calls tagged with a
// webhook's ignoreSourceId (header Options.SourceIDHeader) are not
// delivered to it.
//
// Faults beyond sandbox.Faults: SetPageFaults breaks chosen list pages
// (a 200 with no body, null, HTML or a cut-off page), ThrottleTokens
// answers token requests 429 with Retry-After, Options.Credits charges
// the daily API credits with their headers (SetCreditsUsed leaves a small
// remaining count), Options.MalformedTicket
// sends one ticket with a field of the wrong type. GET /myinfo answers
// the World's API user.
//
// Behaviour the facts leave open is a setting in Options (marked [INF]).
package zohodesk

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// Defaults of the emulated tenant.
const (
	DefaultOrgID        = "20084512"
	DefaultClientID     = "1000.HORIZONSANDBOX0000000000000"
	DefaultClientSecret = "sandbox-client-secret-5f1c2a"
	DefaultRefreshToken = "1000.sandboxrefresh.7d3e9b1a"
	// DefaultGrantCode is the one authorization code the token endpoint
	// takes (once) for the authorization-code grant.
	DefaultGrantCode      = "1000.sandboxgrant.0c4f2e"
	DefaultSourceIDHeader = "X-ZDesk-Source-Id"
	// idBase is added to World ids so wire ids look like Zoho's
	// 16-digit ids.
	idBase int64 = 1892000000000000
)

// TimeEntryTimes selects how time entries render executedTime and
// createdTime: the OAS schema says ISO strings, its examples send epoch
// milliseconds [INF].
type TimeEntryTimes int

// Time entry time layouts.
const (
	TimeEntryEpochMillis TimeEntryTimes = iota
	TimeEntryISO
)

// Options configures the Zoho-specific behaviour. Zero values take the
// defaults noted.
type Options struct {
	OrgID        string // default DefaultOrgID
	ClientID     string // default DefaultClientID
	ClientSecret string // default DefaultClientSecret
	RefreshToken string // default DefaultRefreshToken
	GrantCode    string // default DefaultGrantCode
	// TokenLifetime is the access token lifetime (Zoho: 1 h).
	TokenLifetime time.Duration
	// TokenLimit access tokens per refresh token per TokenWindow (Zoho:
	// 10 per 10 min); past it the grant answers "Access Denied".
	TokenLimit  int
	TokenWindow time.Duration
	// AccessDeniedStatus is the HTTP status of the "Access Denied" answer
	// [INF]; default 400.
	AccessDeniedStatus int
	// Clock drives token expiry and the token window; default time.Now
	// (the World clock is often frozen in tests).
	Clock func() time.Time
	// SourceIDHeader names the header that tags API calls with a source
	// id [INF: not documented]; default DefaultSourceIDHeader.
	SourceIDHeader string
	// TimeEntryTimes picks the time entry time layout [INF].
	TimeEntryTimes TimeEntryTimes
	// TimeEntryKeepsTicket, when true, leaves a ticket's modifiedTime
	// alone when a time entry is added through the API; by default the
	// ticket is touched [INF].
	TimeEntryKeepsTicket bool
	// AgentsActiveOnly makes GET /agents without status list active
	// agents only [INF]; by default it lists all.
	AgentsActiveOnly bool
	// CommentsPublicByDefault is isPublic when a comment omits it [INF:
	// undocumented]; default false.
	CommentsPublicByDefault bool
	// MaxWebhooks per portal (Enterprise 10).
	MaxWebhooks int
	// WebhookRetryDelays are the waits between delivery attempts
	// [UNKNOWN at Zoho]; default 1 m, 5 m, 30 m (scaled by
	// sandbox.Options.DeliveryScale).
	WebhookRetryDelays []time.Duration
	// HandshakeTimeout bounds each URL validation request; default 5 s.
	HandshakeTimeout time.Duration
	// MalformedTicket, when not 0, renders that World ticket in searches
	// with a subject of the wrong type (a number), as a corrupted record
	// would come.
	MalformedTicket int64
	// OversizedTicket, when not 0, renders that World ticket in searches
	// with a description of OversizedBytes (default 2 MiB), as a hostile
	// record would come.
	OversizedTicket int64
	OversizedBytes  int
	// Credits, when not 0, is the org's daily API credit allowance (Free
	// edition 5,000): calls are charged, answers carry the credit
	// headers, and past the allowance calls are 429 THRESHOLD_EXCEEDED
	// (see credits.go). 0 accounts nothing and sends no credit headers.
	Credits int
}

func (o *Options) defaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.OrgID, DefaultOrgID)
	def(&o.ClientID, DefaultClientID)
	def(&o.ClientSecret, DefaultClientSecret)
	def(&o.RefreshToken, DefaultRefreshToken)
	def(&o.GrantCode, DefaultGrantCode)
	def(&o.SourceIDHeader, DefaultSourceIDHeader)
	if o.TokenLifetime == 0 {
		o.TokenLifetime = time.Hour
	}
	if o.TokenLimit == 0 {
		o.TokenLimit = 10
	}
	if o.TokenWindow == 0 {
		o.TokenWindow = 10 * time.Minute
	}
	if o.AccessDeniedStatus == 0 {
		o.AccessDeniedStatus = http.StatusBadRequest
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.MaxWebhooks == 0 {
		o.MaxWebhooks = 10
	}
	if o.WebhookRetryDelays == nil {
		o.WebhookRetryDelays = []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute}
	}
	if o.HandshakeTimeout == 0 {
		o.HandshakeTimeout = 5 * time.Second
	}
}

// Emulator is the Zoho Desk emulator. It implements sandbox.Emulator.
type Emulator struct {
	opt     Options
	world   *sandbox.World
	faults  *sandbox.Faults
	deliver *sandbox.Deliverer
	log     *slog.Logger
	handler http.Handler
	tokens  *tokenStore
	hooks   *hookStore
	bodies  bodyFaults
	client  *http.Client
	mu      sync.Mutex
	calls   int
	// creditsUsed is what calls took of Options.Credits today.
	creditsUsed int
}

var _ sandbox.Emulator = (*Emulator)(nil)

func init() {
	sandbox.Register(helpdesk.ZohoDesk, func(o sandbox.Options) (sandbox.Emulator, error) {
		return New(o, Options{})
	})
}

// New returns an emulator over o.World with Zoho settings zo.
func New(o sandbox.Options, zo Options) (*Emulator, error) {
	if o.World == nil {
		return nil, fmt.Errorf("zohodesk sandbox: no world")
	}
	if o.Faults == nil {
		o.Faults = sandbox.NewFaults(1)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	zo.defaults()
	e := &Emulator{opt: zo, world: o.World, faults: o.Faults, log: o.Logger,
		deliver: sandbox.NewDeliverer(o),
		tokens:  newTokenStore(zo), hooks: newHookStore(),
		client: &http.Client{Timeout: zo.HandshakeTimeout}}
	e.handler = e.routes()
	o.World.Subscribe(e.onChange)
	return e, nil
}

// ServeHTTP implements http.Handler.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.handler.ServeHTTP(w, r) }

// Provider implements sandbox.Emulator.
func (e *Emulator) Provider() string { return helpdesk.ZohoDesk }

// Env implements sandbox.Emulator: the credentials the emulator accepts.
func (e *Emulator) Env() map[string]string {
	return map[string]string{"ZOHO_CLIENT_SECRET": e.opt.ClientSecret, "ZOHO_REFRESH_TOKEN": e.opt.RefreshToken}
}

// ConfigFragment implements sandbox.Emulator.
func (e *Emulator) ConfigFragment(baseURL string) string {
	return strings.Join([]string{
		"helpdesk:",
		"  provider: zohodesk",
		"  zohodesk:",
		"    clientId: " + e.opt.ClientID,
		"    clientSecret: {env: ZOHO_CLIENT_SECRET}",
		"    refreshToken: {env: ZOHO_REFRESH_TOKEN}",
		"    dataCenter: us",
		`    orgId: "` + e.opt.OrgID + `"`,
		"    baseURL: " + baseURL,
		"",
	}, "\n")
}

// Close implements sandbox.Emulator: it stops webhook deliveries.
func (e *Emulator) Close() { e.deliver.Close() }

// Options returns the settings in force (credentials included: tests
// build clients from them).
func (e *Emulator) Options() Options { return e.opt }

// World returns the emulated tenant's data.
func (e *Emulator) World() *sandbox.World { return e.world }

// Deliveries returns finished webhook deliveries, oldest first.
func (e *Emulator) Deliveries() []sandbox.DeliveryRecord { return e.deliver.Records() }

// RevokeAccessTokens invalidates every issued access token, as a user
// revoking the app's sessions would; refresh tokens stay valid.
func (e *Emulator) RevokeAccessTokens() { e.tokens.revokeAccess() }

// TokensIssued returns how many access tokens the grant has issued.
func (e *Emulator) TokensIssued() int { return e.tokens.issuedCount() }

// APICalls returns how many /api/v1 requests passed authentication.
func (e *Emulator) APICalls() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls
}

// WireID renders a World id as the emulator's wire id.
func WireID(id int64) string { return fmt.Sprint(idBase + id) }

// WorldID turns a wire id back into a World id (0 when not one of ours).
func WorldID(wire string) int64 {
	var n int64
	if _, err := fmt.Sscan(wire, &n); err != nil || n <= idBase {
		return 0
	}
	return n - idBase
}
