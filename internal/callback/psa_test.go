package callback_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/autotask"
	"github.com/horizon/reconciler/internal/helpdesk/connectwise"
	"github.com/horizon/reconciler/internal/helpdesk/halopsa"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	atemu "github.com/horizon/reconciler/internal/helpdesk/sandbox/autotask"
	cwemu "github.com/horizon/reconciler/internal/helpdesk/sandbox/connectwise"
	haloemu "github.com/horizon/reconciler/internal/helpdesk/sandbox/halopsa"
	zdemu "github.com/horizon/reconciler/internal/helpdesk/sandbox/zohodesk"
	"github.com/horizon/reconciler/internal/helpdesk/zohodesk"
	"github.com/horizon/reconciler/internal/store"
	_ "github.com/horizon/reconciler/internal/store/sqlite"
)

var (
	quiet  = slog.New(slog.DiscardHandler)
	anchor = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

const hookSecret = helpdesk.Secret("horizon-callback-secret-42")

// clock is the shared fake clock of the World and Horizon's side.
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

// psa is one emulated PSA (World + emulator behind httptest) and the real
// client for it.
type psa struct {
	name   string
	world  *sandbox.World
	client helpdesk.Provider
}

// newPSA starts the named provider's emulator over a generated World on
// clk and returns it with a client.
func newPSA(t *testing.T, name string, clk *clock) *psa {
	t.Helper()
	w := sandbox.Generate(sandbox.GenOptions{Tickets: 20, Seed: 11, Now: anchor, Clock: clk.Now})
	opts := sandbox.Options{World: w, Faults: sandbox.NewFaults(1), DeliveryScale: 0.001, Logger: quiet}
	p := &psa{name: name, world: w}
	var h http.Handler
	var closeEmu func()
	var client func(baseURL string) (helpdesk.Provider, error)
	switch name {
	case helpdesk.ConnectWise:
		emu := cwemu.New(opts, cwemu.Settings{})
		h, closeEmu = emu, emu.Close
		client = func(u string) (helpdesk.Provider, error) {
			emu.SetBaseURL(u)
			s := emu.Settings()
			return connectwise.New(connectwise.Config{BaseURL: u, CompanyID: s.CompanyID, ClientID: s.ClientID,
				PublicKey: helpdesk.Secret(s.PublicKey), PrivateKey: helpdesk.Secret(s.PrivateKey),
				RatePerSecond: -1, MaxAttempts: 2, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond, Logger: quiet})
		}
	case helpdesk.Autotask:
		emu, err := atemu.New(opts, atemu.Settings{})
		if err != nil {
			t.Fatal(err)
		}
		h, closeEmu = emu, emu.Close
		client = func(u string) (helpdesk.Provider, error) {
			env := emu.Env()
			return autotask.New(autotask.Config{Username: env[atemu.EnvUsername], Secret: helpdesk.Secret(env[atemu.EnvSecret]),
				IntegrationCode: helpdesk.Secret(env[atemu.EnvIntegrationCode]), BaseURL: u,
				RatePerSecond: -1, MaxAttempts: 2, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
		}
	case helpdesk.ZohoDesk:
		emu, err := zdemu.New(opts, zdemu.Options{})
		if err != nil {
			t.Fatal(err)
		}
		h, closeEmu = emu, emu.Close
		client = func(u string) (helpdesk.Provider, error) {
			o := emu.Options()
			return zohodesk.New(zohodesk.Config{OrgID: o.OrgID, ClientID: o.ClientID, ClientSecret: helpdesk.Secret(o.ClientSecret),
				RefreshToken: helpdesk.Secret(o.RefreshToken), BaseURL: u, Now: clk.Now,
				Tuning: zohodesk.Tuning{RatePerSecond: -1, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond}})
		}
	case helpdesk.HaloPSA:
		emu, err := haloemu.New(opts, haloemu.Settings{})
		if err != nil {
			t.Fatal(err)
		}
		h, closeEmu = emu, emu.Close
		client = func(u string) (helpdesk.Provider, error) {
			s := emu.Settings()
			return halopsa.New(halopsa.Config{BaseURL: u, Tenant: s.Tenant, ClientID: s.ClientID,
				ClientSecret: helpdesk.Secret(s.ClientSecret), RatePerSecond: -1, MaxAttempts: 2,
				BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
		}
	default:
		t.Fatalf("no emulator for %s", name)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); closeEmu() })
	c, err := client(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	p.client = c
	return p
}

// register creates Horizon's webhook registrations for every event the
// provider supports, pointing at url.
func (p *psa) register(t *testing.T, url string) {
	t.Helper()
	spec := helpdesk.WebhookSpec{URL: url, Secret: hookSecret, Account: "acme", Events: p.client.Capabilities().Events}
	for _, w := range p.client.DesiredWebhooks(spec) {
		if _, err := p.client.CreateWebhook(context.Background(), w, hookSecret); err != nil {
			t.Fatalf("register %s webhook %s: %v", p.name, w.Key, err)
		}
	}
}

// captured is a delivery as the PSA sent it.
type captured struct {
	method, uri string
	header      http.Header
	body        []byte
	status      int // what Horizon answered (0 while held)
}

// request rebuilds the delivery, with body replaced when not nil.
func (c captured) request(body []byte) *http.Request {
	if body == nil {
		body = c.body
	}
	r := httptest.NewRequest(c.method, c.uri, bytes.NewReader(body))
	r.Header = c.header.Clone()
	r.ContentLength = int64(len(body))
	return r
}

// tap sits between the PSA and the receiver: it records every delivery
// and forwards it, or, while holding, answers 200 without forwarding.
type tap struct {
	next http.Handler
	mu   sync.Mutex
	seen []captured
	hold bool
}

func (tp *tap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c := captured{method: r.Method, uri: r.URL.RequestURI(), header: r.Header.Clone(), body: body}
	tp.mu.Lock()
	hold := tp.hold
	tp.mu.Unlock()
	if hold || r.Method != http.MethodPost {
		if r.Method == http.MethodPost {
			tp.record(c)
		}
		if hold {
			w.WriteHeader(http.StatusOK)
			return
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	tp.next.ServeHTTP(rec, r)
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
	if r.Method == http.MethodPost {
		c.status = rec.Code
		tp.record(c)
	}
}

func (tp *tap) record(c captured) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.seen = append(tp.seen, c)
}

func (tp *tap) setHold(b bool) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.hold = b
}

func (tp *tap) deliveries() []captured {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return slices.Clone(tp.seen)
}

// openStore opens (or reopens) the SQLite store at path.
func openStore(t *testing.T, path string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func tempDB(t *testing.T) string { return filepath.Join(t.TempDir(), "horizon.db") }

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// run starts f(ctx) in a goroutine and returns a stop function that
// cancels it and waits.
func run(f func(context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f(ctx) }()
	return func() { cancel(); <-done }
}
