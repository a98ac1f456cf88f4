package syncer

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// TestKilledBackfillResumesFromItsCursor kills a 20-page backfill after
// 8 committed pages, on both a provider that can resume and one that
// cannot: the first reads only the remaining pages after the restart,
// the second starts again from page 1; both end equal to the PSA.
func TestKilledBackfillResumesFromItsCursor(t *testing.T) {
	for _, resume := range []bool{true, false} {
		t.Run(map[bool]string{true: "resumable", false: "not resumable"}[resume], func(t *testing.T) {
			st := openSQLite(t, filepath.Join(t.TempDir(), "horizon.db"))
			e := newEnv(t, nil)
			const pages, committed = 20, 8
			all := spread(1, pages*e.psa.pageSize, time.Hour/4) // all within the window
			put(e.psa, &e.psa.tickets, all...)
			var p helpdesk.Provider = e.psa
			if resume {
				p = resumablePSA{e.psa}
			}
			s1, err := New(p, &dyingStore{Store: st, dieAfter: committed}, e.opts)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s1.SyncEntity(context.Background(), helpdesk.EntityTickets, store.TriggerPoll, false); !errors.Is(err, errDead) {
				t.Fatalf("first run: %v, want killed", err)
			}
			// Edited after its page was committed, before the restart.
			e.clock.Set(t0.Add(10 * time.Minute))
			edited := ticket(3, t0.Add(time.Minute))
			edited.Summary = "edited between the crash and the restart"
			// A ticket on a page not yet read changes too: the resumed run
			// sees it, and its time must not lift the watermark past the
			// edit above.
			late := ticket(pages*e.psa.pageSize-1, t0.Add(9*time.Minute))
			late.Summary = "edited on a later page"
			put(e.psa, &e.psa.tickets, edited, late)

			before := e.psa.served(helpdesk.EntityTickets)
			s2, err := New(p, st, e.opts)
			if err != nil {
				t.Fatal(err)
			}
			runs, err := s2.SyncEntity(context.Background(), helpdesk.EntityTickets, store.TriggerPoll, false)
			if err != nil {
				t.Fatal(err)
			}
			after := e.psa.served(helpdesk.EntityTickets) - before
			want := pages + 1 // every page, and the short one that ends the listing
			if resume {
				want = pages - committed + 1
			}
			if after != want {
				t.Errorf("pages read after the restart: %d, want %d", after, want)
			}
			if len(runs) != 1 || runs[0].Trigger != store.TriggerBackfill || runs[0].Outcome != store.RunOK {
				t.Fatalf("restart runs = %+v, want one backfill", runs)
			}
			// A poll afterwards fetches the edit made after its page was
			// committed, and the store equals the PSA.
			e.clock.Set(t0.Add(11 * time.Minute))
			if _, err := s2.SyncEntity(context.Background(), helpdesk.EntityTickets, store.TriggerPoll, false); err != nil {
				t.Fatal(err)
			}
			want2 := map[string]helpdesk.Ticket{}
			for _, tk := range all {
				want2[tk.ExternalID] = tk
			}
			want2[edited.ExternalID], want2[late.ExternalID] = edited, late
			n := 0
			for got, err := range st.Tickets(context.Background(), e.opts.Scope) {
				if err != nil {
					t.Fatal(err)
				}
				n++
				if w, ok := want2[got.ExternalID]; !ok || w.Summary != got.Summary || !w.UpdatedAt.Equal(got.UpdatedAt) {
					t.Errorf("stored ticket %s %q %v, PSA has %q %v", got.ExternalID, got.Summary, got.UpdatedAt, w.Summary, w.UpdatedAt)
				}
			}
			if n != len(want2) {
				t.Errorf("stored %d tickets, PSA has %d", n, len(want2))
			}
			wm, _ := st.Watermark(context.Background(), e.opts.Scope, helpdesk.EntityTickets)
			if wm.Cursor != "" || wm.BackfilledFrom.IsZero() {
				t.Errorf("watermark after the backfill = %+v", wm)
			}
		})
	}
}
