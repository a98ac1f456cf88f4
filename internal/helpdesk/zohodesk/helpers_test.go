package zohodesk_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	zdsandbox "github.com/horizon/reconciler/internal/helpdesk/sandbox/zohodesk"
	"github.com/horizon/reconciler/internal/helpdesk/zohodesk"
)

var anchor = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable clock shared by the World and the client.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is an emulator over a generated World behind an httptest server.
type env struct {
	clock  *clock
	world  *sandbox.World
	faults *sandbox.Faults
	emu    *zdsandbox.Emulator
	srv    *httptest.Server
}

type envOpts struct {
	tickets int
	zo      zdsandbox.Options
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	if o.tickets == 0 {
		o.tickets = 120
	}
	clk := &clock{t: anchor}
	w := sandbox.Generate(sandbox.GenOptions{Tickets: o.tickets, Seed: 7, Now: anchor, Clock: clk.Now})
	f := sandbox.NewFaults(3)
	emu, err := zdsandbox.New(sandbox.Options{World: w, Faults: f, DeliveryScale: 0.0001}, o.zo)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { srv.Close(); emu.Close() })
	return &env{clock: clk, world: w, faults: f, emu: emu, srv: srv}
}

// config returns a client config with the emulator's credentials.
func (e *env) config() zohodesk.Config {
	o := e.emu.Options()
	return zohodesk.Config{
		OrgID: o.OrgID, ClientID: o.ClientID, ClientSecret: helpdesk.Secret(o.ClientSecret),
		RefreshToken: helpdesk.Secret(o.RefreshToken), BaseURL: e.srv.URL, Now: e.clock.Now,
		HTTPClient: &http.Client{Timeout: 10 * time.Second},
		Tuning:     zohodesk.Tuning{RatePerSecond: -1, MaxConcurrent: 8, BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond},
	}
}

func (e *env) client(t *testing.T) *zohodesk.Client {
	t.Helper()
	return newClient(t, e.config())
}

func newClient(t *testing.T, cfg zohodesk.Config) *zohodesk.Client {
	t.Helper()
	c, err := zohodesk.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetSleep(func(context.Context, time.Duration) error { return nil })
	return c
}

// receiver is a callback endpoint: it answers the validation GET with
// 200 and records every POST body.
type receiver struct {
	mu     sync.Mutex
	posts  []*http.Request
	bodies [][]byte
	srv    *httptest.Server
	status int
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{status: http.StatusOK}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.WriteHeader(http.StatusOK)
			return
		}
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if string(b) != "[]" {
			rc.posts = append(rc.posts, r.Clone(context.Background()))
			rc.bodies = append(rc.bodies, b)
		}
		w.WriteHeader(rc.status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) snapshot() ([]*http.Request, [][]byte) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]*http.Request(nil), rc.posts...), append([][]byte(nil), rc.bodies...)
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

func collectAll[T any](t *testing.T, seq func(func([]T, error) bool)) ([]T, int) {
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

func liveTickets(w *sandbox.World) []sandbox.Ticket {
	ts, _ := w.QueryTickets(sandbox.TicketQuery{})
	return ts
}
