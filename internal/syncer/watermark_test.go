package syncer

import (
	"context"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// slowRun makes every page of a ticket stream take a minute of the
// clock, and at the third page edits ticket 1 (on the first page, already
// read) and, at every page, a ticket not yet read, as helpdesk staff
// would during a long backfill. It returns the summary ticket 1 gets.
func slowRun(e *env, pages int) string {
	size := e.psa.pageSize
	const summary = "edited after its page was read"
	e.psa.onPage = func(ent helpdesk.Entity, n int) {
		if ent != helpdesk.EntityTickets {
			return
		}
		now := e.clock.Now().Add(time.Minute)
		e.clock.Set(now)
		if n == 2 {
			edited := ticket(1, now)
			edited.Summary = summary
			put(e.psa, &e.psa.tickets, edited)
		}
		if next := (n+1)*size + 1; n+1 < pages {
			put(e.psa, &e.psa.tickets, ticket(next, now))
		}
	}
	return summary
}

func TestLongRunCoversChangesMadeDuringIt(t *testing.T) {
	for _, name := range []string{"backfill", "incremental", "full"} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nil)
			const pages = 20 // 20 minutes, four times the overlap
			put(e.psa, &e.psa.tickets, spread(1, pages*e.psa.pageSize, time.Minute)...)
			if name != "backfill" {
				e.sync(t, helpdesk.EntityTickets)
				e.clock.Set(t0.Add(time.Hour))
			}
			edited := slowRun(e, pages)
			if name == "full" {
				if _, err := e.s.Sync(context.Background(), SyncOptions{Entity: helpdesk.EntityTickets, Full: true}); err != nil {
					t.Fatal(err)
				}
			} else {
				// An incremental run reads every page when every ticket
				// changed since the last one.
				for i := range pages * e.psa.pageSize {
					tk := ticket(i+1, e.clock.Now().Add(-time.Second))
					if name == "incremental" {
						put(e.psa, &e.psa.tickets, tk)
					}
				}
				e.sync(t, helpdesk.EntityTickets)
			}
			if got := e.st.snapshot(helpdesk.EntityTickets)["1"].(helpdesk.Ticket); got.Summary == edited {
				t.Fatal("the edit was read by the run itself; the test does not exercise a missed edit")
			}
			e.psa.onPage = nil
			e.clock.Set(e.clock.Now().Add(time.Minute))
			e.sync(t, helpdesk.EntityTickets)
			if got := e.st.snapshot(helpdesk.EntityTickets)["1"].(helpdesk.Ticket); got.Summary != edited {
				t.Errorf("ticket 1 edited during a %d-minute run was not fetched by the next incremental run (watermark %v)",
					pages, e.st.watermarks[helpdesk.EntityTickets].UpdatedThrough)
			}
		})
	}
}

func TestWatermarkNeverPassesTheRunStart(t *testing.T) {
	e := newEnv(t, nil)
	// One ticket stamped 28 minutes ahead of the PSA's clock.
	put(e.psa, &e.psa.tickets, ticket(1, t0.Add(-time.Hour)), ticket(2, t0.Add(28*time.Minute)))
	e.sync(t, helpdesk.EntityTickets)
	if got := e.st.watermarks[helpdesk.EntityTickets].UpdatedThrough; got.After(t0) {
		t.Errorf("watermark %v passed the run's start %v", got, t0)
	}
	// A real change ten minutes later is fetched by the next poll.
	e.clock.Set(t0.Add(15 * time.Minute))
	real := ticket(3, t0.Add(10*time.Minute))
	put(e.psa, &e.psa.tickets, real)
	e.sync(t, helpdesk.EntityTickets)
	if _, ok := e.st.snapshot(helpdesk.EntityTickets)["3"]; !ok {
		t.Error("a change made after a future-dated record was never fetched")
	}
}

func TestWatermarkAheadOfTheClockIsPulledBack(t *testing.T) {
	e := newEnv(t, nil)
	put(e.psa, &e.psa.tickets, ticket(1, t0.Add(-time.Hour)))
	e.sync(t, helpdesk.EntityTickets)
	// A watermark a release that trusted future dates left behind.
	e.st.watermarks[helpdesk.EntityTickets] = store.Watermark{UpdatedThrough: t0.Add(30 * time.Minute),
		BackfilledFrom: t0.Add(-30 * 24 * time.Hour)}
	put(e.psa, &e.psa.tickets, ticket(2, t0.Add(-time.Minute)))
	e.sync(t, helpdesk.EntityTickets)
	if _, ok := e.st.snapshot(helpdesk.EntityTickets)["2"]; !ok {
		t.Error("a change before a future watermark was never fetched")
	}
	if got := e.st.watermarks[helpdesk.EntityTickets].UpdatedThrough; got.After(t0) {
		t.Errorf("watermark %v still ahead of the clock %v", got, t0)
	}
}

func TestWatermarkCappedByThePSAClock(t *testing.T) {
	e := newEnv(t, nil)
	// The PSA's clock is 20 minutes behind ours.
	e.psa.psaTime = func() time.Time { return e.clock.Now().Add(-20 * time.Minute) }
	s, err := New(clockPSA{e.psa}, e.st, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	put(e.psa, &e.psa.tickets, ticket(1, t0.Add(-10*time.Minute)))
	if _, err := s.SyncEntity(context.Background(), helpdesk.EntityTickets, store.TriggerPoll, false); err != nil {
		t.Fatal(err)
	}
	if got, want := e.st.watermarks[helpdesk.EntityTickets].UpdatedThrough, t0.Add(-20*time.Minute); !got.Equal(want) {
		t.Errorf("watermark %v, want the PSA's time at the run's start %v", got, want)
	}
}

func TestManualSyncTakesThePSAsRecord(t *testing.T) {
	future := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, how := range []string{"full", "ticket", "poll"} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t, nil)
			frozen := ticket(1, future)
			put(e.psa, &e.psa.tickets, frozen, ticket(2, t0.Add(-time.Hour)))
			e.sync(t, helpdesk.EntityTickets)
			// The PSA's record is corrected and edited.
			fixed := ticket(1, t0.Add(time.Minute))
			fixed.Summary = "edited after the date was fixed"
			put(e.psa, &e.psa.tickets, fixed)
			e.clock.Set(t0.Add(2 * time.Minute))
			var err error
			switch how {
			case "full":
				_, err = e.s.Sync(context.Background(), SyncOptions{Entity: helpdesk.EntityTickets, Full: true})
			case "ticket":
				_, err = e.s.Sync(context.Background(), SyncOptions{TicketID: "1"})
			case "poll":
				_, err = e.s.SyncEntity(context.Background(), helpdesk.EntityTickets, store.TriggerPoll, false)
			}
			if err != nil {
				t.Fatal(err)
			}
			got := e.st.snapshot(helpdesk.EntityTickets)["1"].(helpdesk.Ticket)
			if replaced := got.Summary == fixed.Summary; replaced != (how != "poll") {
				t.Errorf("after a %s sync ticket 1 = %q dated %v; the PSA's record replaces it only on an explicit sync",
					how, got.Summary, got.UpdatedAt)
			}
		})
	}
}
