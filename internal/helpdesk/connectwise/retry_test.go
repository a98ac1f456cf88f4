package connectwise_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/connectwise"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	cwemu "github.com/horizon/reconciler/internal/helpdesk/sandbox/connectwise"
)

// waits records the client's backoff sleeps instead of sleeping.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) install(c *connectwise.Client) {
	c.Transport().SetSleep(func(ctx context.Context, d time.Duration) error {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.d = append(w.d, d)
		return ctx.Err()
	})
}

func (w *waits) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.d...)
}

func warm(t *testing.T, e *env) {
	t.Helper()
	if _, err := e.client.Codebase(bg); err != nil {
		t.Fatal(err)
	}
	e.requests.Store(0)
}

func TestRetryRateLimited(t *testing.T) {
	for _, ra := range []time.Duration{3 * time.Second, 0} {
		t.Run("retry-after="+ra.String(), func(t *testing.T) {
			e := newEnv(t, envOpts{})
			warm(t, e)
			var w waits
			w.install(e.client)
			e.emu.Faults().Set(sandbox.FaultSettings{RateLimitEvery: 2, RetryAfter: ra})
			for range 2 {
				if err := e.client.Ping(bg); err != nil {
					t.Fatal(err)
				}
			}
			if e.requests.Load() != 3 {
				t.Errorf("requests = %d, want 3 (one 429 retried)", e.requests.Load())
			}
			got := w.all()
			if len(got) != 1 || (ra > 0 && got[0] != ra) || (ra == 0 && (got[0] <= 0 || got[0] > 5*time.Millisecond)) {
				t.Errorf("waits = %v (Retry-After %v)", got, ra)
			}
			if n := testutil.ToFloat64(e.metrics.PSARateLimited.WithLabelValues(helpdesk.ConnectWise)); n != 1 {
				t.Errorf("rate-limited metric = %v", n)
			}
		})
	}
}

func TestRetryRateLimitedBody(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *connectwise.Config) { c.MaxAttempts = 1 }})
	warm(t, e)
	e.emu.Faults().Set(sandbox.FaultSettings{RateLimitEvery: 1, RetryAfter: 30 * time.Second})
	err := e.client.Ping(bg)
	if !errors.Is(err, helpdesk.ErrRateLimited) || helpdesk.RetryAfter(err) != 30*time.Second ||
		!strings.Contains(err.Error(), "Too many requests") {
		t.Errorf("err = %v (retry after %v)", err, helpdesk.RetryAfter(err))
	}
}

func TestRetryServerErrorsAndTruncation(t *testing.T) {
	tests := []struct {
		name   string
		faults sandbox.FaultSettings
	}{
		{"5xx", sandbox.FaultSettings{ErrorRate: 1}},
		{"truncated body", sandbox.FaultSettings{TruncateRate: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			warm(t, e)
			var w waits
			w.install(e.client)
			e.emu.Faults().Set(tt.faults)
			for _, err := range e.client.Tickets(bg, helpdesk.Query{}) {
				if !errors.Is(err, helpdesk.ErrTransient) {
					t.Errorf("err = %v, want transient", err)
				}
			}
			if n := e.requests.Load(); n != 3 {
				t.Errorf("requests = %d, want MaxAttempts = 3", n)
			}
			if len(w.all()) != 2 {
				t.Errorf("waits = %v, want 2 backoffs", w.all())
			}
			e.emu.Faults().Set(sandbox.FaultSettings{})
			got, _ := collectAll(t, e.client.Tickets(bg, helpdesk.Query{}))
			if len(got) != 120 {
				t.Errorf("after recovery got %d tickets", len(got))
			}
		})
	}
}

func TestRetryIntermittentFaultsLoseNothing(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 400, cfg: func(c *connectwise.Config) { c.MaxAttempts = 8 }})
	warm(t, e)
	new(waits).install(e.client)
	e.emu.Faults().Set(sandbox.FaultSettings{ErrorRate: 0.2, TruncateRate: 0.2, RateLimitEvery: 5})
	got, _ := collectAll(t, e.client.Tickets(bg, helpdesk.Query{PageSize: 25}))
	if len(got) != 400 {
		t.Errorf("got %d tickets through faults, want 400", len(got))
	}
}

func TestRetryLatencyAndTimeout(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *connectwise.Config) {
		c.HTTPClient = &http.Client{Timeout: 30 * time.Millisecond}
		c.MaxAttempts = 2
	}})
	warm(t, e)
	new(waits).install(e.client)
	e.emu.Faults().Set(sandbox.FaultSettings{Latency: 2 * time.Second})
	start := time.Now()
	err := e.client.Ping(bg)
	if !errors.Is(err, helpdesk.ErrTransient) || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("err = %v, want a transient timeout", err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("timeout took %v", time.Since(start))
	}
	if n := e.requests.Load(); n != 2 {
		t.Errorf("requests = %d, want 2", n)
	}
}

// secrets returns every credential value of the env's client.
func secrets(e *env) []string {
	s := e.emu.Settings()
	return []string{s.PublicKey, s.PrivateKey, s.ClientID, "wrong-private-key",
		base64.StdEncoding.EncodeToString([]byte(s.CompanyID + "+" + s.PublicKey + ":" + s.PrivateKey)),
		base64.StdEncoding.EncodeToString([]byte(s.CompanyID + "+" + s.PublicKey + ":wrong-private-key"))}
}

func assertNoSecret(t *testing.T, e *env, err error) {
	t.Helper()
	for _, s := range secrets(e) {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q leaks a credential", err)
		}
	}
	if strings.Contains(e.logs.String(), e.emu.Settings().PrivateKey) {
		t.Error("log leaks the private key")
	}
}

func TestAuthFailureNoRetryNoLeak(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *connectwise.Config) { c.PrivateKey = "wrong-private-key" }})
	err := e.client.Ping(bg)
	if !errors.Is(err, helpdesk.ErrUnauthorized) {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), "privateKey") || !strings.Contains(err.Error(), "companyId") {
		t.Errorf("error does not say which credential to check: %v", err)
	}
	if n, ok := e.paths.Load("/v2025_1/apis/3.0/system/info"); !ok || n.(interface{ Load() int64 }).Load() != 1 {
		t.Errorf("401 retried or not sent")
	}
	assertNoSecret(t, e, err)

	e.client.Transport().SetSleep(func(context.Context, time.Duration) error { return nil })
	e.emu.Faults().Set(sandbox.FaultSettings{ErrorRate: 1})
	for _, err := range e.client.Tickets(bg, helpdesk.Query{}) {
		assertNoSecret(t, e, err)
	}
}

func TestAuthMissingClientIDAndRole(t *testing.T) {
	e := newEnv(t, envOpts{settings: cwemu.Settings{DenyPaths: []string{"/system/callbacks"}}})
	_, err := e.client.Webhooks(bg)
	if !errors.Is(err, helpdesk.ErrForbidden) || !strings.Contains(err.Error(), "security role") {
		t.Errorf("forbidden: %v", err)
	}
	e2 := newEnv(t, envOpts{wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Header.Del("clientId")
			h.ServeHTTP(w, r)
		})
	}})
	err = e2.client.Ping(bg)
	if !errors.Is(err, helpdesk.ErrUnauthorized) || !strings.Contains(err.Error(), "clientId") {
		t.Errorf("missing clientId: %v", err)
	}
}

func TestClientRateLimiter(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *connectwise.Config) { c.RatePerSecond = 0 }}) // default 10/s
	warm(t, e)
	start := time.Now()
	for range 15 {
		if err := e.client.Ping(bg); err != nil {
			t.Fatal(err)
		}
	}
	// A burst of 10 and 10 per second: 15 requests need at least 0.4 s.
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Errorf("15 requests took %v; the client-side limiter did not hold them", d)
	}
	if n := testutil.ToFloat64(e.metrics.PSARequests.WithLabelValues(helpdesk.ConnectWise, "ping", "200")); n != 15 {
		t.Errorf("requests metric = %v", n)
	}
}

func TestCodebaseDiscovery(t *testing.T) {
	e := newEnv(t, envOpts{settings: cwemu.Settings{Codebase: "v2025_1/", NoAlias: true}})
	if err := e.client.Ping(bg); err != nil {
		t.Fatal(err)
	}
	if cb, _ := e.client.Codebase(bg); cb != "v2025_1/" {
		t.Errorf("codebase = %q", cb)
	}
	for range 3 {
		if err := e.client.Ping(bg); err != nil {
			t.Fatal(err)
		}
	}
	n, _ := e.paths.Load("/login/companyinfo/" + cwemu.DefaultCompanyID)
	if n == nil || n.(interface{ Load() int64 }).Load() != 1 {
		t.Error("companyinfo not called exactly once (cached for the client's life)")
	}
}

func TestCodebaseDiscoveryFallback(t *testing.T) {
	e := newEnv(t, envOpts{settings: cwemu.Settings{Codebase: "v2025_1/"}, wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/login/") {
				http.Error(w, "maintenance", http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(w, r)
		})
	}})
	new(waits).install(e.client)
	if err := e.client.Ping(bg); err != nil {
		t.Fatal(err)
	}
	if cb, _ := e.client.Codebase(bg); cb != connectwise.DefaultCodebase {
		t.Errorf("codebase = %q, want the fallback", cb)
	}
	if !strings.Contains(e.logs.String(), "codebase discovery failed; using v4_6_release/") {
		t.Errorf("no clear log line: %s", e.logs.String())
	}
}

func TestNewValidatesConfig(t *testing.T) {
	tests := map[string]connectwise.Config{
		"no site":      {CompanyID: "a", PublicKey: "b", PrivateKey: "c", ClientID: "d"},
		"bad site":     {Site: "mars", CompanyID: "a", PublicKey: "b", PrivateKey: "c", ClientID: "d"},
		"no keys":      {Site: "na", CompanyID: "a", ClientID: "d"},
		"bad base URL": {BaseURL: "ftp://x", CompanyID: "a", PublicKey: "b", PrivateKey: "c", ClientID: "d"},
		"base userinfo": {BaseURL: "https://u:secretpw@x", CompanyID: "a", PublicKey: "b", PrivateKey: "c",
			ClientID: "d"},
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := connectwise.New(cfg)
			if err == nil || strings.Contains(err.Error(), "secretpw") {
				t.Errorf("err = %v", err)
			}
		})
	}
	if _, err := connectwise.New(connectwise.Config{Site: "eu", CompanyID: "a", PublicKey: "b", PrivateKey: "c", ClientID: "d"}); err != nil {
		t.Errorf("eu: %v", err)
	}
}

func TestCancelledDiscoveryIsNotCached(t *testing.T) {
	e := newEnv(t, envOpts{settings: cwemu.Settings{NoAlias: true}})
	ctx, cancel := context.WithCancel(bg)
	cancel()
	for _, err := range e.client.Tickets(ctx, helpdesk.Query{}) {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	}
	if cb, err := e.client.Codebase(bg); err != nil || cb != cwemu.DefaultCodebase {
		t.Errorf("codebase after a cancelled discovery = %q, %v", cb, err)
	}
}
