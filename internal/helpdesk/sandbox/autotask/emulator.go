package autotask

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

// Default credentials the emulator accepts (the username defaults to the
// World's API member's email).
const (
	DefaultSecret          = "sandbox-autotask-secret"
	DefaultIntegrationCode = "HORIZONSANDBOXINTEGRATION00"
)

// Environment variables Env returns.
const (
	EnvUsername        = "AUTOTASK_USERNAME"
	EnvSecret          = "AUTOTASK_SECRET"
	EnvIntegrationCode = "AUTOTASK_INTEGRATION_CODE"
)

// Settings tune the emulator. Each behaviour the wire facts only infer
// ([I]) is a setting, so that a test can try both readings. The zero
// value is the strict, documented behaviour.
type Settings struct {
	// Username, Secret and IntegrationCode are the credentials accepted;
	// defaults: the API member's email, DefaultSecret,
	// DefaultIntegrationCode.
	Username, Secret, IntegrationCode string
	// PublicURL is the base URL named in zone answers and next-page URLs;
	// default: the scheme and Host of each request.
	PublicURL string
	// PageCap, when below MaxRecords, caps pages server-side; the
	// nextPageUrl still leads on [I].
	PageCap int
	// NextOnFullLastPage gives a full last page a nextPageUrl leading to
	// an empty page [I].
	NextOnFullLastPage bool
	// NextPageMethods are the methods next-page URLs accept; default GET
	// and POST [K].
	NextPageMethods []string
	// ZoneURLDoubleSlash answers zoneInformation with a doubled slash in
	// url, as old answers had [K].
	ZoneURLDoubleSlash bool
	// AcceptUnknownFields makes writes ignore unknown fields instead of
	// rejecting them [I].
	AcceptUnknownFields bool
	// AssignWithoutRole accepts assignedResourceID without
	// assignedResourceRoleID (Autotask refuses it [K]).
	AssignWithoutRole bool
	// RequireTimeEntryRole refuses time entries without roleID [I].
	RequireTimeEntryRole bool
	// ContactIsActiveInt renders Contacts.isActive as 0/1 [I].
	ContactIsActiveInt bool
	// ThresholdLimit is the hourly request threshold (default 10,000 [D]).
	ThresholdLimit int
	// ThresholdStatus answers requests over the threshold (default 429;
	// the real code is undocumented [I]).
	ThresholdStatus int
	// ThresholdLatency is added to each request once usage passes 50% of
	// the threshold (Autotask adds 0.5–1 s [D]); default none.
	ThresholdLatency time.Duration
	// ThreadLimit caps concurrent requests per integration code and
	// endpoint (default 3 [D]); ThreadLimitStatus answers the excess
	// (default 429 [I]).
	ThreadLimit, ThreadLimitStatus int
	// DeleteMissingStatus answers DELETE of a missing webhook (default
	// 500 with an error body [I]).
	DeleteMissingStatus int
	// WebhookTimeout, WebhookRetryDelays and DisableAfter are the
	// delivery policy: 10 s per try, retries 30 s apart up to 5 tries,
	// disabled after 25 consecutive failed deliveries [D]. Delays are
	// multiplied by Options.DeliveryScale.
	WebhookTimeout     time.Duration
	WebhookRetryDelays []time.Duration
	DisableAfter       int
}

func (s Settings) withDefaults(w *sandbox.World) Settings {
	if s.Username == "" {
		s.Username = w.APIUser().Email
	}
	s.Secret = cmpOr(s.Secret, DefaultSecret)
	s.IntegrationCode = cmpOr(s.IntegrationCode, DefaultIntegrationCode)
	if len(s.NextPageMethods) == 0 {
		s.NextPageMethods = []string{http.MethodGet, http.MethodPost}
	}
	s.ThresholdLimit = cmpOr(s.ThresholdLimit, 10000)
	s.ThresholdStatus = cmpOr(s.ThresholdStatus, http.StatusTooManyRequests)
	s.ThreadLimit = cmpOr(s.ThreadLimit, 3)
	s.ThreadLimitStatus = cmpOr(s.ThreadLimitStatus, http.StatusTooManyRequests)
	s.DeleteMissingStatus = cmpOr(s.DeleteMissingStatus, http.StatusInternalServerError)
	s.WebhookTimeout = cmpOr(s.WebhookTimeout, 10*time.Second)
	if s.WebhookRetryDelays == nil {
		s.WebhookRetryDelays = []time.Duration{30 * time.Second, 30 * time.Second, 30 * time.Second, 30 * time.Second}
	}
	s.DisableAfter = cmpOr(s.DisableAfter, 25)
	return s
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Emulator is an in-process Autotask REST API over a sandbox.World. It is
// an http.Handler; mount it at the root of a server.
type Emulator struct {
	world     *sandbox.World
	faults    *sandbox.Faults
	set       Settings
	log       *slog.Logger
	deliverer *sandbox.Deliverer
	handler   http.Handler
	apiUser   sandbox.Member

	mu       sync.Mutex
	zone     int
	extra    map[int64]ticketExtra
	hooks    map[int64]*hook
	nextID   int64
	snap     map[string]map[int64]rec
	usage    []time.Time
	others   int
	inflight map[string]int
}

var _ sandbox.Emulator = (*Emulator)(nil)

func init() {
	sandbox.Register(helpdesk.Autotask, func(o sandbox.Options) (sandbox.Emulator, error) {
		return New(o, Settings{})
	})
}

// New returns an emulator serving o.World with settings s.
func New(o sandbox.Options, s Settings) (*Emulator, error) {
	if o.World == nil {
		return nil, fmt.Errorf("autotask sandbox: no World")
	}
	if o.Faults == nil {
		o.Faults = sandbox.NewFaults(1)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	e := &Emulator{world: o.World, faults: o.Faults, set: s.withDefaults(o.World), log: o.Logger,
		deliverer: sandbox.NewDeliverer(o), apiUser: o.World.APIUser(),
		zone: 1, extra: map[int64]ticketExtra{}, hooks: map[int64]*hook{}, nextID: 29700000,
		snap: map[string]map[int64]rec{}, inflight: map[string]int{}}
	e.handler = e.faults.Wrap(http.HandlerFunc(e.serve), e.errorWriters(), isZoneRequest)
	e.snapshotAll()
	o.World.Subscribe(e.onChange)
	return e, nil
}

// ServeHTTP implements http.Handler.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.handler.ServeHTTP(w, r) }

// Provider implements sandbox.Emulator.
func (e *Emulator) Provider() string { return helpdesk.Autotask }

// Settings returns the settings in force, defaults filled in.
func (e *Emulator) Settings() Settings { return e.set }

// Env implements sandbox.Emulator: the credentials the emulator accepts.
func (e *Emulator) Env() map[string]string {
	return map[string]string{EnvUsername: e.set.Username, EnvSecret: e.set.Secret,
		EnvIntegrationCode: e.set.IntegrationCode}
}

// ConfigFragment implements sandbox.Emulator: a horizon.yaml helpdesk
// block pointing zone discovery at baseURL.
func (e *Emulator) ConfigFragment(baseURL string) string {
	return fmt.Sprintf(`helpdesk:
  provider: autotask
  autotask:
    username: %s
    secret: {env: %s}
    integrationCode: {env: %s}
    baseURL: %s
`, e.set.Username, EnvSecret, EnvIntegrationCode, strings.TrimRight(baseURL, "/"))
}

// Close implements sandbox.Emulator: it abandons pending deliveries.
func (e *Emulator) Close() { e.deliverer.Close() }

// Deliveries returns finished webhook deliveries, oldest first.
func (e *Emulator) Deliveries() []sandbox.DeliveryRecord { return e.deliverer.Records() }

// APIResourceID returns the resource ID of the API user the credentials
// belong to.
func (e *Emulator) APIResourceID() int64 { return e.apiUser.ID }

// MoveZone moves the tenant to another zone: the old zone's API answers
// 401 and zoneInformation names the new one, as after a real migration.
func (e *Emulator) MoveZone() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.zone++
}

// SetUsage sets the requests other integrations made in the current
// threshold window, to drive the emulator near its threshold.
func (e *Emulator) SetUsage(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.others = n
}

// Usage returns the requests counted in the current threshold window.
func (e *Emulator) Usage() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.usageLocked(time.Now())
}
