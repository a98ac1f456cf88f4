package autotask_test

import (
	"context"
	"iter"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/autotask"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	atsandbox "github.com/horizon/reconciler/internal/helpdesk/sandbox/autotask"
	"github.com/horizon/reconciler/internal/metrics"
)

// env is a client wired to an emulator over a generated World.
type env struct {
	world  *sandbox.World
	faults *sandbox.Faults
	emu    *atsandbox.Emulator
	srv    *httptest.Server
	client *autotask.Client
	cfg    autotask.Config
	reg    *prometheus.Registry
	sleeps chan time.Duration
}

type envOpts struct {
	tickets  int
	settings atsandbox.Settings
	config   func(*autotask.Config)
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	if o.tickets == 0 {
		o.tickets = 120
	}
	w := sandbox.Generate(sandbox.GenOptions{Tickets: o.tickets, Seed: 7})
	f := sandbox.NewFaults(3)
	emu, err := atsandbox.New(sandbox.Options{World: w, Faults: f, DeliveryScale: 0.0001}, o.settings)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	t.Cleanup(emu.Close)
	e := &env{world: w, faults: f, emu: emu, srv: srv, reg: prometheus.NewRegistry(),
		sleeps: make(chan time.Duration, 1000)}
	vars := emu.Env()
	e.cfg = autotask.Config{Username: vars[atsandbox.EnvUsername], Secret: helpdesk.Secret(vars[atsandbox.EnvSecret]),
		IntegrationCode: helpdesk.Secret(vars[atsandbox.EnvIntegrationCode]), BaseURL: srv.URL,
		RatePerSecond: -1, MaxAttempts: 4, BaseBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond,
		Metrics: metrics.New(e.reg)}
	if o.config != nil {
		o.config(&e.cfg)
	}
	e.client = e.newClient(t, e.cfg)
	return e
}

// newClient builds a client whose retry sleeps return at once and are
// recorded.
func (e *env) newClient(t *testing.T, cfg autotask.Config) *autotask.Client {
	t.Helper()
	c, err := autotask.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Transport().SetSleep(func(ctx context.Context, d time.Duration) error {
		select {
		case e.sleeps <- d:
		default:
		}
		return ctx.Err()
	})
	return c
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// drain collects a stream, failing the test on error, and returns the
// records and page sizes.
func drain[T any](t *testing.T, s iter.Seq2[[]T, error]) ([]T, []int) {
	t.Helper()
	var all []T
	var pages []int
	for page, err := range s {
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		all = append(all, page...)
		pages = append(pages, len(page))
	}
	return all, pages
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// liveTickets returns the World's live tickets.
func (e *env) liveTickets() []sandbox.Ticket {
	ts, _ := e.world.QueryTickets(sandbox.TicketQuery{})
	return ts
}
