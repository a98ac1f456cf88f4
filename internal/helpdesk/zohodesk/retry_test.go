package zohodesk_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	zdsandbox "github.com/horizon/reconciler/internal/helpdesk/sandbox/zohodesk"
	"github.com/horizon/reconciler/internal/helpdesk/zohodesk"
)

// sleeps records the transport's backoff waits without sleeping.
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

func TestRetryInjectedFaults(t *testing.T) {
	cases := []struct {
		name   string
		faults sandbox.FaultSettings
		check  func(t *testing.T, waits []time.Duration)
	}{
		{"429 with Retry-After", sandbox.FaultSettings{RateLimitEvery: 2, RetryAfter: 3 * time.Second}, func(t *testing.T, w []time.Duration) {
			if len(w) == 0 || w[0] != 3*time.Second {
				t.Fatalf("waits %v, want Retry-After 3s honoured", w)
			}
		}},
		{"429 without Retry-After", sandbox.FaultSettings{RateLimitEvery: 2}, func(t *testing.T, w []time.Duration) {
			if len(w) == 0 || w[0] >= time.Second {
				t.Fatalf("waits %v, want a short backoff", w)
			}
		}},
		{"5xx", sandbox.FaultSettings{ErrorRate: 0.5}, nil},
		{"truncated bodies", sandbox.FaultSettings{TruncateRate: 0.5}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			cfg := e.config()
			cfg.Tuning.MaxAttempts = 12
			c := newClient(t, cfg)
			var s sleeps
			c.SetSleep(s.sleep)
			e.faults.Set(tc.faults)
			got, _ := collectAll(t, c.Tickets(context.Background(), helpdesk.Query{PageSize: 25}))
			e.faults.Set(sandbox.FaultSettings{})
			assertSameTickets(t, got, liveTickets(e.world), time.Time{})
			if len(s.all()) == 0 {
				t.Fatal("no retry happened")
			}
			if tc.check != nil {
				tc.check(t, s.all())
			}
		})
	}
}

func TestPersistentFailuresSurfaceTyped(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	var errs []error

	e.faults.Set(sandbox.FaultSettings{ErrorRate: 1})
	_, err := e.client(t).GetTicket(ctx, zdsandbox.WireID(liveTickets(e.world)[0].ID))
	if !errors.Is(err, helpdesk.ErrTransient) || !strings.Contains(err.Error(), "INTERNAL_SERVER_ERROR") {
		t.Fatalf("5xx: %v", err)
	}
	errs = append(errs, err)

	e.faults.Set(sandbox.FaultSettings{RateLimitEvery: 1, RetryAfter: time.Hour})
	_, err = e.client(t).GetTicket(ctx, zdsandbox.WireID(liveTickets(e.world)[0].ID))
	if !errors.Is(err, helpdesk.ErrRateLimited) || helpdesk.RetryAfter(err) != time.Hour || !strings.Contains(err.Error(), "TOO_MANY_REQUESTS") {
		t.Fatalf("429 with an hour's Retry-After must be returned: %v", err)
	}
	errs = append(errs, err)

	e.faults.Set(sandbox.FaultSettings{Latency: 300 * time.Millisecond})
	cfg := e.config()
	cfg.HTTPClient = &http.Client{Timeout: 50 * time.Millisecond}
	cfg.Tuning.MaxAttempts = 2
	start := time.Now()
	err = newClient(t, cfg).Ping(ctx)
	if !errors.Is(err, helpdesk.ErrTransient) || time.Since(start) > 2*time.Second {
		t.Fatalf("timeout: %v after %v", err, time.Since(start))
	}
	errs = append(errs, err)

	e.faults.Set(sandbox.FaultSettings{Unauthorized: true})
	_, err = e.client(t).GetTicket(ctx, zdsandbox.WireID(liveTickets(e.world)[0].ID))
	if !errors.Is(err, helpdesk.ErrUnauthorized) || !strings.Contains(err.Error(), "refreshToken") {
		t.Fatalf("401: %v", err)
	}
	errs = append(errs, err)
	e.faults.Set(sandbox.FaultSettings{})

	o := e.emu.Options()
	for _, err := range errs {
		assertNoSecrets(t, err, o.ClientSecret, o.RefreshToken, callbackSecret.Reveal())
	}
}

func TestAuthFailuresNameTheSetting(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	o := e.emu.Options()
	cases := []struct {
		name    string
		edit    func(*zohodesk.Config)
		kind    error
		mention string
	}{
		{"wrong refresh token (200 invalid_code)", func(c *zohodesk.Config) { c.RefreshToken = "1000.wrong" }, helpdesk.ErrUnauthorized, "refreshToken"},
		{"wrong client secret (200 invalid_client_secret)", func(c *zohodesk.Config) { c.ClientSecret = "wrong-secret" }, helpdesk.ErrUnauthorized, "clientSecret"},
		{"wrong org (403 OAUTH_ORG_MISMATCH)", func(c *zohodesk.Config) { c.OrgID = "55555" }, helpdesk.ErrForbidden, "orgId"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := e.config()
			tc.edit(&cfg)
			before := e.emu.APICalls()
			_, err := newClient(t, cfg).GetTicket(ctx, zdsandbox.WireID(liveTickets(e.world)[0].ID))
			if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.mention) {
				t.Fatalf("err = %v, want %v naming %s", err, tc.kind, tc.mention)
			}
			if calls := e.emu.APICalls() - before; calls > 0 && tc.kind != helpdesk.ErrForbidden {
				t.Fatalf("%d API calls after a refused grant", calls)
			}
			assertNoSecrets(t, err, o.ClientSecret, o.RefreshToken, cfg.ClientSecret.Reveal(), cfg.RefreshToken.Reveal())
		})
	}
}

func TestTokenExpiryAndRefresh(t *testing.T) {
	e := newEnv(t, envOpts{zo: zdsandbox.Options{TokenLifetime: time.Second}})
	cfg := e.config()
	cfg.Tuning.TokenEarlyExpiry = time.Millisecond
	c := newClient(t, cfg)
	ctx := context.Background()
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a second token after the first expired", func() bool {
		if err := c.Ping(ctx); err != nil {
			t.Fatalf("Ping across expiry: %v", err)
		}
		return e.emu.TokensIssued() >= 2
	})
}

func TestForcedRefreshAndTokenBlock(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.client(t)
	ctx := context.Background()
	for i := range 10 {
		if err := c.Ping(ctx); err != nil {
			t.Fatalf("ping %d: %v", i, err)
		}
		if got := e.emu.TokensIssued(); got != i+1 {
			t.Fatalf("tokens issued = %d after %d pings with revocations, want %d", got, i+1, i+1)
		}
		e.emu.RevokeAccessTokens() // the next call gets 401 INVALID_OAUTH and refreshes once
	}
	err := c.Ping(ctx)
	if !errors.Is(err, helpdesk.ErrRateLimited) || !strings.Contains(err.Error(), "10 access tokens") {
		t.Fatalf("11th token in 10 minutes: %v, want the Access Denied block", err)
	}
	assertNoSecrets(t, err, e.emu.Options().RefreshToken, e.emu.Options().ClientSecret)
}
