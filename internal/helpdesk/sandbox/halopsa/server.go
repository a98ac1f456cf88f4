package halopsa

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

// Credentials the emulator accepts unless Settings say otherwise.
const (
	DefaultTenant       = "horizon-sandbox"
	DefaultClientID     = "5f0c6c2e-1b7a-4c1e-9a55-0d6f1c2b3a4d"
	DefaultClientSecret = "sandbox-halopsa-client-secret"
	// EnvClientSecret is the variable Env and ConfigFragment use for the
	// client secret.
	EnvClientSecret = "HORIZON_HALOPSA_CLIENT_SECRET"
)

// DefaultRetryPolicy is the webhook retry schedule used when Settings name
// none. Halo does not document one [UNKNOWN]: three retries over about 12
// minutes, each attempt bounded by 30 s.
var DefaultRetryPolicy = sandbox.RetryPolicy{Timeout: 30 * time.Second,
	Delays: []time.Duration{30 * time.Second, 2 * time.Minute, 10 * time.Minute}}

// Settings choose the emulator's behaviour where the wire facts are only
// inferred, and its credentials. The zero value is the default reading.
type Settings struct {
	// Tenant is the ?tenant= the token endpoint requires (default
	// DefaultTenant). OnPremise drops the requirement.
	Tenant    string
	OnPremise bool
	// ClientID and ClientSecret are the accepted client credentials.
	ClientID, ClientSecret string
	// TokenLifetime is expires_in of issued tokens (default 1 h), measured
	// on the World's clock.
	TokenLifetime time.Duration
	// MaxPageSize caps page_size (default 100): a larger request is served
	// pages of this size, as Halo does.
	MaxPageSize int
	// DefaultPageSize is the page size when pageinate=true comes without
	// page_size (default 50) [INF].
	DefaultPageSize int
	// ReportRequestedPageSize makes the envelope echo the page_size asked
	// for instead of the size served (a server that caps silently).
	ReportRequestedPageSize bool
	// LastUpdateExclusive makes lastupdatefromdate match strictly later
	// updates; the default is inclusive [INF].
	LastUpdateExclusive bool
	// ArrayResponses answers a one-item save with a one-item array; the
	// default answers the object [INF].
	ArrayResponses bool
	// BareActions answers GET /Actions with a bare array; the default is
	// {"record_count","actions"} [INF].
	BareActions bool
	// PriorityIDField names the id key of /Priority entries: "priorityid"
	// (default) or "id" [INF].
	PriorityIDField string
	// SLAs is how many SLAs repeat the priorities (default 1) [INF].
	SLAs int
	// OmitTimeZone renders entity datetimes without the Z [INF].
	OmitTimeZone bool
	// AcceptUnknownFields ignores unknown fields in POST bodies; the
	// default rejects them with 400, to catch misspelt fields [INF].
	AcceptUnknownFields bool
	// UnknownIDRejected answers 404 to a POST naming an unknown id; the
	// default creates a new record, the odd upsert HaloAPI guards against.
	UnknownIDRejected bool
	// DenyWrites answers every POST and DELETE 403, as for an API agent
	// without permission.
	DenyWrites bool
	// ClosedStatusID is the id of Halo's Closed status (default 9).
	ClosedStatusID int64
	// EventOnlyPayload sends "event information only" deliveries (id,
	// event, object_id, webhook_id).
	EventOnlyPayload bool
	// BatchWindow, when positive, batches deliveries per webhook over this
	// window into one JSON array (Halo's batching, v2.164+) [INF shape].
	BatchWindow time.Duration
	// WebhookRetry is the delivery retry policy (default
	// DefaultRetryPolicy).
	WebhookRetry *sandbox.RetryPolicy
	// ListOmitsDetails makes GET /Tickets ignore includedetails: list
	// pages never carry details, only GET /Tickets/{id} does. By default
	// includedetails=true adds them to list pages too [C-code: a list
	// parameter in R14, R15, R17].
	ListOmitsDetails bool
	// StatusTypeNumeric reads /Status?type= as the numeric status type
	// its entries carry (ticket statuses are type 1 [INF]); a value that
	// is not a number binds to 0, as ASP.NET binds it, and matches no
	// status, so type=ticket answers []. By default type=ticket selects
	// the ticket statuses [C-code R14].
	StatusTypeNumeric bool
	// NoStatuses answers GET /Status with [], as for an API application
	// whose agent may not read statuses.
	NoStatuses bool
	// MalformedTicket, when not 0, renders that ticket with a summary of
	// the wrong type (a number), as a corrupted record would come.
	MalformedTicket int64
	// OversizedTicket, when not 0, renders that ticket in lists with
	// details of OversizedBytes (default 2 MiB), as a hostile record would
	// come.
	OversizedTicket int64
	OversizedBytes  int
}

func (s Settings) withDefaults() Settings {
	s.Tenant = or(s.Tenant, DefaultTenant)
	s.ClientID = or(s.ClientID, DefaultClientID)
	s.ClientSecret = or(s.ClientSecret, DefaultClientSecret)
	s.PriorityIDField = or(s.PriorityIDField, "priorityid")
	if s.TokenLifetime <= 0 {
		s.TokenLifetime = time.Hour
	}
	if s.MaxPageSize <= 0 {
		s.MaxPageSize = 100
	}
	if s.DefaultPageSize <= 0 {
		s.DefaultPageSize = 50
	}
	if s.SLAs <= 0 {
		s.SLAs = 1
	}
	if s.ClosedStatusID == 0 {
		s.ClosedStatusID = 9
	}
	if s.WebhookRetry == nil {
		p := DefaultRetryPolicy
		s.WebhookRetry = &p
	}
	return s
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Server is the HaloPSA emulator: an http.Handler serving /auth/token and
// /api/... over a sandbox.World, delivering webhooks for the World's
// changes. It is safe for concurrent use.
type Server struct {
	world   *sandbox.World
	faults  *sandbox.Faults
	log     *slog.Logger
	set     Settings
	deliver *sandbox.Deliverer
	handler http.Handler
	bodies  bodyFaults

	mu       sync.Mutex
	tokens   map[string]time.Time // access token → expiry (World clock)
	hooks    []*Webhook
	batches  map[string]*batch
	counts   map[string]int
	notifyID int
	closed   bool
}

var _ sandbox.Emulator = (*Server)(nil)

func init() {
	sandbox.Register(helpdesk.HaloPSA, func(o sandbox.Options) (sandbox.Emulator, error) {
		return New(o, Settings{})
	})
}

// New returns an emulator over o.World (a generated World when nil) with
// settings s. Close it to stop webhook deliveries.
func New(o sandbox.Options, s Settings) (*Server, error) {
	if o.World == nil {
		o.World = sandbox.Generate(sandbox.GenOptions{})
	}
	if o.Faults == nil {
		o.Faults = sandbox.NewFaults(1)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	srv := &Server{world: o.World, faults: o.Faults, log: o.Logger, set: s.withDefaults(),
		tokens: map[string]time.Time{}, batches: map[string]*batch{}, counts: map[string]int{}}
	srv.deliver = sandbox.NewDeliverer(o)
	srv.handler = o.Faults.Wrap(http.HandlerFunc(srv.route), faultWriters(), isAuthPath)
	o.World.Subscribe(srv.onChange)
	return srv, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.count(r.Method, resourceOf(r.URL.Path))
	s.handler.ServeHTTP(w, r)
}

// Provider implements sandbox.Emulator.
func (s *Server) Provider() string { return helpdesk.HaloPSA }

// Env implements sandbox.Emulator: the client secret's variable.
func (s *Server) Env() map[string]string {
	return map[string]string{EnvClientSecret: s.set.ClientSecret}
}

// ConfigFragment implements sandbox.Emulator: a horizon.yaml helpdesk
// block for this emulator at baseURL.
func (s *Server) ConfigFragment(baseURL string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "helpdesk:\n  provider: %s\n  halopsa:\n", helpdesk.HaloPSA)
	fmt.Fprintf(&b, "    baseURL: %s\n", strings.TrimRight(baseURL, "/"))
	if !s.set.OnPremise {
		fmt.Fprintf(&b, "    tenant: %s\n", s.set.Tenant)
	}
	fmt.Fprintf(&b, "    clientId: %s\n", s.set.ClientID)
	fmt.Fprintf(&b, "    clientSecret: {env: %s}\n", EnvClientSecret)
	return b.String()
}

// Close implements sandbox.Emulator: pending batches are dropped and
// deliveries in progress abandoned.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	for _, b := range s.batches {
		b.timer.Stop()
	}
	s.batches = map[string]*batch{}
	s.mu.Unlock()
	s.deliver.Close()
}

// World returns the World the emulator serves.
func (s *Server) World() *sandbox.World { return s.world }

// Settings returns the settings in force, defaults filled in.
func (s *Server) Settings() Settings { return s.set }

// Deliveries returns the finished webhook deliveries, oldest first.
func (s *Server) Deliveries() []sandbox.DeliveryRecord { return s.deliver.Records() }

// Requests returns how many requests reached the emulator for method and
// resource: the first path segment after /api/, lower case ("tickets",
// "actions", "webhook"), or "token" for the token endpoint.
func (s *Server) Requests(method, resource string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[strings.ToUpper(method)+" "+strings.ToLower(resource)]
}

func (s *Server) count(method, resource string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[strings.ToUpper(method)+" "+resource]++
}

// resourceOf names the counted resource of a path.
func resourceOf(path string) string {
	p := strings.Trim(strings.ToLower(path), "/")
	if p == "auth/token" {
		return "token"
	}
	p = strings.TrimPrefix(p, "api/")
	res, _, _ := strings.Cut(p, "/")
	return res
}

func isAuthPath(r *http.Request) bool {
	p := strings.Trim(strings.ToLower(r.URL.Path), "/")
	return p == "auth/token" || p == "api/authinfo"
}

// route dispatches on the lower-cased path: Halo matches paths
// case-insensitively.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	p := strings.Trim(strings.ToLower(r.URL.Path), "/")
	switch {
	case p == "auth/token":
		s.token(w, r)
	case p == "api/authinfo":
		s.authInfo(w, r)
	case strings.HasPrefix(p, "api/"):
		if !s.authorized(r) {
			writeUnauthorized(w)
			return
		}
		segs := strings.Split(strings.TrimPrefix(p, "api/"), "/")
		if fault := s.bodies.next(r, segs[0]); fault != "" {
			sandbox.WriteBrokenBody(w, r, fault, func(w http.ResponseWriter, r *http.Request) { s.api(w, r, segs) })
			return
		}
		s.api(w, r, segs)
	default:
		writeNotFound(w, "No HTTP resource was found that matches the request URI.")
	}
}

// handlerFunc serves one resource; id is "" for the collection.
type handlerFunc func(w http.ResponseWriter, r *http.Request, id string)

func (s *Server) resources() map[string]map[string]handlerFunc {
	return map[string]map[string]handlerFunc{
		"tickets":    {http.MethodGet: s.getTickets, http.MethodPost: s.postTickets, http.MethodDelete: s.deleteTicket},
		"actions":    {http.MethodGet: s.getActions, http.MethodPost: s.postActions},
		"client":     {http.MethodGet: s.getClients},
		"users":      {http.MethodGet: s.getUsers},
		"agent":      {http.MethodGet: s.getAgents},
		"status":     {http.MethodGet: s.getStatuses},
		"tickettype": {http.MethodGet: s.getTicketTypes},
		"team":       {http.MethodGet: s.getTeams},
		"priority":   {http.MethodGet: s.getPriorities},
		"outcome":    {http.MethodGet: s.getOutcomes},
		"webhook":    {http.MethodGet: s.getWebhooks, http.MethodPost: s.postWebhooks, http.MethodDelete: s.deleteWebhook},
	}
}

func (s *Server) api(w http.ResponseWriter, r *http.Request, segs []string) {
	methods, ok := s.resources()[segs[0]]
	if !ok || len(segs) > 2 {
		writeNotFound(w, "No HTTP resource was found that matches the request URI.")
		return
	}
	h, ok := methods[r.Method]
	if !ok {
		writeMessage(w, http.StatusMethodNotAllowed, fmt.Sprintf("The requested resource does not support http method '%s'.", r.Method))
		return
	}
	if s.set.DenyWrites && r.Method != http.MethodGet {
		writeForbidden(w)
		return
	}
	id := ""
	if len(segs) == 2 {
		id = segs[1]
	}
	if r.Method != http.MethodGet && r.Method != http.MethodDelete && id != "" {
		writeNotFound(w, "No HTTP resource was found that matches the request URI.")
		return
	}
	h(w, r, id)
}
