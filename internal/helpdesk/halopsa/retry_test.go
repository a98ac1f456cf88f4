package halopsa_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/halopsa"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	haloemu "github.com/horizon/reconciler/internal/helpdesk/sandbox/halopsa"
	"github.com/horizon/reconciler/internal/metrics"
)

// sleeps records the retry waits instead of sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

func TestRetryRateLimited(t *testing.T) {
	cases := []struct {
		name       string
		retryAfter time.Duration
		wantWait   func(time.Duration) bool
	}{
		{"with Retry-After", 3 * time.Second, func(d time.Duration) bool { return d == 3*time.Second }},
		{"without Retry-After", 0, func(d time.Duration) bool { return d > 0 && d <= 2*time.Millisecond }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sl := &sleeps{}
			reg := prometheus.NewRegistry()
			m := metrics.New(reg)
			e := newEnv(t, envOptions{config: func(c *halopsa.Config) { c.Sleep = sl.sleep; c.Metrics = m }})
			e.faults.Set(sandbox.FaultSettings{RateLimitEvery: 2, RetryAfter: tc.retryAfter})
			if err := e.client.Ping(context.Background()); err != nil { // request 1
				t.Fatal(err)
			}
			if err := e.client.Ping(context.Background()); err != nil { // 2 is a 429, 3 succeeds
				t.Fatalf("429 was not retried: %v", err)
			}
			waits := sl.all()
			if len(waits) != 1 || !tc.wantWait(waits[0]) {
				t.Fatalf("waits %v", waits)
			}
			if n := testutil.ToFloat64(m.PSARateLimited.WithLabelValues(helpdesk.HaloPSA)); n != 1 {
				t.Fatalf("psa_rate_limited_total = %v, want 1", n)
			}
			if n := testutil.ToFloat64(m.PSARequests.WithLabelValues(helpdesk.HaloPSA, "get agent me", "429")); n != 1 {
				t.Fatalf("psa_requests_total{code=429} = %v, want 1", n)
			}
		})
	}
}

func TestRateLimitedExhausted(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.faults.Set(sandbox.FaultSettings{RateLimitEvery: 1, RetryAfter: time.Second})
	err := e.client.Ping(context.Background())
	if !errors.Is(err, helpdesk.ErrRateLimited) || helpdesk.RetryAfter(err) != time.Second {
		t.Fatalf("err = %v (retry after %v), want ErrRateLimited with 1s", err, helpdesk.RetryAfter(err))
	}
	if n := e.emu.Requests("GET", "agent"); n != 4 {
		t.Fatalf("%d attempts, want MaxAttempts=4", n)
	}
}

// flaky fails the first n API requests with status (or truncates them
// when status is 0), then passes requests to next.
func flaky(next http.Handler, n int32, status int) (http.Handler, *atomic.Int32) {
	var seen atomic.Int32
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(strings.ToLower(r.URL.Path), "/api/") || seen.Add(1) > n {
			next.ServeHTTP(w, r)
			return
		}
		if status == 0 {
			sandbox.WriteTruncated(w, 200, http.Header{"Content-Type": {"application/json"}},
				[]byte(`{"page_no":1,"page_size":100,"record_count":2,"tickets":[{"id":1},{"id":2}]}`))
		}
		w.WriteHeader(status)
		w.Write([]byte(`{"ClassName":"System.Exception","Message":"boom"}`))
	}), &seen
}

func TestRetryTransient(t *testing.T) {
	cases := []struct {
		name   string
		status int
	}{{"500", 500}, {"502", 502}, {"503", 503}, {"truncated body", 0}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{tickets: 30})
			h, _ := flaky(e.emu, 2, tc.status)
			srv := httptest.NewServer(h)
			defer srv.Close()
			c := newClient(t, srv.URL, e.emu.Settings(), nil)
			got, _ := collect(t, c.Tickets(context.Background(), helpdesk.Query{}))
			if n := e.emu.Requests("GET", "tickets"); len(got) != 30 || n != 1 {
				t.Fatalf("got %d tickets with %d list requests served, want 30 with 1 after 2 failures", len(got), n)
			}
		})
	}
}

func TestNoRetryOn4xx(t *testing.T) {
	for _, status := range []int{400, 403, 404, 409, 422} {
		e := newEnv(t, envOptions{})
		h, seen := flaky(e.emu, 100, status)
		srv := httptest.NewServer(h)
		c := newClient(t, srv.URL, e.emu.Settings(), nil)
		err := c.Ping(context.Background())
		srv.Close()
		var he *helpdesk.Error
		if !errors.As(err, &he) || he.Status != status || seen.Load() != 1 || helpdesk.Retryable(err) {
			t.Fatalf("status %d: err %v after %d requests, want one try", status, err, seen.Load())
		}
		if he.Message == "" || !strings.Contains(err.Error(), "boom") {
			t.Fatalf("status %d: provider message lost: %v", status, err)
		}
	}
}

func TestTimeoutRetriedThenReported(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *halopsa.Config) {
		c.HTTPClient = &http.Client{Timeout: 50 * time.Millisecond}
		c.MaxAttempts = 2
	}})
	if err := e.client.Ping(context.Background()); err != nil { // token fetched before latency starts
		t.Fatal(err)
	}
	e.faults.Set(sandbox.FaultSettings{Latency: 300 * time.Millisecond})
	start := time.Now()
	err := e.client.Ping(context.Background())
	if !errors.Is(err, helpdesk.ErrTransient) || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("err = %v, want a transient timeout", err)
	}
	if n := e.emu.Requests("GET", "agent"); n != 3 {
		t.Fatalf("%d requests, want 1 + 2 attempts", n)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("client timeout not honoured")
	}
}

func TestWrongClientSecret(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *halopsa.Config) { c.ClientSecret = "wrong-secret-value" }})
	err := e.client.Ping(context.Background())
	var he *helpdesk.Error
	if !errors.As(err, &he) || !errors.Is(err, helpdesk.ErrUnauthorized) || he.Status != 401 {
		t.Fatalf("err = %v, want ErrUnauthorized from the token endpoint", err)
	}
	if !strings.Contains(err.Error(), "invalid_client") || !strings.Contains(err.Error(), "clientSecret") {
		t.Fatalf("err %q must give the OAuth error and name the credential to check", err)
	}
	if n := e.emu.Requests("POST", "token"); n != 1 {
		t.Fatalf("%d token requests, want 1 (no retry)", n)
	}
	if n := e.emu.Requests("GET", "agent"); n != 0 {
		t.Fatalf("%d API requests without a token", n)
	}
	assertNoSecret(t, err, "wrong-secret-value", haloemu.DefaultClientSecret)
}

func TestWrongTenant(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *halopsa.Config) { c.Tenant = "someone-else" }})
	err := e.client.Ping(context.Background())
	if !errors.Is(err, helpdesk.ErrUnauthorized) || !strings.Contains(err.Error(), "tenant") {
		t.Fatalf("err = %v, want a credential error naming the tenant", err)
	}
}

func TestRevokedCredentials(t *testing.T) {
	e := newEnv(t, envOptions{})
	if err := e.client.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.faults.Set(sandbox.FaultSettings{Unauthorized: true})
	err := e.client.Ping(context.Background())
	if !errors.Is(err, helpdesk.ErrUnauthorized) || !strings.Contains(err.Error(), "clientSecret") {
		t.Fatalf("err = %v, want ErrUnauthorized naming the credential", err)
	}
	// One refresh, one retry, then the error: 1 + 2 API calls, 2 tokens.
	if api, tok := e.emu.Requests("GET", "agent"), e.emu.Requests("POST", "token"); api != 3 || tok != 2 {
		t.Fatalf("%d API and %d token requests, want 3 and 2", api, tok)
	}
}

// TestTokenRefresh covers an expired token the client still holds (the
// server's clock moved past its lifetime, or it was revoked): one 401, one
// new token, the call succeeds.
func TestTokenRefresh(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	if err := e.client.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Hour)
	if err := e.client.Ping(ctx); err != nil {
		t.Fatalf("expired token not refreshed: %v", err)
	}
	e.emu.RevokeTokens()
	if err := e.client.Ping(ctx); err != nil {
		t.Fatalf("revoked token not refreshed: %v", err)
	}
	if api, tok := e.emu.Requests("GET", "agent"), e.emu.Requests("POST", "token"); api != 5 || tok != 3 {
		t.Fatalf("%d API and %d token requests, want 5 and 3", api, tok)
	}
}

// TestShortLivedTokens: a token about to expire is replaced before use.
func TestShortLivedTokens(t *testing.T) {
	e := newEnv(t, envOptions{settings: haloemu.Settings{TokenLifetime: 5 * time.Second}})
	for range 3 {
		if err := e.client.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if tok, api := e.emu.Requests("POST", "token"), e.emu.Requests("GET", "agent"); tok != 3 || api != 3 {
		t.Fatalf("%d token and %d API requests, want a fresh token for each of 3 calls", tok, api)
	}
}

func TestTokenCachedAndConcurrent(t *testing.T) {
	e := newEnv(t, envOptions{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := e.client.Ping(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if tok := e.emu.Requests("POST", "token"); tok != 1 {
		t.Fatalf("%d token requests for 8 concurrent calls, want 1", tok)
	}
}

func TestOnPremiseTokenHasNoTenant(t *testing.T) {
	e := newEnv(t, envOptions{settings: haloemu.Settings{OnPremise: true}})
	if err := e.client.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestForbidden(t *testing.T) {
	e := newEnv(t, envOptions{settings: haloemu.Settings{DenyWrites: true}})
	all, _ := e.world.QueryTickets(sandbox.TicketQuery{})
	_, err := e.client.AddNote(context.Background(), idStr(all[0].ID), helpdesk.NewNote{Text: "x"})
	if !errors.Is(err, helpdesk.ErrForbidden) || !strings.Contains(err.Error(), "permission") {
		t.Fatalf("err = %v, want ErrForbidden", err)
	}
}

// TestNoSecretInErrors makes calls fail every way a credential could leak
// into an error and checks none of the secret values appears.
func TestNoSecretInErrors(t *testing.T) {
	const webhookSecret = "hook-secret-zz9"
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	var errs []error
	bad := newClient(t, e.srv.URL, e.emu.Settings(), func(c *halopsa.Config) { c.ClientSecret = "bad-client-secret-q7" })
	errs = append(errs, bad.Ping(ctx))
	_, err := e.client.CreateWebhook(ctx, helpdesk.Webhook{Name: "horizon x", URL: "not a url",
		Events: []helpdesk.Event{helpdesk.EventTicketUpdated}}, webhookSecret)
	errs = append(errs, err)
	e.faults.Set(sandbox.FaultSettings{Unauthorized: true})
	errs = append(errs, e.client.Ping(ctx))
	e.faults.Set(sandbox.FaultSettings{ErrorRate: 1})
	_, err = e.client.GetTicket(ctx, "1")
	errs = append(errs, err)
	for _, err := range errs {
		if err == nil {
			t.Fatal("expected a failure")
		}
		assertNoSecret(t, err, haloemu.DefaultClientSecret, "bad-client-secret-q7", webhookSecret)
	}
	if !strings.Contains(errs[1].Error(), "url") {
		t.Fatalf("webhook validation error lost its message: %v", errs[1])
	}
}

func assertNoSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("error %q leaks a secret", err)
		}
	}
}

// TestClientRateLimiter: the default limiter is about one request a second
// after a small burst.
func TestClientRateLimiter(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *halopsa.Config) { c.RatePerSecond, c.Burst = 20, 2 }})
	start := time.Now()
	for range 6 {
		if err := e.client.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Fatalf("6 calls at 20/s with burst 2 took %v, want ≥ 200ms", el)
	}
}

// TestTokenEndpointTransient: a 503 from the token endpoint is retried
// like any transient failure.
func TestTokenEndpointTransient(t *testing.T) {
	e := newEnv(t, envOptions{})
	var failed atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/token") && !failed.Swap(true) {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		e.emu.ServeHTTP(w, r)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, e.emu.Settings(), nil)
	if err := c.Ping(context.Background()); err != nil {
		t.Fatalf("transient token failure not retried: %v", err)
	}
	if n := e.emu.Requests("POST", "token"); n != 1 {
		t.Fatalf("%d token requests reached the server after the 503, want 1", n)
	}
}
