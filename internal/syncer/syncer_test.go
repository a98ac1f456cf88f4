package syncer

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/metrics"
	"github.com/horizon/reconciler/internal/store"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable local clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

type env struct {
	psa   *fakePSA
	st    *memStore
	s     *Syncer
	m     *metrics.Metrics
	clock *clock
	opts  Options
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// newEnv returns a fake PSA, a memory store and a Syncer over them with
// tickets enabled, a 30-day window and a clock at t0.
func newEnv(t *testing.T, mod func(*Options)) *env {
	t.Helper()
	e := &env{psa: newFakePSA(), st: newMemStore(), clock: &clock{t: t0}}
	e.m = metrics.New(prometheus.NewRegistry())
	e.opts = Options{Scope: store.Scope{Account: "acme", Provider: helpdesk.ConnectWise},
		Entities: []helpdesk.Entity{helpdesk.EntityTickets}, IngestWindow: 30 * 24 * time.Hour,
		Metrics: e.m, Logger: quietLogger(), Now: e.clock.Now}
	if mod != nil {
		mod(&e.opts)
	}
	e.s = e.newSyncer(t)
	return e
}

func (e *env) newSyncer(t *testing.T) *Syncer {
	t.Helper()
	s, err := New(e.psa, e.st, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ticket(id int, updated time.Time) helpdesk.Ticket {
	return helpdesk.Ticket{ExternalID: strconv.Itoa(id), Summary: "ticket " + strconv.Itoa(id),
		Status: helpdesk.Ref{ID: "1", Name: "New"}, CreatedAt: updated.Add(-time.Hour), UpdatedAt: updated}
}

// spread returns n tickets with IDs from first, updated one per step
// going back from t0 in ID order reversed (so paging by ID is not paging
// by time).
func spread(first, n int, step time.Duration) []helpdesk.Ticket {
	out := make([]helpdesk.Ticket, n)
	for i := range n {
		back := time.Duration((i*7919)%n+1) * step
		out[i] = ticket(first+i, t0.Add(-back))
	}
	return out
}

func (e *env) sync(t *testing.T, ent helpdesk.Entity) []store.SyncRun {
	t.Helper()
	runs, err := e.s.SyncEntity(context.Background(), ent, store.TriggerPoll, false)
	if err != nil {
		t.Fatalf("sync %s: %v", ent, err)
	}
	return runs
}

// wantStored checks that the stored tickets are exactly want (by ID and
// UpdatedAt).
func wantStored(t *testing.T, st *memStore, want []helpdesk.Ticket) {
	t.Helper()
	got := st.snapshot(helpdesk.EntityTickets)
	if len(got) != len(want) {
		t.Errorf("stored %d tickets, want %d", len(got), len(want))
	}
	for _, w := range want {
		g, ok := got[w.ExternalID]
		if !ok {
			t.Errorf("ticket %s missing", w.ExternalID)
			continue
		}
		if gt := g.(helpdesk.Ticket); !gt.UpdatedAt.Equal(w.UpdatedAt) || gt.Summary != w.Summary || gt.Deleted != w.Deleted {
			t.Errorf("ticket %s = %q %v deleted=%v, want %q %v deleted=%v", w.ExternalID,
				gt.Summary, gt.UpdatedAt, gt.Deleted, w.Summary, w.UpdatedAt, w.Deleted)
		}
	}
}

func within(ts []helpdesk.Ticket, from time.Time) []helpdesk.Ticket {
	var out []helpdesk.Ticket
	for _, t := range ts {
		if t.UpdatedAt.After(from) {
			out = append(out, t)
		}
	}
	return out
}

func TestBackfillThenIncremental(t *testing.T) {
	e := newEnv(t, nil)
	all := spread(1, 400, 4*time.Hour) // 66 days of history
	put(e.psa, &e.psa.tickets, all...)

	runs := e.sync(t, helpdesk.EntityTickets)
	if len(runs) != 1 || runs[0].Trigger != store.TriggerBackfill {
		t.Fatalf("first sync runs = %+v, want one backfill", runs)
	}
	start := t0.Add(-30 * 24 * time.Hour)
	inWindow := within(all, start)
	wantStored(t, e.st, inWindow)
	if runs[0].Created != len(inWindow) || runs[0].Error != "" || runs[0].FinishedAt.IsZero() {
		t.Errorf("backfill run = %+v", runs[0])
	}
	wm := e.st.watermarks[helpdesk.EntityTickets]
	if !wm.BackfilledFrom.Equal(start) || !wm.UpdatedThrough.Equal(t0.Add(-4*time.Hour)) {
		t.Errorf("watermark = %+v, want backfilled from %v through %v", wm, start, t0.Add(-4*time.Hour))
	}

	// Edits in the PSA: two tickets changed, one created, all after t0.
	e.clock.Set(t0.Add(time.Hour))
	// Tickets 1 and 5 are in the window; 999 is new.
	ed := []helpdesk.Ticket{ticket(1, t0.Add(10*time.Minute)), ticket(5, t0.Add(20*time.Minute)), ticket(999, t0.Add(30*time.Minute))}
	ed[0].Summary, ed[1].Summary = "edited", "edited too"
	put(e.psa, &e.psa.tickets, ed...)

	runs = e.sync(t, helpdesk.EntityTickets)
	if len(runs) != 1 || runs[0].Trigger != store.TriggerPoll {
		t.Fatalf("second sync runs = %+v, want one poll", runs)
	}
	q := e.psa.recorded(helpdesk.EntityTickets)
	if got, want := q[len(q)-1].Since, t0.Add(-4*time.Hour-DefaultOverlap); !got.Equal(want) {
		t.Errorf("incremental Since = %v, want watermark less overlap %v", got, want)
	}
	if runs[0].Created != 1 || runs[0].Updated != 2 {
		t.Errorf("incremental run = %+v, want 1 created, 2 updated", runs[0])
	}
	if got := e.st.watermarks[helpdesk.EntityTickets].UpdatedThrough; !got.Equal(t0.Add(30 * time.Minute)) {
		t.Errorf("watermark through %v, want the PSA's max %v", got, t0.Add(30*time.Minute))
	}
	if v := testutil.ToFloat64(e.m.SyncLastChange.WithLabelValues("tickets")); v == 0 {
		t.Error("sync_last_change_timestamp_seconds not set by a poll that found changes")
	}
	if v := testutil.ToFloat64(e.m.SyncRuns.WithLabelValues("tickets", "backfill", "success")); v != 1 {
		t.Errorf("sync_runs_total{backfill,success} = %v", v)
	}
	if v := testutil.ToFloat64(e.m.SyncedObjects.WithLabelValues("tickets", "created")); v != float64(len(inWindow)+1) {
		t.Errorf("synced_objects_total{created} = %v, want %d", v, len(inWindow)+1)
	}
}

func TestOverlapCatchesLateCommits(t *testing.T) {
	e := newEnv(t, nil)
	put(e.psa, &e.psa.tickets, ticket(1, t0.Add(-time.Hour)), ticket(2, t0))
	e.sync(t, helpdesk.EntityTickets)
	// A change the PSA committed late, stamped before the watermark but
	// within the overlap, and one with the same timestamp as the
	// watermark.
	late := ticket(3, t0.Add(-2*time.Minute))
	same := ticket(4, t0)
	put(e.psa, &e.psa.tickets, late, same)
	runs := e.sync(t, helpdesk.EntityTickets)
	if runs[0].Created != 2 {
		t.Errorf("run = %+v, want the late and same-time tickets created", runs[0])
	}
	if runs[0].Unchanged != 1 {
		t.Errorf("run = %+v, want ticket 2 re-fetched as unchanged", runs[0])
	}
}

func TestWidenWindowBackfillsOnlyTheGap(t *testing.T) {
	for _, ignoreUntil := range []bool{false, true} {
		t.Run("ignoreUntil="+strconv.FormatBool(ignoreUntil), func(t *testing.T) {
			e := newEnv(t, func(o *Options) { o.IngestWindow = 10 * 24 * time.Hour })
			e.psa.ignoreUntil = ignoreUntil
			all := spread(1, 300, 4*time.Hour) // 50 days
			put(e.psa, &e.psa.tickets, all...)
			e.sync(t, helpdesk.EntityTickets)
			oldStart := t0.Add(-10 * 24 * time.Hour)
			wantStored(t, e.st, within(all, oldStart))

			e.clock.Set(t0.Add(time.Minute))
			e.opts.IngestWindow = 30 * 24 * time.Hour
			e.s = e.newSyncer(t)
			runs := e.sync(t, helpdesk.EntityTickets)
			if len(runs) != 2 || runs[0].Trigger != store.TriggerBackfill || runs[1].Trigger != store.TriggerPoll {
				t.Fatalf("runs = %+v, want a gap backfill then a poll", runs)
			}
			newStart := t0.Add(time.Minute - 30*24*time.Hour)
			q := e.psa.recorded(helpdesk.EntityTickets)[1]
			if !q.Since.Equal(newStart) || !q.Until.Equal(oldStart) {
				t.Errorf("gap query = %+v, want Since %v Until %v", q, newStart, oldStart)
			}
			gap := len(within(all, newStart)) - len(within(all, oldStart))
			if runs[0].Created != gap || runs[0].Unchanged != 0 || runs[0].Updated != 0 {
				t.Errorf("gap run = %+v, want exactly the %d gap tickets", runs[0], gap)
			}
			wantStored(t, e.st, within(all, newStart))
			wm := e.st.watermarks[helpdesk.EntityTickets]
			if !wm.BackfilledFrom.Equal(newStart) || !wm.UpdatedThrough.Equal(t0.Add(-4*time.Hour)) {
				t.Errorf("watermark = %+v", wm)
			}
		})
	}
}

func TestReferenceEntitiesSyncInFull(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Entities = []helpdesk.Entity{helpdesk.EntityContacts} })
	old := helpdesk.Contact{ExternalID: "7", FirstName: "Dana", UpdatedAt: t0.Add(-3 * 365 * 24 * time.Hour)}
	recent := helpdesk.Contact{ExternalID: "8", FirstName: "Omar", UpdatedAt: t0.Add(-time.Hour)}
	put(e.psa, &e.psa.contacts, old, recent)
	runs := e.sync(t, helpdesk.EntityContacts)
	if runs[0].Created != 2 {
		t.Fatalf("run = %+v, want both contacts despite the ticket window", runs[0])
	}
	if q := e.psa.recorded(helpdesk.EntityContacts)[0]; !q.Since.IsZero() {
		t.Errorf("first contact sync Since = %v, want zero (everything)", q.Since)
	}
	if wm := e.st.watermarks[helpdesk.EntityContacts]; !wm.BackfilledFrom.Equal(beginning) {
		t.Errorf("watermark = %+v, want backfilled from the beginning", wm)
	}
	e.sync(t, helpdesk.EntityContacts)
	if q := e.psa.recorded(helpdesk.EntityContacts)[1]; !q.Since.Equal(t0.Add(-time.Hour - DefaultOverlap)) {
		t.Errorf("second contact sync Since = %v, want incremental", q.Since)
	}
}

func TestMembersWithoutIncrementalFilterSyncInFull(t *testing.T) {
	for _, inc := range []bool{true, false} {
		e := newEnv(t, nil)
		e.psa.caps.IncrementalMembers = inc
		e.s = e.newSyncer(t)
		put(e.psa, &e.psa.members, helpdesk.Member{ExternalID: "1", Name: "A", UpdatedAt: t0.Add(-time.Hour)})
		e.sync(t, helpdesk.EntityMembers)
		e.sync(t, helpdesk.EntityMembers)
		q := e.psa.recorded(helpdesk.EntityMembers)[1]
		if inc == q.Since.IsZero() {
			t.Errorf("IncrementalMembers=%v: second members sync Since = %v", inc, q.Since)
		}
	}
}

func TestFullResyncIgnoresWatermark(t *testing.T) {
	e := newEnv(t, nil)
	all := spread(1, 120, 4*time.Hour)
	put(e.psa, &e.psa.tickets, all...)
	e.sync(t, helpdesk.EntityTickets)
	e.clock.Set(t0.Add(time.Hour))
	runs, err := e.s.Sync(context.Background(), SyncOptions{Entity: helpdesk.EntityTickets, Full: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Trigger != store.TriggerManual || runs[0].Unchanged != len(within(all, t0.Add(-30*24*time.Hour))) {
		t.Errorf("full runs = %+v", runs)
	}
	if q := e.psa.recorded(helpdesk.EntityTickets)[1]; !q.Since.Equal(t0.Add(time.Hour - 30*24*time.Hour)) {
		t.Errorf("full sync Since = %v, want the window start", q.Since)
	}
}

func TestOutOfOrderVersionsKeepTheNewest(t *testing.T) {
	e := newEnv(t, nil)
	newer := ticket(5, t0)
	newer.Summary = "newest"
	put(e.psa, &e.psa.tickets, newer, ticket(6, t0.Add(-time.Hour)))
	// The PSA sends an older version of ticket 5 after the newer one
	// (a page boundary moved under an edit).
	older := ticket(5, t0.Add(-2*time.Hour))
	older.Summary = "stale"
	e.psa.extra = [][]helpdesk.Ticket{{older}}
	e.sync(t, helpdesk.EntityTickets)
	wantStored(t, e.st, []helpdesk.Ticket{newer, ticket(6, t0.Add(-time.Hour))})
	if got := e.st.watermarks[helpdesk.EntityTickets].UpdatedThrough; !got.Equal(t0) {
		t.Errorf("watermark %v, want the maximum %v, not the last seen", got, t0)
	}
}

func TestFarFutureTimeDoesNotMoveWatermark(t *testing.T) {
	e := newEnv(t, nil)
	put(e.psa, &e.psa.tickets, ticket(1, t0.Add(-time.Hour)), ticket(2, t0.Add(10*365*24*time.Hour)))
	e.sync(t, helpdesk.EntityTickets)
	if got := e.st.watermarks[helpdesk.EntityTickets].UpdatedThrough; !got.Equal(t0.Add(-time.Hour)) {
		t.Errorf("watermark %v, want %v", got, t0.Add(-time.Hour))
	}
	if n, _ := e.st.Count(context.Background(), store.Scope{}, helpdesk.EntityTickets); n != 2 {
		t.Errorf("stored %d tickets, want 2 (the far-future one kept)", n)
	}
}

func TestStreamErrorFailsRunAndKeepsWatermark(t *testing.T) {
	e := newEnv(t, nil)
	put(e.psa, &e.psa.tickets, spread(1, 300, time.Hour)...)
	e.sync(t, helpdesk.EntityTickets)
	before := e.st.watermarks[helpdesk.EntityTickets]

	e.clock.Set(t0.Add(time.Hour))
	put(e.psa, &e.psa.tickets, spread(1000, 200, -time.Minute)...) // 200 new, after t0
	e.psa.fail[helpdesk.EntityTickets] = failure{afterPages: 2, err: &helpdesk.Error{Provider: "connectwise",
		Op: "list tickets", Kind: helpdesk.ErrTransient, Status: 503, Message: "service unavailable"}}
	runs, err := e.s.SyncEntity(context.Background(), helpdesk.EntityTickets, store.TriggerPoll, false)
	if err == nil || !errors.Is(err, helpdesk.ErrTransient) || !strings.HasPrefix(err.Error(), "sync tickets: ") {
		t.Fatalf("err = %v, want a wrapped transient error", err)
	}
	r := runs[0]
	if r.Error == "" || r.FinishedAt.IsZero() || r.Created+r.Unchanged != 100 {
		t.Errorf("run = %+v, want failed with the 2 pages before the error stored", r)
	}
	if got := e.st.allRuns()[1]; got.Error != r.Error {
		t.Errorf("run log row = %+v, want the error recorded", got)
	}
	if got := e.st.watermarks[helpdesk.EntityTickets]; got != before {
		t.Errorf("watermark moved on a failed run: %+v → %+v", before, got)
	}
	if v := testutil.ToFloat64(e.m.SyncRuns.WithLabelValues("tickets", "poll", "error")); v != 1 {
		t.Errorf("sync_runs_total{poll,error} = %v", v)
	}

	delete(e.psa.fail, helpdesk.EntityTickets)
	runs = e.sync(t, helpdesk.EntityTickets)
	if runs[0].Created+r.Created != 200 || runs[0].Unchanged < 100 {
		t.Errorf("retry run = %+v, want the rest created and the first pages unchanged", runs[0])
	}
	if n, _ := e.st.Count(context.Background(), store.Scope{}, helpdesk.EntityTickets); n != 500 {
		t.Errorf("stored %d tickets, want 500", n)
	}
}

func TestStoreErrorCountsFailedRecords(t *testing.T) {
	e := newEnv(t, nil)
	put(e.psa, &e.psa.tickets, spread(1, 120, time.Hour)...)
	e.st.before = func(n int, b store.Batch) error {
		if n == 2 {
			return errors.New("disk full")
		}
		return nil
	}
	runs, err := e.s.SyncEntity(context.Background(), helpdesk.EntityTickets, store.TriggerPoll, false)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v", err)
	}
	if runs[0].Failed != 50 || runs[0].Created != 50 {
		t.Errorf("run = %+v, want 50 created then 50 failed", runs[0])
	}
	if wm := e.st.watermarks[helpdesk.EntityTickets]; !wm.BackfilledFrom.IsZero() {
		t.Errorf("watermark %+v stored after a failed backfill", wm)
	}
}

func TestAuthFailureNamesTheCredentials(t *testing.T) {
	cases := []struct {
		provider  string
		kind      error
		status    int
		wantInMsg string
	}{
		{helpdesk.ConnectWise, helpdesk.ErrUnauthorized, 401, "ConnectWise rejected the credentials: check helpdesk.connectwise.publicKey/privateKey"},
		{helpdesk.Autotask, helpdesk.ErrUnauthorized, 401, "Autotask rejected the credentials: check helpdesk.autotask.username, secret and integrationCode"},
		{helpdesk.ZohoDesk, helpdesk.ErrUnauthorized, 401, "Zoho Desk rejected the credentials: check helpdesk.zohodesk.refreshToken"},
		{helpdesk.HaloPSA, helpdesk.ErrUnauthorized, 401, "HaloPSA rejected the credentials: check helpdesk.halopsa.clientId/clientSecret"},
		{helpdesk.ConnectWise, helpdesk.ErrForbidden, 403, "ConnectWise accepted the credentials but refused access: check the API member's security role"},
	}
	for _, c := range cases {
		t.Run(c.provider+"/"+strconv.Itoa(c.status), func(t *testing.T) {
			e := newEnv(t, func(o *Options) {
				o.Entities = []helpdesk.Entity{helpdesk.EntityCompanies, helpdesk.EntityTickets}
			})
			e.psa.name = c.provider
			perr := &helpdesk.Error{Provider: c.provider, Op: "list", Kind: c.kind, Status: c.status}
			e.psa.fail[helpdesk.EntityCompanies] = failure{err: perr}
			runs, err := e.s.Sync(context.Background(), SyncOptions{Trigger: store.TriggerPoll})
			if err == nil || !strings.Contains(err.Error(), c.wantInMsg) {
				t.Fatalf("err = %v, want %q", err, c.wantInMsg)
			}
			var ae *AuthError
			if !errors.As(err, &ae) || !errors.Is(err, c.kind) {
				t.Errorf("err %v is not an *AuthError matching %v", err, c.kind)
			}
			if !strings.Contains(runs[0].Error, c.wantInMsg) {
				t.Errorf("run = %+v, want the hint recorded", runs[0])
			}
			// Rejected credentials stop the cycle; a 403 may concern one
			// entity only, so the others are still tried.
			stopped := c.kind == helpdesk.ErrUnauthorized
			if fetched := len(e.psa.recorded(helpdesk.EntityTickets)) > 0; fetched == stopped || (len(runs) == 1) != stopped {
				t.Errorf("runs = %+v: want the cycle stopped = %v", runs, stopped)
			}
		})
	}
}

func TestSyncTicket(t *testing.T) {
	e := newEnv(t, nil)
	put(e.psa, &e.psa.tickets, ticket(1, t0.Add(-time.Hour)), ticket(2, t0.Add(-time.Hour)))
	e.sync(t, helpdesk.EntityTickets)
	wmBefore := e.st.watermarks[helpdesk.EntityTickets]

	t.Run("updated", func(t *testing.T) {
		up := ticket(1, t0.Add(time.Minute))
		up.Summary = "changed in the PSA"
		put(e.psa, &e.psa.tickets, up)
		r, err := e.s.SyncTicket(context.Background(), "1", store.TriggerCallback)
		if err != nil || r.Updated != 1 || r.TicketID != "1" || r.Trigger != store.TriggerCallback {
			t.Fatalf("run = %+v, err = %v", r, err)
		}
		got, _ := e.st.Ticket(context.Background(), store.Scope{}, "1")
		if got.Summary != up.Summary {
			t.Errorf("stored %q", got.Summary)
		}
		if e.st.watermarks[helpdesk.EntityTickets] != wmBefore {
			t.Error("a one-ticket sync moved the watermark")
		}
	})
	t.Run("deleted", func(t *testing.T) {
		e.psa.mu.Lock()
		delete(e.psa.tickets, "2")
		e.psa.mu.Unlock()
		// The local clock lags the PSA's: the tombstone must still win.
		e.clock.Set(t0.Add(-3 * time.Hour))
		r, err := e.s.SyncTicket(context.Background(), "2", store.TriggerCallback)
		if err != nil || r.Updated != 1 {
			t.Fatalf("run = %+v, err = %v", r, err)
		}
		got, _ := e.st.Ticket(context.Background(), store.Scope{}, "2")
		if !got.Deleted || !got.UpdatedAt.After(t0.Add(-time.Hour)) || got.Summary != "ticket 2" {
			t.Errorf("stored %+v, want a tombstone newer than the stored row, keeping its fields", got)
		}
		e.clock.Set(t0)
	})
	t.Run("unknown", func(t *testing.T) {
		r, err := e.s.SyncTicket(context.Background(), "404", store.TriggerCallback)
		if err != nil || r.Created+r.Updated != 0 {
			t.Fatalf("run = %+v, err = %v", r, err)
		}
		if _, err := e.st.Ticket(context.Background(), store.Scope{}, "404"); !errors.Is(err, store.ErrNotFound) {
			t.Error("a tombstone was stored for a ticket the store never had")
		}
	})
	t.Run("auth", func(t *testing.T) {
		e.psa.getErr = &helpdesk.Error{Provider: "connectwise", Op: "get ticket", Kind: helpdesk.ErrUnauthorized, Status: 401}
		defer func() { e.psa.getErr = nil }()
		r, err := e.s.SyncTicket(context.Background(), "1", store.TriggerCallback)
		var ae *AuthError
		if !errors.As(err, &ae) || r.Error == "" {
			t.Errorf("run = %+v, err = %v", r, err)
		}
	})
	t.Run("via Sync", func(t *testing.T) {
		runs, err := e.s.Sync(context.Background(), SyncOptions{TicketID: "1"})
		if err != nil || len(runs) != 1 || runs[0].Trigger != store.TriggerManual || runs[0].TicketID != "1" {
			t.Errorf("runs = %+v, err = %v", runs, err)
		}
	})
}

func TestRefreshPicklists(t *testing.T) {
	e := newEnv(t, nil)
	e.psa.picklists = []helpdesk.Picklist{{Kind: helpdesk.PicklistStatus, Scope: "Help Desk", ScopeID: "1",
		Values: []helpdesk.PicklistValue{{ID: "1", Name: "New", Active: true}, {ID: "2", Name: "Closed", Closed: true}}}}
	r, err := e.s.RefreshPicklists(context.Background())
	if err != nil || r.Entity != helpdesk.EntityPicklists || r.Created != 2 {
		t.Fatalf("run = %+v, err = %v", r, err)
	}
	e.psa.picklists[0].Values = []helpdesk.PicklistValue{{ID: "1", Name: "New", Active: true},
		{ID: "2", Name: "Closed (done)", Closed: true}, {ID: "3", Name: "Waiting"}}
	r, err = e.s.RefreshPicklists(context.Background())
	if err != nil || r.Created != 1 || r.Updated != 1 || r.Unchanged != 1 {
		t.Fatalf("run = %+v, err = %v", r, err)
	}
	if len(e.st.picklists[0].Values) != 3 {
		t.Errorf("stored picklists = %+v", e.st.picklists)
	}
	e.psa.pickErr = &helpdesk.Error{Provider: "connectwise", Op: "picklists", Kind: helpdesk.ErrForbidden, Status: 403}
	r, err = e.s.RefreshPicklists(context.Background())
	if err == nil || !strings.Contains(r.Error, "refused access") {
		t.Errorf("run = %+v, err = %v", r, err)
	}
}

func TestSyncOptions(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.Entities = []helpdesk.Entity{helpdesk.EntityTickets, helpdesk.EntityCompanies}
	})
	put(e.psa, &e.psa.tickets, ticket(1, t0))
	if _, err := e.s.Sync(context.Background(), SyncOptions{Entity: helpdesk.EntityContacts}); err == nil {
		t.Error("syncing an entity the file does not enable succeeded")
	}
	if _, err := e.s.SyncEntity(context.Background(), helpdesk.EntityNotes, store.TriggerManual, false); err == nil {
		t.Error("syncing notes succeeded")
	}
	runs, err := e.s.Sync(context.Background(), SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range runs {
		got = append(got, string(r.Entity)+"/"+r.Trigger)
	}
	want := "companies/backfill tickets/backfill members/backfill picklists/manual"
	if strings.Join(got, " ") != want {
		t.Errorf("runs = %v, want %s", got, want)
	}
	if _, err := New(e.psa, e.st, Options{Entities: []helpdesk.Entity{helpdesk.EntityNotes}}); err == nil {
		t.Error("New accepted notes as a synced entity")
	}
	e.psa.caps.Entities = []helpdesk.Entity{helpdesk.EntityTickets}
	if _, err := New(e.psa, e.st, Options{Entities: []helpdesk.Entity{helpdesk.EntityTimeEntries}}); err == nil ||
		!strings.Contains(err.Error(), "ConnectWise cannot sync timeEntries") {
		t.Errorf("New with an unsupported entity: %v", err)
	}
}

func TestCancelFinishesTheBatchInHand(t *testing.T) {
	base := runtime.NumGoroutine()
	e := newEnv(t, nil)
	put(e.psa, &e.psa.tickets, spread(1, 500, time.Hour)...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var inHand int
	e.st.before = func(n int, b store.Batch) error {
		if n == 3 {
			cancel() // shutdown arrives while page 3 is being written
			inHand = len(b.Tickets)
		}
		return nil
	}
	runs, err := e.s.SyncEntity(ctx, helpdesk.EntityTickets, store.TriggerPoll, false)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want canceled", err)
	}
	r := runs[0]
	if inHand == 0 || r.Created < 3*50 || r.FinishedAt.IsZero() || !strings.Contains(r.Error, "canceled") {
		t.Errorf("run = %+v, want the batch in hand stored and the run finished as canceled", r)
	}
	if wm := e.st.watermarks[helpdesk.EntityTickets]; !wm.BackfilledFrom.IsZero() {
		t.Errorf("watermark %+v stored by a cancelled backfill", wm)
	}
	if v := testutil.ToFloat64(e.m.SyncRuns.WithLabelValues("tickets", "backfill", "canceled")); v != 1 {
		t.Errorf("sync_runs_total{canceled} = %v", v)
	}
	waitGoroutines(t, base)
}

// waitGoroutines waits until the goroutine count is back to n.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines leaked: %d > %d\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
	}
}

func TestRunPollsUntilCancelled(t *testing.T) {
	base := runtime.NumGoroutine()
	e := newEnv(t, func(o *Options) {
		o.PollInterval = 5 * time.Millisecond
		o.PicklistInterval = 20 * time.Millisecond
		o.Now = nil
	})
	put(e.psa, &e.psa.tickets, ticket(1, time.Now().Add(-time.Hour)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.s.Run(ctx) }()

	waitFor(t, func() bool { return countRuns(e.st, helpdesk.EntityTickets, store.TriggerPoll) >= 2 })
	put(e.psa, &e.psa.tickets, ticket(2, time.Now()))
	waitFor(t, func() bool { _, err := e.st.Ticket(ctx, store.Scope{}, "2"); return err == nil })
	waitFor(t, func() bool { return countRuns(e.st, helpdesk.EntityPicklists, store.TriggerPoll) >= 2 })
	if countRuns(e.st, helpdesk.EntityMembers, store.TriggerBackfill) != 1 {
		t.Error("members were not backfilled by the reference refresh")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
	waitGoroutines(t, base)
}

func countRuns(st *memStore, e helpdesk.Entity, trigger string) int {
	n := 0
	for _, r := range st.allRuns() {
		if r.Entity == e && r.Trigger == trigger && !r.FinishedAt.IsZero() {
			n++
		}
	}
	return n
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met before the deadline")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestJitter(t *testing.T) {
	s := &Syncer{o: Options{Jitter: 0.1}}
	for range 100 {
		if d := s.jitter(time.Minute); d < 54*time.Second || d > 66*time.Second {
			t.Fatalf("jitter(1m) = %v", d)
		}
	}
	s.o.Jitter = -1
	if d := s.jitter(time.Minute); d != time.Minute {
		t.Errorf("no jitter: %v", d)
	}
}

func TestLogProgress(t *testing.T) {
	var buf bytes.Buffer
	e := newEnv(t, func(o *Options) {
		o.Progress = NewLogProgress(slog.New(slog.NewTextHandler(&buf, nil)), 2)
	})
	put(e.psa, &e.psa.tickets, spread(1, 260, time.Hour)...)
	e.sync(t, helpdesk.EntityTickets)
	out := buf.String()
	if n := strings.Count(out, "msg=\"sync progress\""); n != 3 {
		t.Errorf("%d progress lines, want 3 (pages 2, 4, 6):\n%s", n, out)
	}
	if !strings.Contains(out, "run done") || !strings.Contains(out, "records=260") {
		t.Errorf("no final line with the record count:\n%s", out)
	}
}

func TestTerminalProgress(t *testing.T) {
	var buf bytes.Buffer
	p := NewTerminalProgress(&buf)
	e := newEnv(t, func(o *Options) { o.Progress = p })
	put(e.psa, &e.psa.tickets, spread(1, 120, time.Hour)...)
	e.sync(t, helpdesk.EntityTickets)
	if out := buf.String(); !strings.Contains(out, "backfill tickets") || !strings.Contains(out, "120") {
		t.Errorf("terminal output = %q", out)
	}
	// A known total shows as a bar.
	buf.Reset()
	p.Begin(ProgressUpdate{Entity: "tickets", Trigger: "poll", Total: 100})
	p.Update(ProgressUpdate{Entity: "tickets", Trigger: "poll", Objects: 50, Pages: 1, Total: 100, Elapsed: time.Second})
	p.End(ProgressUpdate{Entity: "tickets", Trigger: "poll", Objects: 100, Pages: 2, Total: 100, Elapsed: 2 * time.Second}, nil)
	if out := buf.String(); !strings.Contains(out, "100%") {
		t.Errorf("terminal output with a total = %q", out)
	}
}

func TestRecordWithoutIDIsFailed(t *testing.T) {
	e := newEnv(t, nil)
	put(e.psa, &e.psa.tickets, ticket(1, t0))
	bad := ticket(2, t0)
	e.psa.extra = [][]helpdesk.Ticket{{func() helpdesk.Ticket { bad.ExternalID = ""; return bad }()}}
	runs := e.sync(t, helpdesk.EntityTickets)
	if runs[0].Failed != 1 || runs[0].Created != 1 {
		t.Errorf("run = %+v, want 1 created and 1 failed", runs[0])
	}
}
