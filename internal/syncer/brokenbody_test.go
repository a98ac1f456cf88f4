package syncer

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/halopsa"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	haloemu "github.com/horizon/reconciler/internal/helpdesk/sandbox/halopsa"
	zdemu "github.com/horizon/reconciler/internal/helpdesk/sandbox/zohodesk"
	"github.com/horizon/reconciler/internal/helpdesk/zohodesk"
	"github.com/horizon/reconciler/internal/store"
)

// A Zoho Desk or HaloPSA page answered 200 with an empty or null body in
// the middle of a backfill fails the run: no watermark, the run logged as
// failed, and the next run fetches everything (the field saw 298 of 5,000
// and 300 of 3,000 tickets stored with exit 0).
func TestBrokenPageFailsTheRun(t *testing.T) {
	noSleep := func(context.Context, time.Duration) error { return nil }
	cases := []struct {
		name  string
		build func(t *testing.T, w *sandbox.World, fault sandbox.BrokenBody) helpdesk.Provider
	}{
		{helpdesk.ZohoDesk, func(t *testing.T, w *sandbox.World, fault sandbox.BrokenBody) helpdesk.Provider {
			em, err := zdemu.New(sandbox.Options{World: w}, zdemu.Options{})
			if err != nil {
				t.Fatal(err)
			}
			em.SetPageFaults(zdemu.PageFault{Path: "/api/v1/tickets/search", Request: 2, Fault: fault})
			srv := httptest.NewServer(em)
			t.Cleanup(func() { srv.Close(); em.Close() })
			o := em.Options()
			c, err := zohodesk.New(zohodesk.Config{OrgID: o.OrgID, ClientID: o.ClientID, BaseURL: srv.URL,
				ClientSecret: helpdesk.Secret(o.ClientSecret), RefreshToken: helpdesk.Secret(o.RefreshToken),
				HTTPClient: &http.Client{Timeout: 10 * time.Second}, Logger: quietLogger(), Now: w.Now,
				Tuning: zohodesk.Tuning{RatePerSecond: -1}})
			if err != nil {
				t.Fatal(err)
			}
			c.SetSleep(noSleep)
			return c
		}},
		{helpdesk.HaloPSA, func(t *testing.T, w *sandbox.World, fault sandbox.BrokenBody) helpdesk.Provider {
			em, err := haloemu.New(sandbox.Options{World: w}, haloemu.Settings{})
			if err != nil {
				t.Fatal(err)
			}
			em.SetPageFaults(haloemu.PageFault{Resource: "tickets", PageNo: 2, Fault: fault})
			srv := httptest.NewServer(em)
			t.Cleanup(func() { srv.Close(); em.Close() })
			s := em.Settings()
			c, err := halopsa.New(halopsa.Config{BaseURL: srv.URL, Tenant: s.Tenant, ClientID: s.ClientID,
				ClientSecret: helpdesk.Secret(s.ClientSecret), RatePerSecond: -1, Sleep: noSleep, Logger: quietLogger()})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}},
	}
	for _, tc := range cases {
		for _, fault := range []sandbox.BrokenBody{sandbox.BodyEmpty, sandbox.BodyNull} {
			t.Run(tc.name+"/"+string(fault), func(t *testing.T) {
				w := sandbox.Generate(sandbox.GenOptions{Tickets: 400, Seed: 5, Now: anchor})
				st := openSQLite(t, filepath.Join(t.TempDir(), "h.db"))
				scope := store.Scope{Account: "acme", Provider: tc.name}
				s, err := New(tc.build(t, w, fault), st, Options{Scope: scope, Entities: []helpdesk.Entity{helpdesk.EntityTickets},
					IngestWindow: 3650 * 24 * time.Hour, Logger: quietLogger(), Now: w.Now})
				if err != nil {
					t.Fatal(err)
				}
				runs, err := s.SyncEntity(context.Background(), helpdesk.EntityTickets, store.TriggerBackfill, false)
				if err == nil {
					n, _ := st.Count(context.Background(), scope, helpdesk.EntityTickets)
					t.Fatalf("backfill succeeded with %d of 400 tickets stored (runs %+v)", n, runs)
				}
				wm, err := st.Watermark(context.Background(), scope, helpdesk.EntityTickets)
				if err != nil || !wm.UpdatedThrough.IsZero() || !wm.BackfilledFrom.IsZero() {
					t.Fatalf("watermark %+v (%v) after a failed backfill, want none", wm, err)
				}
				logged, err := st.SyncRuns(context.Background(), scope, store.SyncRunFilter{FailedOnly: true})
				if err != nil || len(logged) == 0 {
					t.Fatalf("no failed run logged: %v %v", logged, err)
				}
			})
		}
	}
}
