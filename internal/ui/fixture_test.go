package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/account"
	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	_ "github.com/horizon/reconciler/internal/helpdesk/sandbox/connectwise"
	"github.com/horizon/reconciler/internal/store"
	_ "github.com/horizon/reconciler/internal/store/sqlite"
)

// callbackSecret is the fixture's callbacks.secret: no page may show it.
const callbackSecret = "ui-test-callback-secret-93f1"

// staticSource is a Source with a fixed account and state.
type staticSource struct {
	acct  *account.Account
	state State
}

func (s *staticSource) Account() *account.Account { return s.acct }
func (s *staticSource) State() State              { return s.state }

// fixture is a handler over a sandbox ConnectWise and a seeded store.
type fixture struct {
	h    *Handler
	srv  *httptest.Server
	acct *account.Account
	src  *staticSource
	now  time.Time
	env  map[string]string
	// psaURL is the sandbox's origin: the file's baseURL, so the origin
	// widgets must allow framing by.
	psaURL string
	psa    *httptest.Server
}

var quiet = slog.New(slog.DiscardHandler)

const fixtureTail = `
sync:
  entities: [tickets, contacts, companies]
userMappings:
  unmappedPolicy: warn
picklists:
  priorities: ["Priority 1 - Critical", "Priority 9 - Nonexistent"]
callbacks:
  url: %s/callbacks/connectwise
  secret: {env: UI_TEST_CALLBACK_SECRET}
  events: [ticket.created, ticket.updated]
  staleAfter: 15m
widgets:
  - {name: dashboard, url: "%s/widget/dashboard?token=w1dget-t0ken", expect: "Horizon calendar"}
  - {name: ticket, url: "%s/widget/ticket"}
`

// newFixture starts a sandbox PSA and a widget server, builds the account
// as the daemon does on a fresh SQLite store, and serves the pages.
func newFixture(t testing.TB, o Options) *fixture {
	t.Helper()
	return newNamedFixture(t, "acme-msp", "Acme MSP", o)
}

// newNamedFixture is newFixture for the account name and displayName
// given.
func newNamedFixture(t testing.TB, name, displayName string, o Options) *fixture {
	t.Helper()
	world := sandbox.Generate(sandbox.GenOptions{Tickets: 30, Seed: 3})
	em, err := sandbox.New("connectwise", sandbox.Options{World: world, DeliveryScale: 0.001})
	if err != nil {
		t.Fatal(err)
	}
	psa := httptest.NewServer(em)
	widgets := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if r.URL.Path == "/widget/ticket" {
			w.Header().Set("X-Frame-Options", "SAMEORIGIN")
		}
		fmt.Fprint(w, "<!doctype html><h1>Horizon calendar</h1>")
	}))
	t.Cleanup(func() { psa.Close(); widgets.Close(); em.Close() })
	env := em.Env()
	env["UI_TEST_CALLBACK_SECRET"] = callbackSecret
	for k, v := range env {
		t.Setenv(k, v)
	}
	yaml := fmt.Sprintf("apiVersion: horizon/v1\naccount: {name: %s, displayName: %s}\n", name, displayName) + em.ConfigFragment(psa.URL) +
		fmt.Sprintf(fixtureTail, widgets.URL, widgets.URL, widgets.URL)
	path := filepath.Join(t.TempDir(), "horizon.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, diags, err := config.Load(path, config.LoadOptions{})
	if err != nil || cfg == nil {
		t.Fatalf("config: %v %v", err, diags)
	}
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a, err := account.New(context.Background(), cfg, account.Options{Store: st, RatePerSecond: -1, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{acct: a, now: time.Now().UTC(), env: env, psaURL: psa.URL, psa: psa}
	f.src = &staticSource{acct: a, state: State{ConfigPath: path, ConfigValid: true, ReconcileInterval: 10 * time.Minute}}
	o.Source = f.src
	if o.Logger == nil {
		o.Logger = quiet
	}
	if o.fleet != nil {
		f.h, err = o.fleet.Pages(name, o)
	} else {
		f.h, err = New(o)
	}
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(f.h)
	t.Cleanup(f.srv.Close)
	return f
}

// reconcile runs one pass (plan and apply) as the daemon does and keeps
// its outcome as the daemon's state.
func (f *fixture) reconcile(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	p, err := f.acct.Reconciler.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res := f.acct.Reconciler.Apply(ctx, p)
	f.src.state.LastPlan, f.src.state.LastReconcile = p, time.Now().UTC()
	if err := res.Err(); err != nil {
		f.src.state.LastError = err.Error()
	} else {
		f.src.state.LastSuccess = f.src.state.LastReconcile
	}
}

// seedTrails writes callbacks, one-ticket sync runs and writes about a
// ticket, and one failure of each kind.
func (f *fixture) seedTrails(t testing.TB, ticketID string) {
	t.Helper()
	ctx, st, sc := context.Background(), f.acct.Store, f.acct.Scope
	recs := []store.CallbackRecord{
		{ReceivedAt: f.now.Add(-3 * time.Minute), Provider: "connectwise", Event: "ticket.updated", DeliveryID: "d-1",
			ExternalIDs: []string{ticketID}, Verified: true, Result: store.CallbackProcessed,
			Payload: []byte(`{"ID":` + ticketID + `,"Action":"updated","token":"` + callbackSecret + `"}`)},
		{ReceivedAt: f.now.Add(-2 * time.Minute), Provider: "connectwise", Event: "ticket.updated", DeliveryID: "d-2",
			ExternalIDs: []string{ticketID}, Verified: true, Result: store.CallbackFailed,
			Reason: "fetch tickets " + ticketID + ": connectwise: get ticket: HTTP 503", Payload: []byte(`{"ID":` + ticketID + `}`)},
		{ReceivedAt: f.now.Add(-time.Minute), Provider: "connectwise", Result: store.CallbackRejected,
			Reason: "signature mismatch", Payload: []byte(`not json`)},
	}
	if _, _, err := st.InsertCallbacks(ctx, sc, recs); err != nil {
		t.Fatal(err)
	}
	// The failed one was accepted first; mark its outcome as the dispatcher does.
	got, err := st.Callbacks(ctx, sc, store.CallbackFilter{ExternalID: ticketID})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		if r.DeliveryID == "d-2" {
			st.MarkCallbacks(ctx, sc, []int64{r.ID}, store.CallbackFailed, recs[1].Reason, f.now)
		}
	}
	if _, err := f.acct.Syncer.SyncTicket(ctx, ticketID, store.TriggerCallback); err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(map[string]string{"ticketId": ticketID, "text": "Called the customer back"})
	id, err := st.Enqueue(ctx, sc, store.OutboxItem{Key: "note-" + ticketID, Kind: "note", Payload: payload,
		CreatedAt: f.now.Add(-time.Minute), NextAttempt: f.now.Add(-time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.FailOutbox(ctx, sc, id, "connectwise: add note: HTTP 400: member not found", f.now, true); err != nil {
		t.Fatal(err)
	}
	// Notes synced from the PSA: one by a member mapped to a Horizon user.
	if err := st.SetUserMapping(ctx, sc, store.UserMapping{HelpdeskUserID: "7001", HorizonUser: "jane.doe@acme-msp.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpsertNotes(ctx, sc, []helpdesk.Note{
		{ExternalID: "9001", TicketID: ticketID, Text: "Replaced the <b>switch</b>", AuthorID: "7001", CreatedAt: f.now.Add(-time.Hour)},
		{ExternalID: "9002", TicketID: ticketID, Text: "Waiting on parts", Internal: true, AuthorID: "7002", CreatedAt: f.now.Add(-30 * time.Minute)},
	}); err != nil {
		t.Fatal(err)
	}
}

// firstTicket returns a ticket the store holds.
func (f *fixture) firstTicket(t testing.TB) helpdesk.Ticket {
	t.Helper()
	for tk, err := range f.acct.Store.Tickets(context.Background(), f.acct.Scope) {
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	t.Fatal("no tickets stored")
	return helpdesk.Ticket{}
}

func t0ctx() context.Context { return context.Background() }

func helpdeskQuery() helpdesk.Query { return helpdesk.Query{} }
