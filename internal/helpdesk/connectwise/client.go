package connectwise

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/listing"
	"github.com/horizon/reconciler/internal/helpdesk/transport"
	"github.com/horizon/reconciler/internal/metrics"
)

// MaxPageSize is the largest page the ConnectWise API returns.
const MaxPageSize = 1000

// DefaultRatePerSecond sizes the client-side limiter. ConnectWise
// publishes no quota; the Developer Guide expects throttling above about
// 1,000 requests a minute, and 10 a second stays clear of it.
const DefaultRatePerSecond = 10

// DefaultCodebase is the long-standing codebase alias used when discovery
// fails.
const DefaultCodebase = "v4_6_release/"

// Paging selects how list endpoints are walked.
type Paging int

// Paging modes.
const (
	// ForwardOnly sends pagination-type: forward-only and pageId (keyset on
	// id). It is the default.
	ForwardOnly Paging = iota
	// Navigable sends page=N with orderBy=id asc.
	Navigable
)

// Config configures a Client. Site or BaseURL is required, and so are the
// credentials.
type Config struct {
	// Site is the cloud region: na, eu, au or staging. An on-premise host
	// name (cw.example.com) is accepted too.
	Site string
	// CompanyID is the login company ID (first part of the API username).
	CompanyID string
	// PublicKey and PrivateKey are the API member's keys.
	PublicKey  helpdesk.Secret
	PrivateKey helpdesk.Secret
	// ClientID is the integration's clientId GUID, sent on every request.
	ClientID string
	// BaseURL overrides the hosts chosen by Site (on-premise, sandbox,
	// tests): every call, codebase discovery included, goes there. A
	// BaseURL whose path already ends in apis/3.0 is used as the API root
	// without discovery.
	BaseURL string
	// Codebase pins the codebase ("v2025_1/") and skips discovery.
	Codebase string
	// APIVersion pins the model version in the Accept header ("2025.1");
	// empty asks for application/json (the latest models).
	APIVersion string
	// KeyURLHosts adds hosts a callback's key_url may point at, beyond the
	// API and site hosts and *.myconnectwise.net.
	KeyURLHosts []string
	// Paging selects forward-only (default) or navigable paging.
	Paging Paging
	// HTTPClient sends requests; default: 30 s timeout.
	HTTPClient *http.Client
	// Metrics records requests; nil records nothing.
	Metrics *metrics.Metrics
	// Logger receives warnings (codebase fallback) and retry debug lines.
	Logger *slog.Logger
	// RatePerSecond and Burst size the client-side limiter; zero means
	// DefaultRatePerSecond with a burst of the same size, negative means
	// no limit (tests).
	RatePerSecond float64
	Burst         int
	// MaxAttempts, BaseBackoff and MaxBackoff tune retries (tests make
	// them small); zero takes the transport defaults.
	MaxAttempts             int
	BaseBackoff, MaxBackoff time.Duration
	// MaxResponseBytes bounds an answer (zero: the transport's 32 MiB);
	// MaxFieldBytes bounds one field of a listed record (zero: 1 MiB): a
	// record with a larger field is skipped and reported through
	// Query.Skip.
	MaxResponseBytes int64
	MaxFieldBytes    int
}

// Client is a ConnectWise Manage API client. It is safe for concurrent
// use.
type Client struct {
	cfg      Config
	t        *transport.Client
	log      *slog.Logger
	apiHost  string          // scheme://host of the API
	siteHost string          // scheme://host serving companyinfo
	auth     helpdesk.Secret // the Authorization header value

	rootMu   sync.Mutex
	apiRoot  string // scheme://host/{codebase}apis/3.0, once discovered
	keyMu    sync.Mutex
	keyCache map[string]string
	apiUser  apiUserCache
}

var _ helpdesk.Provider = (*Client)(nil)

// New returns a Client for cfg. It does no I/O: the codebase is discovered
// on the first call.
func New(cfg Config) (*Client, error) {
	if err := validate(cfg); err != nil {
		return nil, err
	}
	apiHost, siteHost, root, err := hosts(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Client{cfg: cfg, log: cfg.Logger, apiHost: apiHost, siteHost: siteHost,
		apiRoot: root, keyCache: map[string]string{}}
	c.auth = helpdesk.Secret("Basic " + base64.StdEncoding.EncodeToString(
		[]byte(cfg.CompanyID+"+"+cfg.PublicKey.Reveal()+":"+cfg.PrivateKey.Reveal())))
	c.t = transport.New(c.transportConfig())
	return c, nil
}

func validate(cfg Config) error {
	var missing []string
	if cfg.Site == "" && cfg.BaseURL == "" {
		missing = append(missing, "site or baseURL")
	}
	for name, v := range map[string]string{"companyId": cfg.CompanyID, "publicKey": cfg.PublicKey.Reveal(),
		"privateKey": cfg.PrivateKey.Reveal(), "clientId": cfg.ClientID} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("connectwise: config: missing %s", strings.Join(missing, ", "))
	}
	return nil
}

func (c *Client) transportConfig() transport.Config {
	rate, burst := c.cfg.RatePerSecond, c.cfg.Burst
	if rate == 0 {
		rate = DefaultRatePerSecond
	}
	if rate < 0 {
		rate = 0
	}
	if burst == 0 {
		burst = max(int(rate), 1)
	}
	return transport.Config{
		Provider: helpdesk.ConnectWise, HTTPClient: c.cfg.HTTPClient,
		RatePerSecond: rate, Burst: burst, MaxAttempts: c.cfg.MaxAttempts,
		BaseBackoff: c.cfg.BaseBackoff, MaxBackoff: c.cfg.MaxBackoff, MaxResponseBytes: c.cfg.MaxResponseBytes,
		Metrics: c.cfg.Metrics, Logger: c.cfg.Logger, ErrorMessage: c.errorMessage,
	}
}

// Transport returns the underlying transport client (tests replace its
// sleep).
func (c *Client) Transport() *transport.Client { return c.t }

// Name implements helpdesk.Provider.
func (c *Client) Name() string { return helpdesk.ConnectWise }

// Capabilities implements helpdesk.Provider.
func (c *Client) Capabilities() helpdesk.Capabilities {
	return helpdesk.Capabilities{
		Entities: []helpdesk.Entity{helpdesk.EntityTickets, helpdesk.EntityContacts, helpdesk.EntityCompanies,
			helpdesk.EntityTimeEntries, helpdesk.EntityNotes, helpdesk.EntityMembers, helpdesk.EntityPicklists},
		IncrementalMembers: true,
		Picklists: []helpdesk.PicklistKind{helpdesk.PicklistStatus, helpdesk.PicklistType,
			helpdesk.PicklistPriority, helpdesk.PicklistQueue},
		CreatablePicklists: []helpdesk.PicklistKind{helpdesk.PicklistStatus},
		Events:             supportedEvents(),
		MaxPageSize:        MaxPageSize,
		SignedCallbacks:    true,
	}
}

// PSATime implements syncer.PSAClock: the PSA's clock, from the Date
// header of its latest answer (one second's resolution, never ahead of
// the PSA), plus the time elapsed since; without a recent answer it
// pings first.
func (c *Client) PSATime(ctx context.Context) (time.Time, error) {
	return c.t.ServerTime(ctx, c.Ping)
}

// Ping implements helpdesk.Provider with GET /system/info.
func (c *Client) Ping(ctx context.Context) error {
	if _, err := c.get(ctx, "ping", "/system/info", nil, nil); err != nil {
		return wrapErr("ping", err)
	}
	return nil
}

// request describes one API call relative to the API root.
type request struct {
	method string
	path   string // "/service/tickets"
	query  url.Values
	header http.Header
	body   any
}

// call sends r and decodes a 2xx body into out (nil: ignore the body).
func (c *Client) call(ctx context.Context, op string, r request, out any) (*transport.Response, error) {
	return c.send(ctx, op, r, func(build transport.RequestFunc) (*transport.Response, error) {
		return c.t.DoJSON(ctx, op, build, out)
	})
}

// list sends r, a GET of a list endpoint, and returns the records of the
// answer. An answer that is not a JSON array (an empty body, null, HTML)
// is retried and then an error: only an empty array ends a walk.
func (c *Client) list(ctx context.Context, op string, r request) ([]json.RawMessage, *transport.Response, error) {
	var raws []json.RawMessage
	res, err := c.send(ctx, op, r, func(build transport.RequestFunc) (*transport.Response, error) {
		return c.t.DoDecode(ctx, op, build, func(b []byte) error {
			var err error
			raws, err = listing.Array(b)
			return err
		})
	})
	return raws, res, err
}

// getObject GETs path and returns the record it answers. An answer that
// is not a JSON object (an empty body, null, HTML) is retried and then an
// error, never an empty record.
func (c *Client) getObject(ctx context.Context, op, path string) (json.RawMessage, error) {
	var raw json.RawMessage
	_, err := c.send(ctx, op, request{method: http.MethodGet, path: path}, func(build transport.RequestFunc) (*transport.Response, error) {
		return c.t.DoDecode(ctx, op, build, func(b []byte) error {
			if t := bytes.TrimSpace(b); len(t) == 0 || t[0] != '{' {
				return fmt.Errorf("the PSA answered %q where a record was due", excerpt(t))
			}
			raw = b
			return nil
		})
	})
	return raw, err
}

// send builds r's request against the API root and sends it with do.
func (c *Client) send(ctx context.Context, op string, r request, do func(transport.RequestFunc) (*transport.Response, error)) (*transport.Response, error) {
	root, err := c.root(ctx)
	if err != nil {
		return nil, err
	}
	var body []byte
	if r.body != nil {
		if body, err = json.Marshal(r.body); err != nil {
			return nil, fmt.Errorf("encode %s body: %w", op, err)
		}
	}
	u := root + r.path
	if len(r.query) > 0 {
		u += "?" + encodeQuery(r.query)
	}
	build := func(ctx context.Context) (*http.Request, error) {
		return c.newRequest(ctx, r.method, u, body, r.header)
	}
	res, err := do(build)
	return res, hint(err)
}

func (c *Client) newRequest(ctx context.Context, method, u string, body []byte, h http.Header) (*http.Request, error) {
	var rd io.Reader = http.NoBody
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	c.authorize(req)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range h {
		req.Header[k] = v
	}
	return req, nil
}

// authorize sets the credentials and standard headers.
func (c *Client) authorize(req *http.Request) {
	req.Header.Set("Authorization", c.auth.Reveal())
	req.Header.Set("clientId", c.cfg.ClientID)
	if c.cfg.APIVersion != "" {
		req.Header.Set("Accept", "application/vnd.connectwise.com+json; version="+c.cfg.APIVersion)
	} else {
		req.Header.Set("Accept", "application/json")
	}
}

func (c *Client) get(ctx context.Context, op, path string, q url.Values, out any) (*transport.Response, error) {
	return c.call(ctx, op, request{method: http.MethodGet, path: path, query: q}, out)
}

func (c *Client) post(ctx context.Context, op, path string, body, out any) error {
	_, err := c.call(ctx, op, request{method: http.MethodPost, path: path, body: body}, out)
	return err
}

// encodeQuery encodes q with %20 for spaces: ConnectWise conditions are
// documented with %20, and '+' inside conditions must be %2B.
func encodeQuery(q url.Values) string {
	return strings.ReplaceAll(q.Encode(), "+", "%20")
}
