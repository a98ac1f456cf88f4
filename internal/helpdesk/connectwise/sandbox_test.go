package connectwise_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/connectwise"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	cwemu "github.com/horizon/reconciler/internal/helpdesk/sandbox/connectwise"
	"github.com/horizon/reconciler/internal/metrics"
)

var anchor = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is the World's clock; tests move it.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one emulator behind an httptest server and a client for it.
type env struct {
	t        *testing.T
	clock    *fakeClock
	world    *sandbox.World
	emu      *cwemu.Emulator
	srv      *httptest.Server
	client   *connectwise.Client
	requests atomic.Int64
	paths    sync.Map // path → count
	metrics  *metrics.Metrics
	logs     *bytes.Buffer
}

type envOpts struct {
	tickets  int
	settings cwemu.Settings
	cfg      func(*connectwise.Config)
	wrap     func(http.Handler) http.Handler
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	if o.tickets == 0 {
		o.tickets = 120
	}
	e := &env{t: t, clock: &fakeClock{t: anchor}, logs: &bytes.Buffer{}}
	e.world = sandbox.Generate(sandbox.GenOptions{Tickets: o.tickets, Seed: 7, Now: anchor, Clock: e.clock.Now})
	e.emu = cwemu.New(sandbox.Options{World: e.world, Faults: sandbox.NewFaults(3), DeliveryScale: 0.001}, o.settings)
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.requests.Add(1)
		n, _ := e.paths.LoadOrStore(r.URL.Path, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		e.emu.ServeHTTP(w, r)
	})
	if o.wrap != nil {
		h = o.wrap(h)
	}
	e.srv = httptest.NewServer(h)
	e.emu.SetBaseURL(e.srv.URL)
	t.Cleanup(func() { e.srv.Close(); e.emu.Close() })
	e.metrics = metrics.NewPSA(nil)
	s := e.emu.Settings()
	cfg := connectwise.Config{BaseURL: e.srv.URL, CompanyID: s.CompanyID, PublicKey: helpdesk.Secret(s.PublicKey),
		PrivateKey: helpdesk.Secret(s.PrivateKey), ClientID: s.ClientID, RatePerSecond: -1, MaxAttempts: 3,
		BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Metrics: e.metrics,
		Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	c, err := connectwise.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.client = c
	return e
}

// collect drains a stream, returning page sizes and records.
func collectAll[T any](t *testing.T, seq func(func([]T, error) bool)) ([]T, []int) {
	t.Helper()
	var all []T
	var sizes []int
	for page, err := range seq {
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		all = append(all, page...)
		sizes = append(sizes, len(page))
	}
	return all, sizes
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

// receiver is Horizon's side of callbacks: verify, parse, record.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	events   []helpdesk.CallbackEvent
	rejected []error
}

func newReceiver(t *testing.T, c *connectwise.Client, secret helpdesk.Secret) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		err := c.VerifyCallback(r.Context(), r, body, secret)
		var evs []helpdesk.CallbackEvent
		if err == nil {
			evs, err = c.ParseCallback(r.Header, body)
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if err != nil {
			rc.rejected = append(rc.rejected, err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		rc.events = append(rc.events, evs...)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) find(pred func(helpdesk.CallbackEvent) bool) (helpdesk.CallbackEvent, bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, ev := range rc.events {
		if pred(ev) {
			return ev, true
		}
	}
	return helpdesk.CallbackEvent{}, false
}

func (rc *receiver) all() ([]helpdesk.CallbackEvent, []error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]helpdesk.CallbackEvent(nil), rc.events...), append([]error(nil), rc.rejected...)
}

var bg = context.Background()
