package writeback

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

func TestNoteDelivered(t *testing.T) {
	h := newHarness(t)
	w := h.enqueue(note("4711", "Jane.Doe@acme-msp.com", "Called the client"))
	if w.State != store.WritePending || w.MemberID != "17" || w.MemberName != "Jane Doe" {
		t.Fatalf("enqueued %+v", w)
	}
	h.step()
	got := h.write(w.ID)
	if got.State != store.WriteDone || got.ResultID == "" || got.Answer != "note "+got.ResultID+" added to ticket 4711 as Jane Doe" {
		t.Fatalf("write after delivery: %+v", got)
	}
	n := h.psa.notes["4711"][0]
	if n.AuthorID != "17" || !strings.Contains(n.Text, w.Marker) {
		t.Errorf("PSA note %+v: want author 17 and the marker", n)
	}
	stored, err := h.st.Notes(t.Context(), scope, "4711")
	must(t, err)
	if len(stored) != 1 || stored[0].ExternalID != got.ResultID {
		t.Errorf("store's notes = %+v, want the PSA's answer at once", stored)
	}
}

func TestRefusedBeforeTheOutbox(t *testing.T) {
	tests := []struct {
		name      string
		mutate    func(*config.Config)
		req       Request
		wantIs    error
		wantField string
		wantText  string
	}{
		{name: "unmapped author", req: note("4711", "eve@acme-msp.com", "hi"), wantIs: ErrUnmapped,
			wantText: "author: eve@acme-msp.com: no helpdesk user is mapped to this Horizon user"},
		{name: "inactive author", req: note("4711", "old@acme-msp.com", "hi"), wantField: "author", wantText: "who is inactive"},
		{name: "disabled", mutate: func(c *config.Config) { c.Writeback.Enabled = false }, req: note("4711", "jane.doe@acme-msp.com", "hi"), wantIs: ErrDisabled},
		{name: "no section", mutate: func(c *config.Config) { c.Writeback = nil }, req: note("4711", "jane.doe@acme-msp.com", "hi"), wantIs: ErrDisabled},
		{name: "empty note", req: note("4711", "jane.doe@acme-msp.com", " "), wantField: "text"},
		{name: "unknown status names the board's statuses",
			req:       Request{Op: store.OpUpdateTicket, TicketID: "4711", Author: "jane.doe@acme-msp.com", Update: &UpdateTicket{Status: "Done"}},
			wantField: "status", wantText: `unknown status "Done" on board Service Desk; valid: New, In Progress`},
		{name: "status of another board",
			req:       Request{Op: store.OpUpdateTicket, TicketID: "4712", Author: "jane.doe@acme-msp.com", Update: &UpdateTicket{Status: "In Progress"}},
			wantField: "status", wantText: "on board Projects; valid: Planning"},
		{name: "unmapped assignee",
			req:    Request{Op: store.OpUpdateTicket, TicketID: "4711", Author: "jane.doe@acme-msp.com", Update: &UpdateTicket{Assignee: "eve@acme-msp.com"}},
			wantIs: ErrUnmapped},
		{name: "inactive assignee",
			req:       Request{Op: store.OpUpdateTicket, TicketID: "4711", Author: "jane.doe@acme-msp.com", Update: &UpdateTicket{Assignee: "old@acme-msp.com"}},
			wantField: "assignee", wantText: "inactive"},
		{name: "ticket not in the store",
			req:    Request{Op: store.OpUpdateTicket, TicketID: "999", Author: "jane.doe@acme-msp.com", Update: &UpdateTicket{Status: "New"}},
			wantIs: ErrUnknownTicket},
		{name: "no hours", req: Request{Op: store.OpAddTime, TicketID: "4711", Author: "jane.doe@acme-msp.com", Time: &AddTime{}}, wantField: "hours"},
		{name: "create without summary", req: Request{Op: store.OpCreateTicket, Author: "jane.doe@acme-msp.com", Create: &CreateTicket{}}, wantField: "summary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mutate []func(*config.Config)
			if tt.mutate != nil {
				mutate = append(mutate, tt.mutate)
			}
			h := newHarness(t, mutate...)
			_, _, err := h.e.Enqueue(t.Context(), tt.req)
			if err == nil {
				t.Fatal("accepted")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v, want %v", err, tt.wantIs)
			}
			var inv *InvalidError
			if tt.wantField != "" && (!errors.As(err, &inv) || inv.Field != tt.wantField) {
				t.Errorf("error %v, want an invalid %s", err, tt.wantField)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q, want it to say %q", err, tt.wantText)
			}
			ws, err := h.st.Writes(t.Context(), scope, store.WriteFilter{})
			must(t, err)
			if len(ws) != 0 {
				t.Errorf("a refused request left %d writes in the outbox", len(ws))
			}
		})
	}
}

func TestUnmappedAuthorAsAPIUser(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Writeback.UnmappedAuthor = config.UnmappedAuthorAPIUser })
	h.psa.apiUser = &helpdesk.Member{ExternalID: "1", Name: "Horizon API"}
	w := h.enqueue(note("4711", "eve@acme-msp.com", "From Eve"))
	h.step()
	got := h.write(w.ID)
	if got.State != store.WriteDone || got.MemberID != "" || !strings.Contains(got.Answer, "as Horizon's API user for eve@acme-msp.com") {
		t.Fatalf("write %+v", got)
	}
	if a := h.psa.notes["4711"][0].AuthorID; a != "1" {
		t.Errorf("note author %q, want the API user 1", a)
	}
}

func TestUpdateResolvesAndStoresAnswer(t *testing.T) {
	h := newHarness(t)
	w := h.enqueue(Request{Op: store.OpUpdateTicket, TicketID: "4711", Author: "jane.doe@acme-msp.com",
		Update: &UpdateTicket{Status: "in progress", Assignee: "bob.smith@acme-msp.com"}})
	h.step()
	got := h.write(w.ID)
	if got.State != store.WriteDone || got.Answer != "ticket 4711 updated as Jane Doe: status In Progress, assignee bob.smith@acme-msp.com" {
		t.Fatalf("write %+v", got)
	}
	if u := h.psa.updates[0]; u.StatusID != "11" || u.AssigneeID != "18" || u.MemberID != "17" {
		t.Errorf("PSA update %+v", u)
	}
	tk, err := h.st.Ticket(t.Context(), scope, "4711")
	must(t, err)
	if tk.Status.ID != "11" || tk.AssigneeID != "18" {
		t.Errorf("store's ticket %+v: want the PSA's answer at once", tk)
	}
}

func TestCreateTakesDefaults(t *testing.T) {
	h := newHarness(t)
	w := h.enqueue(Request{Op: store.OpCreateTicket, Author: "jane.doe@acme-msp.com", Create: &CreateTicket{Summary: "VPN down"}})
	h.step()
	got := h.write(w.ID)
	if got.State != store.WriteDone {
		t.Fatalf("write %+v", got)
	}
	tk := h.psa.tickets[got.ResultID]
	if tk.Queue.ID != "1" || tk.Status.ID != "10" || tk.Priority.ID != "3" {
		t.Errorf("created %+v: want the defaults (queue 1, status 10, priority 3)", tk)
	}
	if _, err := h.st.Ticket(t.Context(), scope, got.ResultID); err != nil {
		t.Errorf("created ticket not in the store at once: %v", err)
	}
}

func TestIdempotencyKey(t *testing.T) {
	h := newHarness(t)
	r := note("4711", "jane.doe@acme-msp.com", "once")
	r.IdempotencyKey = "k-1"
	first := h.enqueue(r)
	again, created, err := h.e.Enqueue(t.Context(), r)
	must(t, err)
	if created || again.ID != first.ID {
		t.Fatalf("repeat: created %v, id %d; want the first write %d", created, again.ID, first.ID)
	}
	// The author's mapping is removed: the repeat still answers the first write.
	must(t, h.st.DeleteUserMapping(t.Context(), scope, "17"))
	again, created, err = h.e.Enqueue(t.Context(), r)
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("repeat after the mapping changed: %v, created %v, id %d", err, created, again.ID)
	}
	r.Note = &AddNote{Text: "twice"}
	if _, _, err := h.e.Enqueue(t.Context(), r); !errors.Is(err, store.ErrIdempotencyConflict) {
		t.Fatalf("key reused for another note: %v", err)
	}
}

func TestRetriesAndRefusals(t *testing.T) {
	rate := &helpdesk.Error{Kind: helpdesk.ErrRateLimited, Status: 429, RetryAfter: 30 * time.Second}
	unavailable := &helpdesk.Error{Kind: helpdesk.ErrTransient, Status: 503, Message: "maintenance"}
	refused := &helpdesk.Error{Kind: helpdesk.ErrInvalid, Status: 400, Message: "status is not valid for this board"}
	gone := &helpdesk.Error{Kind: helpdesk.ErrNotFound, Status: 404, Message: "ticket not found"}
	t.Run("429 waits at least Retry-After, then delivers", func(t *testing.T) {
		h := newHarness(t)
		h.psa.faults = []error{rate}
		w := h.enqueue(note("4711", "jane.doe@acme-msp.com", "x"))
		h.step()
		got := h.write(w.ID)
		if got.State != store.WritePending || got.Uncertain || got.NextAttempt.Sub(h.now) != 30*time.Second {
			t.Fatalf("after 429: %+v", got)
		}
		h.now = h.now.Add(30 * time.Second)
		h.step()
		if got := h.write(w.ID); got.State != store.WriteDone || h.psa.noteCount("4711") != 1 {
			t.Fatalf("after retry: %+v, %d notes", got, h.psa.noteCount("4711"))
		}
	})
	t.Run("refusal is final with valid statuses", func(t *testing.T) {
		h := newHarness(t)
		h.psa.faults = []error{refused}
		w := h.enqueue(Request{Op: store.OpUpdateTicket, TicketID: "4711", Author: "jane.doe@acme-msp.com", Update: &UpdateTicket{Status: "New"}})
		h.step()
		got := h.write(w.ID)
		if got.State != store.WriteFailed || !strings.Contains(got.Answer, "status is not valid for this board") ||
			!strings.HasSuffix(got.Answer, "valid statuses on board Service Desk: New, In Progress") {
			t.Fatalf("write %+v", got)
		}
	})
	t.Run("deleted ticket", func(t *testing.T) {
		h := newHarness(t)
		h.psa.faults = []error{gone}
		w := h.enqueue(note("4711", "jane.doe@acme-msp.com", "x"))
		h.step()
		if got := h.write(w.ID); got.State != store.WriteFailed || !strings.HasPrefix(got.Answer, "ticket 4711 does not exist in connectwise") {
			t.Fatalf("write %+v", got)
		}
	})
	t.Run("dead after maxAttempts", func(t *testing.T) {
		h := newHarness(t, func(c *config.Config) { c.Writeback.MaxAttempts = 2 })
		h.psa.faults = []error{rate, rate, rate}
		w := h.enqueue(note("4711", "jane.doe@acme-msp.com", "x"))
		h.step()
		h.now = h.now.Add(time.Minute)
		h.step()
		if got := h.write(w.ID); got.State != store.WriteDead || !strings.HasPrefix(got.Answer, "gave up after 2 attempts") {
			t.Fatalf("write %+v", got)
		}
		h.now = h.now.Add(time.Hour)
		if ws := h.step(); len(ws) != 0 {
			t.Fatal("a dead write was claimed again")
		}
	})
	t.Run("5xx on a create is uncertain: found by marker, not sent twice", func(t *testing.T) {
		h := newHarness(t)
		h.psa.loseAnswers = 1
		w := h.enqueue(note("4711", "jane.doe@acme-msp.com", "x"))
		h.step()
		if got := h.write(w.ID); got.State != store.WritePending || !got.Uncertain {
			t.Fatalf("after a lost answer: %+v", got)
		}
		h.now = h.now.Add(time.Minute)
		h.step()
		got := h.write(w.ID)
		if got.State != store.WriteDone || !strings.Contains(got.Answer, "found by its marker") || h.psa.noteCount("4711") != 1 {
			t.Fatalf("after retry: %+v; %d notes, want 1", got, h.psa.noteCount("4711"))
		}
	})
	t.Run("5xx before anything applied: sent again after the search", func(t *testing.T) {
		h := newHarness(t)
		h.psa.faults = []error{unavailable}
		w := h.enqueue(Request{Op: store.OpAddTime, TicketID: "4711", Author: "jane.doe@acme-msp.com", Time: &AddTime{Hours: 1.5}})
		h.step()
		h.now = h.now.Add(time.Minute)
		h.step()
		if got := h.write(w.ID); got.State != store.WriteDone || len(h.psa.entries) != 1 || h.psa.entries[0].MemberID != "17" {
			t.Fatalf("write %+v; entries %+v", got, h.psa.entries)
		}
	})
	t.Run("lost answer and no search: unknown, never resent", func(t *testing.T) {
		h := newHarness(t)
		h.psa.loseAnswers, h.psa.noSearch = 1, true
		w := h.enqueue(note("4711", "jane.doe@acme-msp.com", "x"))
		h.step()
		h.now = h.now.Add(time.Minute)
		h.step()
		got := h.write(w.ID)
		if got.State != store.WriteUnknown || !strings.Contains(got.Answer, "cannot be searched for the write's marker") {
			t.Fatalf("write %+v", got)
		}
		h.now = h.now.Add(time.Hour)
		h.step()
		if n := h.psa.noteCount("4711"); n != 1 {
			t.Fatalf("%d notes, want 1", n)
		}
	})
}

// TestCrashBetweenAnswerAndOutbox: a worker that dies after the PSA
// applied the note but before the outcome was stored leaves its claim to
// expire; the next claim is uncertain, finds the note and adds none.
func TestCrashBetweenAnswerAndOutbox(t *testing.T) {
	h := newHarness(t)
	w := h.enqueue(note("4711", "jane.doe@acme-msp.com", "Called"))
	ws, err := h.st.ClaimWrites(t.Context(), scope, 1, time.Minute, h.now)
	must(t, err)
	if _, err := h.e.send(t.Context(), ws[0], mustPayload(t, ws[0])); err != nil {
		t.Fatal(err)
	} // ...and the process dies here.
	h.now = h.now.Add(time.Minute)
	h.step()
	got := h.write(w.ID)
	if got.State != store.WriteDone || got.Attempts != 2 || h.psa.noteCount("4711") != 1 {
		t.Fatalf("write %+v; %d notes, want exactly 1", got, h.psa.noteCount("4711"))
	}
}

func TestSuspendHoldsWrites(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Suspend = true })
	h.e.o.PollInterval = 5 * time.Millisecond
	w := h.enqueue(note("4711", "jane.doe@acme-msp.com", "held"))
	ctx, cancel := contextWithCancel(t)
	done := make(chan struct{})
	go func() { h.e.Run(ctx); close(done) }()
	// Several polls pass without a claim.
	for range 5 {
		h.e.Wake()
		waitFor(t, "a poll", func() bool { return len(h.e.wake) == 0 })
	}
	cancel()
	<-done
	if got := h.write(w.ID); got.State != store.WritePending || got.Attempts != 0 {
		t.Fatalf("suspended: %+v", got)
	}
	resumed := *h.cfg
	resumed.Suspend = false
	h.e.o.Config = &resumed
	ctx, cancel = contextWithCancel(t)
	defer cancel()
	go h.e.Run(ctx)
	waitFor(t, "delivery after resume", func() bool { return h.write(w.ID).State == store.WriteDone })
}

// TestOrderPerTicketUnderConcurrency: with four workers, writes to one
// ticket reach the PSA one at a time and in the order they were asked for,
// while different tickets go out side by side.
func TestOrderPerTicketUnderConcurrency(t *testing.T) {
	h := newHarness(t)
	h.e.o.Now = time.Now
	h.psa.delay = 2 * time.Millisecond
	tickets := []string{"4711", "4712"}
	const perTicket = 15
	for i := range perTicket {
		for _, tk := range tickets {
			h.enqueue(note(tk, "jane.doe@acme-msp.com", fmt.Sprintf("%s-%02d", tk, i)))
		}
	}
	ctx, cancel := contextWithCancel(t)
	defer cancel()
	go h.e.Run(ctx)
	waitFor(t, "all delivered", func() bool {
		st, err := h.st.WriteStats(t.Context(), scope)
		must(t, err)
		return st.ByState[store.WriteDone] == perTicket*len(tickets)
	})
	h.psa.mu.Lock()
	defer h.psa.mu.Unlock()
	if len(h.psa.overlap) > 0 {
		t.Errorf("tickets with two writes in flight at once: %v", h.psa.overlap)
	}
	for _, tk := range tickets {
		for i, n := range h.psa.notes[tk] {
			if want := fmt.Sprintf("%s-%02d", tk, i); !strings.HasPrefix(n.Text, want) {
				t.Fatalf("note %d of ticket %s is %q, want %s", i, tk, n.Text, want)
			}
		}
	}
}

func TestEchoOf(t *testing.T) {
	h := newHarness(t)
	if r := h.e.EchoOf(t.Context(), "4711"); r != "" {
		t.Fatalf("no write yet: %q", r)
	}
	w := h.enqueue(note("4711", "jane.doe@acme-msp.com", "x"))
	h.step()
	want := fmt.Sprintf("echo of Horizon's write %d (note.create)", w.ID)
	if r := h.e.EchoOf(t.Context(), "4711"); r != want {
		t.Errorf("just written: %q, want %q", r, want)
	}
	if r := h.e.EchoOf(t.Context(), "4712"); r != "" {
		t.Errorf("another ticket: %q", r)
	}
	h.now = h.now.Add(EchoWindow + time.Second)
	if r := h.e.EchoOf(t.Context(), "4711"); r != "" {
		t.Errorf("after the window: %q", r)
	}
}
