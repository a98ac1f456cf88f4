package autotask

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/transport"
	"github.com/horizon/reconciler/internal/metrics"
)

// Limits of the Autotask REST API.
const (
	// MaxPageSize is the largest MaxRecords a query accepts [D][K].
	MaxPageSize = 500
	// MaxConcurrent is the thread limit: concurrent requests per
	// integration code and endpoint [D]. The client applies it across all
	// endpoints, which is stricter.
	MaxConcurrent = 3
	// DefaultRatePerSecond sizes the client-side limiter: 7,200 requests
	// an hour at most, below the 10,000-an-hour threshold the tenant's
	// integrations share [D]. The limiter slows further as
	// ThresholdInformation reports usage nearing the threshold.
	DefaultRatePerSecond = 2
	// DefaultWebservicesURL is where zone discovery starts [D][K].
	DefaultWebservicesURL = "https://webservices.autotask.net"
	// DefaultThresholdCheckEvery is how many API calls pass between reads
	// of GET /ThresholdInformation.
	DefaultThresholdCheckEvery = 200
)

// Config configures a Client. Username, Secret and IntegrationCode are
// required.
type Config struct {
	// Username is the API-only user's username (an email address), sent as
	// the UserName header and used for zone discovery.
	Username string
	// Secret is the API user's secret, sent as the Secret header.
	Secret helpdesk.Secret
	// IntegrationCode is the API tracking identifier, sent as the
	// ApiIntegrationCode header.
	IntegrationCode helpdesk.Secret
	// ZoneURL pins the zone ("https://webservices5.autotask.net/ATServicesRest/")
	// and skips discovery; a 401 is then never blamed on a moved zone.
	ZoneURL string
	// BaseURL replaces DefaultWebservicesURL (staging, sandbox, tests):
	// zone discovery asks BaseURL, and every API call goes to BaseURL's
	// host whatever zone URL discovery answers.
	BaseURL string
	// APIResourceID is the resource ID of the API user, excluded from
	// Horizon's webhooks so that Horizon's own writes do not echo back.
	// Zero: found by querying Resources for Username.
	APIResourceID int64
	// HTTPClient sends requests; default: 30 s timeout.
	HTTPClient *http.Client
	// Metrics records requests; nil records nothing.
	Metrics *metrics.Metrics
	// Logger receives warnings and retry debug lines; default
	// slog.Default().
	Logger *slog.Logger
	// RatePerSecond and Burst size the client-side limiter: zero means
	// DefaultRatePerSecond with a burst of 5, negative means no limit
	// (tests).
	RatePerSecond float64
	Burst         int
	// ThresholdCheckEvery is the number of calls between reads of the
	// API usage threshold; zero means DefaultThresholdCheckEvery,
	// negative never reads it.
	ThresholdCheckEvery int
	// MaxAttempts, BaseBackoff, MaxBackoff and MaxRetryAfter tune retries
	// (tests make them small); zero takes the transport defaults.
	MaxAttempts                            int
	BaseBackoff, MaxBackoff, MaxRetryAfter time.Duration
	// MaxResponseBytes bounds an answer (zero: the transport's 32 MiB);
	// MaxFieldBytes bounds one field of a listed record (zero: 1 MiB): a
	// record with a larger field is skipped and reported through
	// Query.Skip.
	MaxResponseBytes int64
	MaxFieldBytes    int
	// PicklistTTL is how long the ticket picklist labels used to name
	// statuses, priorities, types and queues on tickets are kept before
	// they are read again; zero means DefaultPicklistTTL.
	PicklistTTL time.Duration
	// BudgetReserve is the share of the hourly request threshold a
	// backfill leaves (sync.budgetReserve): past it, backfill requests
	// wait, re-reading the threshold after each ReservePause (default
	// transport.DefaultReservePause). 0 leaves nothing.
	BudgetReserve float64
	ReservePause  time.Duration
}

// Client is an Autotask REST API client. It is safe for concurrent use.
type Client struct {
	cfg  Config
	t    *transport.Client
	log  *slog.Logger
	pace *pacer
	// reserve holds backfills back at the threshold's reserve.
	reserve *transport.Reserve

	zoneMu    sync.Mutex
	root      string // https://webservicesN.autotask.net/ATServicesRest/V1.0
	userKnown bool   // zone discovery accepted Username

	cache lookups
	// labels names the picklist values on tickets.
	labels labels
}

var _ helpdesk.Provider = (*Client)(nil)

// New returns a Client for cfg. It does no I/O: the zone is discovered on
// the first call.
func New(cfg Config) (*Client, error) {
	if err := validate(cfg); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Client{cfg: cfg, log: cfg.Logger, pace: newPacer(cfg.RatePerSecond, cfg.Burst, cfg.ThresholdCheckEvery)}
	if cfg.ZoneURL != "" {
		root, err := c.zoneRoot(cfg.ZoneURL)
		if err != nil {
			return nil, fmt.Errorf("autotask: config: zoneURL: %w", err)
		}
		c.root = root
	}
	c.reserve = transport.NewReserve(cfg.BudgetReserve, cfg.ReservePause)
	c.reserve.Probe = func(ctx context.Context) error { _, err := c.Threshold(ctx); return err }
	c.t = transport.New(c.transportConfig())
	return c, nil
}

func validate(cfg Config) error {
	var missing []string
	if strings.TrimSpace(cfg.Username) == "" {
		missing = append(missing, "username")
	}
	if cfg.Secret.Reveal() == "" {
		missing = append(missing, "secret")
	}
	if cfg.IntegrationCode.Reveal() == "" {
		missing = append(missing, "integrationCode")
	}
	if len(missing) > 0 {
		return fmt.Errorf("autotask: config: missing %s", strings.Join(missing, ", "))
	}
	if cfg.BaseURL != "" {
		if u, err := url.Parse(cfg.BaseURL); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return fmt.Errorf("autotask: config: baseURL %q is not an absolute http(s) URL", cfg.BaseURL)
		}
	}
	return nil
}

func (c *Client) transportConfig() transport.Config {
	return transport.Config{
		Provider: helpdesk.Autotask, HTTPClient: c.cfg.HTTPClient,
		MaxConcurrent: MaxConcurrent, MaxAttempts: c.cfg.MaxAttempts,
		BaseBackoff: c.cfg.BaseBackoff, MaxBackoff: c.cfg.MaxBackoff, MaxRetryAfter: c.cfg.MaxRetryAfter,
		MaxResponseBytes: c.cfg.MaxResponseBytes, Metrics: c.cfg.Metrics, Logger: c.cfg.Logger,
		ErrorMessage: c.errorMessage, Classify: classify, Reserve: c.reserve,
	}
}

// Transport returns the underlying transport client (tests replace its
// sleep with SetSleep).
func (c *Client) Transport() *transport.Client { return c.t }

// Name implements helpdesk.Provider.
func (c *Client) Name() string { return helpdesk.Autotask }

// Capabilities implements helpdesk.Provider. Resources have no
// last-updated field, so members are always re-read in full; no picklist
// can be created through the REST API; webhooks exist for tickets, ticket
// notes, contacts and companies but not time entries [D].
func (c *Client) Capabilities() helpdesk.Capabilities {
	return helpdesk.Capabilities{
		Entities: []helpdesk.Entity{helpdesk.EntityTickets, helpdesk.EntityContacts, helpdesk.EntityCompanies,
			helpdesk.EntityTimeEntries, helpdesk.EntityNotes, helpdesk.EntityMembers, helpdesk.EntityPicklists},
		IncrementalMembers: false,
		Picklists: []helpdesk.PicklistKind{helpdesk.PicklistStatus, helpdesk.PicklistType,
			helpdesk.PicklistPriority, helpdesk.PicklistQueue},
		Events:          supportedEvents(),
		MaxPageSize:     MaxPageSize,
		SignedCallbacks: true,
	}
}

// PSATime implements syncer.PSAClock: the PSA's clock, from the Date
// header of its latest answer (one second's resolution, never ahead of
// the PSA), plus the time elapsed since; without a recent answer it
// pings first.
func (c *Client) PSATime(ctx context.Context) (time.Time, error) {
	return c.t.ServerTime(ctx, c.Ping)
}

// Ping implements helpdesk.Provider: it discovers the zone (unless pinned)
// and reads the usage threshold, which also paces the limiter.
func (c *Client) Ping(ctx context.Context) error {
	if _, err := c.Threshold(ctx); err != nil {
		return fmt.Errorf("autotask: ping: %w", err)
	}
	return nil
}

// explain adds what to check to auth failures. It never includes a
// credential value.
func (c *Client) explain(err error) error {
	switch {
	case errors.Is(err, helpdesk.ErrUnauthorized):
		return fmt.Errorf("%w; %s", err, c.authHint())
	case errors.Is(err, helpdesk.ErrForbidden):
		return fmt.Errorf("%w; the API user's security level does not allow this call", err)
	}
	return err
}

func (c *Client) authHint() string {
	c.zoneMu.Lock()
	known := c.userKnown
	c.zoneMu.Unlock()
	if known {
		return "zone discovery knows the username, so check the secret and integrationCode settings of the Autotask API user"
	}
	return "check the username, secret and integrationCode settings of the Autotask API user"
}
