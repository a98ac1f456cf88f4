package syncer

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	"github.com/horizon/reconciler/internal/store"
)

// TestSandboxNotes syncs the notes entity from each provider's emulator:
// a bounded backfill, a note a member adds in the PSA arriving with its
// author after a callback's one-ticket sync and after a poll, and a note
// written through the API (as the write-back engine does, which stores
// it) not stored twice.
func TestSandboxNotes(t *testing.T) {
	const perRun = 20
	for _, spec := range psaSpecs {
		t.Run(spec.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newSandboxEnv(t, spec, sandboxOpts{tickets: 80})
			s := e.syncer(t, func(o *Options) {
				o.Entities = []helpdesk.Entity{helpdesk.EntityTickets, helpdesk.EntityNotes}
				o.NotesPerRun = perRun
			})
			if _, err := s.SyncEntity(ctx, helpdesk.EntityTickets, store.TriggerPoll, false); err != nil {
				t.Fatalf("tickets backfill: %v", err)
			}
			live := e.liveStored(t)
			if len(live) <= perRun {
				t.Fatalf("%d live tickets stored, want more than %d to bound the backfill", len(live), perRun)
			}

			// The backfill takes at most perRun tickets (one request each)
			// per run, as backfill runs, until it has caught up.
			for i := 0; ; i++ {
				if i > len(live)/perRun+1 {
					t.Fatalf("notes backfill not done after %d runs", i)
				}
				before := e.reqs.n.Load()
				runs, err := s.SyncEntity(ctx, helpdesk.EntityNotes, store.TriggerPoll, false)
				if err != nil {
					t.Fatalf("notes run %d: %v", i, err)
				}
				// One request per ticket, and once a lookup the client
				// caches (Autotask's note publish values).
				if n := e.reqs.n.Load() - before; n > perRun+1 {
					t.Errorf("notes run %d sent %d requests, want at most %d", i, n, perRun+1)
				}
				wm, err := e.st.Watermark(ctx, e.scope, helpdesk.EntityNotes)
				if err != nil {
					t.Fatal(err)
				}
				if !wm.BackfilledFrom.IsZero() {
					if runs[0].Trigger != store.TriggerBackfill {
						t.Errorf("last backfilling run recorded as %q", runs[0].Trigger)
					}
					break
				}
			}
			for _, id := range live {
				e.compareNotes(t, id)
			}

			// A poll with nothing changed fetches no notes.
			before := e.reqs.n.Load()
			runs, err := s.SyncEntity(ctx, helpdesk.EntityNotes, store.TriggerPoll, false)
			if err != nil || runs[0].Trigger != store.TriggerPoll {
				t.Fatalf("idle notes poll: %+v, %v", runs, err)
			}
			if n := e.reqs.n.Load() - before; n != 0 {
				t.Errorf("idle notes poll sent %d requests, want 0", n)
			}

			member := e.activeMember(t)
			tid := e.worldID(t, live[0])

			// Callback: the one-ticket sync brings the ticket's notes.
			e.clock.Set(e.clock.Now().Add(time.Minute))
			added, err := e.world.AddNote(sandbox.Note{TicketID: tid, Text: "Called the client back"}, sandbox.UI(member))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.SyncTicket(ctx, live[0], store.TriggerCallback); err != nil {
				t.Fatalf("one-ticket sync: %v", err)
			}
			e.wantNote(t, live[0], added, member)
			nr, err := e.st.SyncRuns(ctx, e.scope, store.SyncRunFilter{Entity: helpdesk.EntityNotes, Trigger: store.TriggerCallback})
			if err != nil || len(nr) != 1 || nr[0].TicketID != live[0] || nr[0].Outcome != store.RunOK {
				t.Errorf("callback notes runs %+v, %v; want one for ticket %s", nr, err, live[0])
			}

			// Poll: tickets first, then the notes of the changed ticket.
			e.clock.Set(e.clock.Now().Add(time.Minute))
			other := live[len(live)-1]
			polled, err := e.world.AddNote(sandbox.Note{TicketID: e.worldID(t, other), Text: "Replaced the switch", Internal: true},
				sandbox.UI(member))
			if err != nil {
				t.Fatal(err)
			}
			e.clock.Set(e.clock.Now().Add(time.Minute))
			if _, err := s.Sync(ctx, SyncOptions{Trigger: store.TriggerPoll}); err != nil {
				t.Fatalf("poll: %v", err)
			}
			e.wantNote(t, other, polled, member)

			// Write-back: the note the API answered with is stored by the
			// engine; syncs bring the same note, under the same ID.
			e.clock.Set(e.clock.Now().Add(time.Minute))
			wrote, err := e.psa.AddNote(ctx, live[0], helpdesk.NewNote{Text: "Written from Horizon", MemberID: spec.wireID(member)})
			if err != nil {
				t.Fatalf("add note through the API: %v", err)
			}
			if _, err := e.st.UpsertNotes(ctx, e.scope, []helpdesk.Note{wrote}); err != nil {
				t.Fatal(err)
			}
			e.clock.Set(e.clock.Now().Add(time.Minute))
			if _, err := s.SyncTicket(ctx, live[0], store.TriggerCallback); err != nil {
				t.Fatalf("one-ticket sync: %v", err)
			}
			if _, err := s.Sync(ctx, SyncOptions{Trigger: store.TriggerPoll}); err != nil {
				t.Fatalf("poll: %v", err)
			}
			e.compareNotes(t, live[0])
			e.compareNotes(t, other)
		})
	}
}

// liveStored returns the IDs of the live stored tickets.
func (e *sandboxEnv) liveStored(t testing.TB) []string {
	t.Helper()
	var out []string
	for id, tk := range e.storedTickets(t) {
		if !tk.Deleted {
			out = append(out, id)
		}
	}
	return out
}

// worldID returns the World ID of a stored ticket.
func (e *sandboxEnv) worldID(t testing.TB, externalID string) int64 {
	t.Helper()
	ts, _ := e.world.QueryTickets(sandbox.TicketQuery{Filter: func(tk *sandbox.Ticket) bool {
		return e.spec.wireID(tk.ID) == externalID
	}})
	if len(ts) != 1 {
		t.Fatalf("ticket %s: %d World tickets", externalID, len(ts))
	}
	return ts[0].ID
}

// activeMember returns an active member who is not the API user.
func (e *sandboxEnv) activeMember(t testing.TB) int64 {
	t.Helper()
	for _, m := range e.world.Members() {
		if m.Active && !m.APIUser {
			return m.ID
		}
	}
	t.Fatal("no active member in the World")
	return 0
}

// compareNotes checks a ticket's stored notes against the World's: the
// same notes, once each, with their authors.
func (e *sandboxEnv) compareNotes(t testing.TB, ticketID string) {
	t.Helper()
	got, err := e.st.Notes(context.Background(), e.scope, ticketID)
	if err != nil {
		t.Fatal(err)
	}
	wid := e.worldID(t, ticketID)
	want := e.world.Notes(wid)
	if e.spec.name == helpdesk.HaloPSA {
		// Halo logs time as actions in the ticket's thread: they are
		// notes too.
		for _, te := range e.world.TimeEntries(wid) {
			want = append(want, sandbox.Note{ID: te.ID, AuthorID: te.MemberID})
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s ticket %s: %d notes stored, the PSA has %d", e.spec.name, ticketID, len(got), len(want))
	}
	byID := map[string]helpdesk.Note{}
	for _, n := range got {
		if _, dup := byID[n.ExternalID]; dup {
			t.Errorf("%s ticket %s: note %s stored twice", e.spec.name, ticketID, n.ExternalID)
		}
		byID[n.ExternalID] = n
	}
	for _, w := range want {
		g, ok := byID[e.spec.wireID(w.ID)]
		if !ok {
			t.Errorf("%s ticket %s: note %d not stored", e.spec.name, ticketID, w.ID)
			continue
		}
		if w.AuthorID != 0 && g.AuthorID != e.spec.wireID(w.AuthorID) {
			t.Errorf("%s note %s: author %q, want %q", e.spec.name, g.ExternalID, g.AuthorID, e.spec.wireID(w.AuthorID))
		}
	}
}

// wantNote checks that a World note is stored with its author, text and
// creation time.
func (e *sandboxEnv) wantNote(t testing.TB, ticketID string, w sandbox.Note, member int64) {
	t.Helper()
	got, err := e.st.Notes(context.Background(), e.scope, ticketID)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range got {
		if g.ExternalID != e.spec.wireID(w.ID) {
			continue
		}
		if g.AuthorID != e.spec.wireID(member) || !strings.Contains(g.Text, w.Text) ||
			g.CreatedAt.Sub(w.Created).Abs() > e.spec.precision || g.TicketID != ticketID {
			t.Errorf("%s: stored note %+v, want author %s, text %q, created %v", e.spec.name, g,
				e.spec.wireID(member), w.Text, w.Created)
		}
		return
	}
	t.Errorf("%s ticket %s: note %d (%q) not stored; stored %d notes", e.spec.name, ticketID, w.ID, w.Text, len(got))
}

// TestSandboxNotesWindowWidened: widening the ingest window brings older
// tickets, behind the notes position; the notes run starts over as a
// backfill and fetches their notes too.
func TestSandboxNotesWindowWidened(t *testing.T) {
	ctx := context.Background()
	e := newSandboxEnv(t, psaSpecs[0], sandboxOpts{tickets: 80})
	entities := []helpdesk.Entity{helpdesk.EntityTickets, helpdesk.EntityNotes}
	narrow := e.syncer(t, func(o *Options) { o.Entities, o.IngestWindow = entities, 7*24*time.Hour })
	if _, err := narrow.Sync(ctx, SyncOptions{Trigger: store.TriggerPoll}); err != nil {
		t.Fatal(err)
	}
	before := len(e.liveStored(t))
	wide := e.syncer(t, func(o *Options) { o.Entities, o.IngestWindow = entities, 60*24*time.Hour })
	runs, err := wide.Sync(ctx, SyncOptions{Trigger: store.TriggerPoll})
	if err != nil {
		t.Fatal(err)
	}
	live := e.liveStored(t)
	if len(live) <= before {
		t.Fatalf("widening stored %d live tickets, had %d: the test needs older tickets", len(live), before)
	}
	var notesRun bool
	for _, r := range runs {
		if r.Entity == helpdesk.EntityNotes {
			notesRun = r.Trigger == store.TriggerBackfill
		}
	}
	if !notesRun {
		t.Errorf("no notes backfill after widening: %+v", runs)
	}
	for _, id := range live {
		e.compareNotes(t, id)
	}
}

// failingNotes makes Notes fail for one ticket with err.
type failingNotes struct {
	helpdesk.Provider
	ticket string
	err    error
}

func (f failingNotes) Notes(ctx context.Context, ticketID string) ([]helpdesk.Note, error) {
	if ticketID == f.ticket {
		return nil, f.err
	}
	return f.Provider.Notes(ctx, ticketID)
}

// TestNotesFailures: a ticket whose notes the PSA refuses (400) is named
// in the run log and passed over; an outage (503) stops the run before
// the failing ticket, and the next run takes it again.
func TestNotesFailures(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		err     error
		skipped bool
	}{
		{"refused", &helpdesk.Error{Provider: "connectwise", Kind: helpdesk.ErrInvalid, Status: 400, Message: "bad ticket"}, true},
		{"outage", &helpdesk.Error{Provider: "connectwise", Kind: helpdesk.ErrTransient, Status: 503}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSandboxEnv(t, psaSpecs[0], sandboxOpts{tickets: 40})
			entities := []helpdesk.Entity{helpdesk.EntityTickets, helpdesk.EntityNotes}
			if _, err := e.syncer(t, func(o *Options) { o.Entities = entities[:1] }).Sync(ctx, SyncOptions{Trigger: store.TriggerPoll}); err != nil {
				t.Fatal(err)
			}
			live := e.liveStored(t)
			var bad string // a ticket with notes, so that a run passing over it shows
			for _, id := range live {
				if len(e.world.Notes(e.worldID(t, id))) > 0 {
					bad = id
					break
				}
			}
			if bad == "" {
				t.Fatal("no ticket with notes in the World")
			}
			healthy := e.psa
			e.psa = failingNotes{Provider: healthy, ticket: bad, err: tc.err}
			s := e.syncer(t, func(o *Options) { o.Entities = entities })
			runs, err := s.SyncEntity(ctx, helpdesk.EntityNotes, store.TriggerPoll, false)
			r := runs[0]
			if tc.skipped {
				if err != nil || r.Skipped != 1 || len(r.Skips) != 1 || r.Skips[0].ID != bad {
					t.Fatalf("run %+v, %v; want ticket %s skipped", r, err, bad)
				}
				for _, id := range live {
					if id != bad {
						e.compareNotes(t, id)
					}
				}
				return
			}
			if err == nil || r.Outcome != store.RunFailed {
				t.Fatalf("run %+v, %v; want failed", r, err)
			}
			wm, _ := e.st.Watermark(ctx, e.scope, helpdesk.EntityNotes)
			if !wm.BackfilledFrom.IsZero() {
				t.Fatalf("backfill marked done after a failed run: %+v", wm)
			}
			e.psa = healthy
			s = e.syncer(t, func(o *Options) { o.Entities = entities })
			if _, err := s.SyncEntity(ctx, helpdesk.EntityNotes, store.TriggerPoll, false); err != nil {
				t.Fatal(err)
			}
			for _, id := range live {
				e.compareNotes(t, id)
			}
		})
	}
}
