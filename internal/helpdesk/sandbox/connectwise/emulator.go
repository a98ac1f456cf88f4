package connectwise

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// Default credentials the sandbox accepts. They guard nothing real.
const (
	DefaultCompanyID  = "horizonsandbox"
	DefaultPublicKey  = "SandboxPublicKey01"
	DefaultPrivateKey = "SandboxPrivateKey0123456789"
	DefaultClientID   = "7b0d3c2e-5a41-4f6e-9c8d-1e2f3a4b5c6d"
	DefaultCodebase   = "v2025_1/"
	aliasCodebase     = "v4_6_release/"
)

// Environment variable names ConfigFragment references.
const (
	EnvPublicKey  = "CW_PUBLIC_KEY"
	EnvPrivateKey = "CW_PRIVATE_KEY"
)

// Settings tune the emulator. The zero value is the strict default; each
// field documents what it changes. Facts the wire-facts document marks as
// inferred are settings, so a test can switch to the other reading.
type Settings struct {
	// CompanyID, PublicKey, PrivateKey and ClientID are the accepted
	// credentials (defaults above).
	CompanyID, PublicKey, PrivateKey, ClientID string
	// Codebase is what companyinfo reports and the API serves (default
	// v2025_1/).
	Codebase string
	// NoAlias refuses the v4_6_release/ alias (real cloud accepts it).
	NoAlias bool
	// ClampPageSize serves pageSize over 1000 as 1000 instead of the 400
	// the emulator answers by default ([I] which one CW does).
	ClampPageSize bool
	// PageCap serves at most this many records per page whatever was
	// asked (0: no cap below 1000), to test clients against a server-side
	// cap.
	PageCap int
	// IgnoreSelfSuppression delivers callbacks caused by the registering
	// member even when isSelfSuppressedFlag is set ([I] what the flag
	// does; by default it suppresses them).
	IgnoreSelfSuppression bool
	// AllowUnknownFields accepts body fields and query parameters the
	// emulator does not know (by default they are a 400, stricter than
	// CW, so a client typo fails a test).
	AllowUnknownFields bool
	// NoClientID accepts requests without the clientId header.
	NoClientID bool
	// KeyURLNoAuth serves the callback signing key without credentials
	// ([I] whether CW requires them; by default it does).
	KeyURLNoAuth bool
	// SingleSlashKeyURL renders key_url without the double slash after
	// the codebase seen in real deliveries.
	SingleSlashKeyURL bool
	// NoRecordIDSuffix stops appending the record id to callback URLs
	// (CW appends it, hence the recommended "&recordId=" suffix).
	NoRecordIDSuffix bool
	// TimeCallbackType is the Type of time-entry deliveries ([I];
	// default "time").
	TimeCallbackType string
	// DenyPaths answers API paths with these prefixes (after apis/3.0,
	// e.g. "/system/callbacks") 403, as a missing security role does.
	DenyPaths []string
	// SigningKey signs callbacks (default: random per emulator).
	SigningKey string
}

func (s Settings) withDefaults() Settings {
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&s.CompanyID, DefaultCompanyID)
	def(&s.PublicKey, DefaultPublicKey)
	def(&s.PrivateKey, DefaultPrivateKey)
	def(&s.ClientID, DefaultClientID)
	def(&s.Codebase, DefaultCodebase)
	def(&s.TimeCallbackType, "time")
	def(&s.SigningKey, randomHex(24))
	s.Codebase = strings.Trim(s.Codebase, "/") + "/"
	return s
}

// Emulator is an in-process ConnectWise Manage API over a sandbox.World.
type Emulator struct {
	world   *sandbox.World
	faults  *sandbox.Faults
	deliver *sandbox.Deliverer
	log     *slog.Logger
	handler http.Handler

	mu        sync.Mutex
	s         Settings
	base      string // external base URL, for hrefs and key_url
	keyID     string
	callbacks []*callback
	nextCB    int64
}

// New returns an emulator over o.World with settings s. It subscribes to
// the World's changes to deliver callbacks.
func New(o sandbox.Options, s Settings) *Emulator {
	if o.World == nil {
		o.World = sandbox.Generate(sandbox.GenOptions{})
	}
	if o.Faults == nil {
		o.Faults = sandbox.NewFaults(1)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	e := &Emulator{world: o.World, faults: o.Faults, log: o.Logger, s: s.withDefaults(),
		deliver: sandbox.NewDeliverer(o), keyID: randomGUID(), nextCB: 300}
	e.handler = o.Faults.Wrap(http.HandlerFunc(e.serve), sandbox.ErrorWriters{
		RateLimited: writeRateLimited, ServerError: writeServerError, Unauthorized: writeUnauthorized,
	}, isUnmetered)
	o.World.Subscribe(e.onChange)
	return e
}

func init() {
	sandbox.Register(helpdesk.ConnectWise, func(o sandbox.Options) (sandbox.Emulator, error) {
		return New(o, Settings{}), nil
	})
}

// ServeHTTP implements http.Handler.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.handler.ServeHTTP(w, r) }

// Provider implements sandbox.Emulator.
func (e *Emulator) Provider() string { return helpdesk.ConnectWise }

// World returns the World the emulator serves.
func (e *Emulator) World() *sandbox.World { return e.world }

// Faults returns the fault injector in front of the API.
func (e *Emulator) Faults() *sandbox.Faults { return e.faults }

// Settings returns the settings in force.
func (e *Emulator) Settings() Settings {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.s
}

// UpdateSettings changes settings while serving (tests flip one reading
// of an inferred fact).
func (e *Emulator) UpdateSettings(f func(*Settings)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f(&e.s)
	e.s = e.s.withDefaults()
}

// SetBaseURL tells the emulator the URL it is reached at (httptest
// server URL), used in hrefs and in callback key_url. Without it the
// emulator uses the host of the latest request.
func (e *Emulator) SetBaseURL(u string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.base = strings.TrimRight(u, "/")
}

// baseURL returns the external base URL.
func (e *Emulator) baseURL() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.base
}

// learnBase records the base URL from a request when none was set.
func (e *Emulator) learnBase(r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.base == "" && r.Host != "" {
		e.base = scheme(r) + "://" + r.Host
	}
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// SigningKey returns the key callbacks are signed with.
func (e *Emulator) SigningKey() string { return e.Settings().SigningKey }

// RotateSigningKey replaces the signing key (same key_url) and returns
// the new one.
func (e *Emulator) RotateSigningKey() string {
	k := randomHex(24)
	e.UpdateSettings(func(s *Settings) { s.SigningKey = k })
	return k
}

// Deliveries returns finished callback deliveries, oldest first.
func (e *Emulator) Deliveries() []sandbox.DeliveryRecord { return e.deliver.Records() }

// Env implements sandbox.Emulator: the secret credentials by variable
// name.
func (e *Emulator) Env() map[string]string {
	s := e.Settings()
	return map[string]string{EnvPublicKey: s.PublicKey, EnvPrivateKey: s.PrivateKey}
}

// ConfigFragment implements sandbox.Emulator: a horizon.yaml helpdesk
// block pointing at baseURL. companyId and clientId are not secrets in
// horizon.yaml; the keys are environment references.
func (e *Emulator) ConfigFragment(baseURL string) string {
	if e.baseURL() == "" {
		e.SetBaseURL(baseURL)
	}
	s := e.Settings()
	return fmt.Sprintf(`helpdesk:
  provider: connectwise
  connectwise:
    companyId: %s
    clientId: %s
    publicKey: {env: %s}
    privateKey: {env: %s}
    baseURL: %s
`, s.CompanyID, s.ClientID, EnvPublicKey, EnvPrivateKey, strings.TrimRight(baseURL, "/"))
}

// Close implements sandbox.Emulator: it stops callback deliveries.
func (e *Emulator) Close() { e.deliver.Close() }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func randomGUID() string {
	h := randomHex(16)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
