package halopsa_test

import (
	"context"
	"errors"
	"io"
	"iter"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/halopsa"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	haloemu "github.com/horizon/reconciler/internal/helpdesk/sandbox/halopsa"
)

var anchor = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable World clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is a client talking to an emulator over a generated World.
type env struct {
	world  *sandbox.World
	clock  *clock
	faults *sandbox.Faults
	emu    *haloemu.Server
	srv    *httptest.Server
	client *halopsa.Client
}

type envOptions struct {
	tickets  int
	settings haloemu.Settings
	config   func(*halopsa.Config)
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	if o.tickets == 0 {
		o.tickets = 120
	}
	clk := &clock{now: anchor}
	w := sandbox.Generate(sandbox.GenOptions{Tickets: o.tickets, Seed: 7, Now: anchor, Clock: clk.Now})
	faults := sandbox.NewFaults(1)
	emu, err := haloemu.New(sandbox.Options{World: w, Faults: faults, DeliveryScale: 0.001}, o.settings)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	t.Cleanup(emu.Close)
	e := &env{world: w, clock: clk, faults: faults, emu: emu, srv: srv}
	e.client = newClient(t, srv.URL, emu.Settings(), o.config)
	return e
}

func noSleep(context.Context, time.Duration) error { return nil }

// newClient returns a client for the emulator at baseURL with fast
// retries and no rate limit.
func newClient(t *testing.T, baseURL string, s haloemu.Settings, mut func(*halopsa.Config)) *halopsa.Client {
	t.Helper()
	cfg := halopsa.Config{BaseURL: baseURL, Tenant: s.Tenant, ClientID: s.ClientID,
		ClientSecret: helpdesk.Secret(s.ClientSecret), RatePerSecond: -1, MaxAttempts: 4,
		BaseBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, Sleep: noSleep}
	if s.OnPremise {
		cfg.Tenant = ""
	}
	if mut != nil {
		mut(&cfg)
	}
	c, err := halopsa.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// collect drains a stream, failing the test on error, and returns the
// records and the number of pages.
func collect[T any](t *testing.T, seq iter.Seq2[[]T, error]) ([]T, int) {
	t.Helper()
	var all []T
	pages := 0
	for page, err := range seq {
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		pages++
		all = append(all, page...)
	}
	return all, pages
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// receiver is Horizon's callback endpoint in miniature: it verifies and
// parses each delivery with the client and records the events.
type receiver struct {
	mu       sync.Mutex
	events   []helpdesk.CallbackEvent
	rejected []error
	bodies   [][]byte
}

func newReceiver(t *testing.T, c *halopsa.Client, secret helpdesk.Secret) (*receiver, *httptest.Server) {
	t.Helper()
	rc := &receiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		err := c.VerifyCallback(r.Context(), r, body, secret)
		var evs []helpdesk.CallbackEvent
		if err == nil {
			evs, err = c.ParseCallback(r.Header, body)
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.bodies = append(rc.bodies, body)
		var ce *helpdesk.CallbackError
		if errors.As(err, &ce) {
			rc.rejected = append(rc.rejected, err)
			w.WriteHeader(ce.Status)
			return
		}
		rc.events = append(rc.events, evs...)
	}))
	t.Cleanup(srv.Close)
	return rc, srv
}

func (rc *receiver) snapshot() ([]helpdesk.CallbackEvent, int, int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]helpdesk.CallbackEvent(nil), rc.events...), len(rc.rejected), len(rc.bodies)
}
