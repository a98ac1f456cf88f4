package autotask_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/autotask"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	atsandbox "github.com/horizon/reconciler/internal/helpdesk/sandbox/autotask"
)

func (e *env) requests(op, code string) float64 {
	return testutil.ToFloat64(e.cfg.Metrics.PSARequests.WithLabelValues(helpdesk.Autotask, op, code))
}

// warm makes the client discover its zone before faults are switched on.
func (e *env) warm(t *testing.T) {
	t.Helper()
	if _, err := e.client.GetTicket(ctx(t), "1"); !errors.Is(err, helpdesk.ErrNotFound) {
		t.Fatalf("warm-up: %v", err)
	}
}

func (e *env) lastSleep(t *testing.T) time.Duration {
	t.Helper()
	select {
	case d := <-e.sleeps:
		return d
	default:
		t.Fatal("no retry sleep recorded")
		return 0
	}
}

func TestRetryOn429(t *testing.T) {
	cases := []struct {
		name       string
		retryAfter time.Duration
		wantSleep  func(time.Duration) bool
	}{
		{"with Retry-After", 3 * time.Second, func(d time.Duration) bool { return d == 3*time.Second }},
		{"without Retry-After", 0, func(d time.Duration) bool { return d > 0 && d <= 2*time.Millisecond }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{tickets: 10})
			e.warm(t)
			e.faults.Set(sandbox.FaultSettings{RateLimitEvery: 1, RetryAfter: tc.retryAfter})
			go func() {
				time.Sleep(50 * time.Millisecond)
				e.faults.Set(sandbox.FaultSettings{})
			}()
			_, err := e.client.GetTicket(ctx(t), "1")
			if !errors.Is(err, helpdesk.ErrNotFound) && !errors.Is(err, helpdesk.ErrRateLimited) {
				t.Fatalf("err = %v", err)
			}
			if d := e.lastSleep(t); !tc.wantSleep(d) {
				t.Fatalf("slept %v", d)
			}
			if got := testutil.ToFloat64(e.cfg.Metrics.PSARateLimited.WithLabelValues(helpdesk.Autotask)); got < 1 {
				t.Fatalf("rate limited metric = %v", got)
			}
		})
	}
}

func TestRateLimitedEventuallyReturned(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 10})
	e.warm(t)
	e.faults.Set(sandbox.FaultSettings{RateLimitEvery: 1, RetryAfter: 2 * time.Second})
	_, err := e.client.GetTicket(ctx(t), "1")
	if !errors.Is(err, helpdesk.ErrRateLimited) || helpdesk.RetryAfter(err) != 2*time.Second {
		t.Fatalf("err = %v (retry after %v)", err, helpdesk.RetryAfter(err))
	}
	if n := e.requests("tickets.get", "429"); n != 4 {
		t.Fatalf("attempts = %v, want MaxAttempts 4", n)
	}
}

func TestRetryOnServerError(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 10})
	e.warm(t)
	e.faults.Set(sandbox.FaultSettings{ErrorRate: 1})
	_, err := e.client.GetTicket(ctx(t), "1")
	if !errors.Is(err, helpdesk.ErrTransient) {
		t.Fatalf("err = %v, want ErrTransient after retries", err)
	}
	if n := e.requests("tickets.get", "500"); n != 4 {
		t.Fatalf("attempts = %v, want 4", n)
	}
	e.faults.Set(sandbox.FaultSettings{ErrorRate: 0.5})
	for range 5 {
		if _, err := e.client.GetTicket(ctx(t), "1"); !errors.Is(err, helpdesk.ErrNotFound) && !errors.Is(err, helpdesk.ErrTransient) {
			t.Fatalf("err = %v", err)
		}
	}
}

func TestRetryOnTruncatedBody(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 50})
	e.warm(t)
	e.faults.Set(sandbox.FaultSettings{TruncateRate: 1})
	_, err := e.client.Picklists(ctx(t))
	if !errors.Is(err, helpdesk.ErrTransient) {
		t.Fatalf("err = %v, want ErrTransient", err)
	}
	e.faults.Set(sandbox.FaultSettings{TruncateRate: 0.3})
	got, _ := drain(t, e.client.Tickets(ctx(t), helpdesk.Query{PageSize: 10}))
	if len(got) != len(e.liveTickets()) {
		t.Fatalf("tickets = %d, want %d despite truncated pages", len(got), len(e.liveTickets()))
	}
}

func TestLatencyAndClientTimeout(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 10})
	e.warm(t)
	e.faults.Set(sandbox.FaultSettings{Latency: 300 * time.Millisecond})
	cfg := e.cfg
	cfg.HTTPClient = &http.Client{Timeout: 50 * time.Millisecond}
	cfg.MaxAttempts = 2
	c := e.newClient(t, cfg)
	_, err := c.GetTicket(ctx(t), "1")
	if !errors.Is(err, helpdesk.ErrTransient) || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("err = %v, want a transient timeout", err)
	}
	if strings.Contains(err.Error(), "user=") || strings.Contains(err.Error(), e.srv.URL) {
		t.Fatalf("error carries the URL: %v", err)
	}
}

func TestAuthFailureNotRetried(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 10})
	cfg := e.cfg
	cfg.Secret = "wrong-secret-value"
	c := e.newClient(t, cfg)
	_, err := c.GetTicket(ctx(t), "1")
	if !errors.Is(err, helpdesk.ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "secret and integrationCode") {
		t.Fatalf("error should say which credentials to check: %v", msg)
	}
	for _, s := range []string{"wrong-secret-value", e.cfg.IntegrationCode.Reveal(), e.cfg.Secret.Reveal()} {
		if strings.Contains(msg, s) {
			t.Fatalf("error leaks a credential: %v", msg)
		}
	}
	// One try, one rediscovery (the zone did not move), no retry.
	if n := e.requests("tickets.get", "401"); n != 1 {
		t.Fatalf("401 attempts = %v, want 1", n)
	}
	if n := e.requests("zoneInformation", "200"); n != 2 {
		t.Fatalf("zone lookups = %v, want 2 (discovery + rediscovery)", n)
	}
}

func TestRevokedCredentialsFault(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 10})
	e.warm(t)
	e.faults.Set(sandbox.FaultSettings{Unauthorized: true})
	_, err := e.client.Picklists(ctx(t))
	if !errors.Is(err, helpdesk.ErrUnauthorized) || helpdesk.Retryable(err) {
		t.Fatalf("err = %v", err)
	}
}

// No credential value may appear in any error, even when the PSA echoes
// one back in its message.
func TestNoCredentialInErrors(t *testing.T) {
	const user, secret, code = "api-user@msp.example", "TOPSECRETvalue", "INTEGRATIONCODE123"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "zoneInformation") {
			w.Write([]byte(`{"url":"http://` + r.Host + `/ATServicesRest/"}`))
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(`{"errors":["Secret ` + r.Header.Get("Secret") + ` for ` + r.Header.Get("UserName") +
			` with code ` + r.Header.Get("ApiIntegrationCode") + ` is not allowed to do this"]}`))
	}))
	defer srv.Close()
	c, err := autotask.New(autotask.Config{Username: user, Secret: secret, IntegrationCode: code, BaseURL: srv.URL,
		RatePerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetTicket(ctx(t), "1")
	if !errors.Is(err, helpdesk.ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	for _, s := range []string{user, secret, code} {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("error leaks %q: %v", s, err)
		}
	}
	if !strings.Contains(err.Error(), "is not allowed to do this") {
		t.Fatalf("the provider's message must survive: %v", err)
	}
}

func TestZoneMoved(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 10})
	e.warm(t)
	e.emu.MoveZone()
	got, _ := drain(t, e.client.Members(ctx(t), helpdesk.Query{}))
	if len(got) != len(e.world.Members()) {
		t.Fatalf("members after zone move = %d", len(got))
	}
	if n := e.requests("zoneInformation", "200"); n != 2 {
		t.Fatalf("zone lookups = %v, want 2", n)
	}
}

func TestZoneDoubleSlashCleaned(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 10, settings: atsandbox.Settings{ZoneURLDoubleSlash: true}})
	if _, err := e.client.Picklists(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

func TestZoneUnknownUser(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 10})
	cfg := e.cfg
	cfg.Username = "nobody@msp.example"
	c := e.newClient(t, cfg)
	err := c.Ping(ctx(t))
	if err == nil || !strings.Contains(err.Error(), "check the username setting") {
		t.Fatalf("err = %v, want one naming the username setting", err)
	}
	if strings.Contains(err.Error(), e.cfg.Secret.Reveal()) || strings.Contains(err.Error(), "nobody@msp.example") {
		t.Fatalf("error leaks a credential: %v", err)
	}
	if n := e.requests("zoneInformation", "500"); n != 1 {
		t.Fatalf("zone attempts = %v, want 1 (not retried)", n)
	}
}

func TestPinnedZoneSkipsDiscovery(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 10})
	cfg := e.cfg
	cfg.ZoneURL, cfg.BaseURL = e.srv.URL+"/ATServicesRest/", ""
	c := e.newClient(t, cfg)
	if err := c.Ping(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if n := e.requests("zoneInformation", "200"); n != 0 {
		t.Fatalf("zone lookups = %v, want 0", n)
	}
	e.emu.MoveZone()
	if err := c.Ping(ctx(t)); !errors.Is(err, helpdesk.ErrUnauthorized) {
		t.Fatalf("pinned zone after move: %v, want ErrUnauthorized", err)
	}
}

func TestThresholdPacing(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 10, config: func(c *autotask.Config) { c.RatePerSecond = 1000; c.Burst = 1000 }})
	th, err := e.client.Threshold(ctx(t))
	if err != nil || th.Limit != 10000 || th.WindowMinutes != 60 || e.client.RateLimit() != 1000 {
		t.Fatalf("threshold = %+v, %v, rate %v", th, err, e.client.RateLimit())
	}
	e.emu.SetUsage(9000)
	th, err = e.client.Threshold(ctx(t))
	if err != nil || th.Ratio() < 0.9 {
		t.Fatalf("threshold = %+v, %v", th, err)
	}
	if r := e.client.RateLimit(); r > 1 || r <= 0 {
		t.Fatalf("rate near the threshold = %v, want under 1/s", r)
	}
	e.emu.SetUsage(0)
	if _, err := e.client.Threshold(ctx(t)); err != nil || e.client.RateLimit() != 1000 {
		t.Fatalf("rate after usage fell = %v, %v", e.client.RateLimit(), err)
	}
}

func TestThresholdCheckedPeriodically(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 10, config: func(c *autotask.Config) {
		c.RatePerSecond, c.Burst, c.ThresholdCheckEvery = 1000, 1000, 5
	}})
	e.emu.SetUsage(9500)
	for range 6 {
		e.client.GetTicket(ctx(t), "1")
	}
	if n := e.requests("threshold", "200"); n < 1 {
		t.Fatalf("threshold reads = %v", n)
	}
	if r := e.client.RateLimit(); r >= 1 {
		t.Fatalf("rate = %v, want slowed", r)
	}
}

func TestThresholdExceeded(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusInternalServerError} {
		e := newEnv(t, envOpts{tickets: 10, settings: atsandbox.Settings{ThresholdStatus: status}})
		e.warm(t)
		e.emu.SetUsage(10000)
		_, err := e.client.GetTicket(ctx(t), "1")
		if !errors.Is(err, helpdesk.ErrRateLimited) {
			t.Fatalf("status %d: err = %v, want ErrRateLimited", status, err)
		}
	}
}

func TestConcurrencyCap(t *testing.T) {
	// The emulator refuses a fourth concurrent request; latency past half
	// the threshold keeps requests in flight.
	e := newEnv(t, envOpts{tickets: 10, settings: atsandbox.Settings{ThresholdLatency: 20 * time.Millisecond}})
	e.warm(t)
	e.emu.SetUsage(6000)
	var failed atomic.Int32
	done := make(chan struct{})
	for range 12 {
		go func() {
			defer func() { done <- struct{}{} }()
			if _, err := e.client.GetTicket(ctx(t), "1"); !errors.Is(err, helpdesk.ErrNotFound) {
				failed.Add(1)
			}
		}()
	}
	for range 12 {
		<-done
	}
	if failed.Load() != 0 || e.requests("tickets.get", "429") != 0 {
		t.Fatalf("%d calls failed; the client must stay within 3 concurrent requests", failed.Load())
	}
}
