package ui

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/account"
	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	"github.com/horizon/reconciler/internal/store"
)

// benchAccounts is the fleet size the accounts overview must stay fast
// on.
const benchAccounts = 1000

// pageBudget is the time a status page may take to render.
const pageBudget = 200 * time.Millisecond

// newBenchFleet builds n accounts on one SQLite store, each with a
// day's sync runs of every entity, a callback and a write; one in ten
// has a failed sweep, one in five no callback for an hour.
func newBenchFleet(b *testing.B, n int, o FleetOptions) *Fleet {
	b.Helper()
	ctx := context.Background()
	em, err := sandbox.New("connectwise", sandbox.Options{World: sandbox.Generate(sandbox.GenOptions{Tickets: 1, Seed: 1})})
	if err != nil {
		b.Fatal(err)
	}
	psa := httptest.NewServer(em)
	b.Cleanup(func() { psa.Close(); em.Close() })
	for k, v := range em.Env() {
		b.Setenv(k, v)
	}
	b.Setenv("UI_TEST_CALLBACK_SECRET", callbackSecret)
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "fleet.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	var accts []FleetAccount
	o.Accounts = func() []FleetAccount { return accts }
	o.Logger = quiet
	fl, err := NewFleet(o)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	for i := range n {
		name := fmt.Sprintf("msp-%04d", i)
		yaml := fmt.Sprintf("apiVersion: horizon/v1\naccount: {name: %s}\n", name) + em.ConfigFragment(psa.URL) +
			fmt.Sprintf(fixtureTail, psa.URL, psa.URL, psa.URL)
		cfg, diags := config.Parse(name+".yaml", []byte(yaml), config.LoadOptions{})
		if cfg == nil {
			b.Fatalf("config: %v", diags)
		}
		a, err := account.New(ctx, cfg, account.Options{Store: st, RatePerSecond: -1, Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		for j, e := range []helpdesk.Entity{helpdesk.EntityTickets, helpdesk.EntityContacts, helpdesk.EntityCompanies, helpdesk.EntityMembers} {
			at := now.Add(-time.Duration(j+1) * time.Minute)
			id, err := st.StartSyncRun(ctx, a.Scope, store.SyncRun{Trigger: store.TriggerPoll, Entity: e, StartedAt: at})
			if err != nil {
				b.Fatal(err)
			}
			run := store.SyncRun{ID: id, FinishedAt: at.Add(time.Second), Updated: 3}
			if i%10 == 0 && e == helpdesk.EntityTickets {
				run.Error = "connectwise: list tickets: HTTP 503"
			}
			if err := st.FinishSyncRun(ctx, a.Scope, run); err != nil {
				b.Fatal(err)
			}
		}
		received := now.Add(-time.Minute)
		if i%5 == 0 {
			received = now.Add(-time.Hour)
		}
		if _, _, err := st.InsertCallbacks(ctx, a.Scope, []store.CallbackRecord{{ReceivedAt: received, Provider: "connectwise",
			Event: "ticket.updated", DeliveryID: "b-" + name, ExternalIDs: []string{"1"}, Verified: true, Result: store.CallbackProcessed}}); err != nil {
			b.Fatal(err)
		}
		if _, err := st.Enqueue(ctx, a.Scope, store.OutboxItem{Key: "n-" + name, Kind: "note", Payload: []byte(`{"ticketId":"1"}`),
			CreatedAt: now, NextAttempt: now}); err != nil {
			b.Fatal(err)
		}
		src := &staticSource{acct: a, state: State{ConfigValid: true, ReconcileInterval: 10 * time.Minute,
			LastReconcile: now.Add(-time.Minute), LastSuccess: now.Add(-time.Minute)}}
		h, err := fl.Pages(name, Options{Source: src, Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		accts = append(accts, FleetAccount{Name: name, Provider: "connectwise", Pages: h})
	}
	return fl
}

// BenchmarkFleetOverview renders the accounts overview of 1,000 accounts
// (go test -run XXX -bench FleetOverview ./internal/ui): "judged" judges
// every account on each view, "cached" reuses verdicts younger than
// SummaryMaxAge, as a browser reloading the page does. x-budget is the
// time against the 200 ms page budget.
func BenchmarkFleetOverview(b *testing.B) {
	for _, c := range []struct {
		name   string
		maxAge time.Duration
	}{{"judged", -1}, {"cached", time.Hour}} {
		b.Run(c.name, func(b *testing.B) {
			fl := newBenchFleet(b, benchAccounts, FleetOptions{SummaryMaxAge: c.maxAge})
			view := func() {
				rec := httptest.NewRecorder()
				fl.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ui/", nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("HTTP %d", rec.Code)
				}
			}
			view() // the first view judges every account in both cases
			start := time.Now()
			for b.Loop() {
				view()
			}
			per := time.Since(start) / time.Duration(b.N)
			b.ReportMetric(float64(per)/float64(pageBudget), "x-budget")
		})
	}
}
