package writetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

func testCreateTicket(t *testing.T, s *suite) {
	_, q, _ := s.ticket()
	co := s.World.Companies()[0]
	var contact sandbox.Contact
	for _, c := range s.World.Contacts() {
		if c.CompanyID == co.ID && c.Active {
			contact = c
			break
		}
	}
	st := openStatuses(q)[1]
	prio := s.World.Priorities()[0]
	typ := q.Types[0]
	m := marker(t, "ticket")
	since := s.World.Now().Add(-time.Second)
	nt := helpdesk.NewTicket{Summary: "Printer offline", Description: "Reported from Horizon.",
		CompanyID: s.ID(co.ID), QueueID: s.ID(q.ID), StatusID: s.pick(helpdesk.PicklistStatus, q.ID, st.Name),
		PriorityID: s.pick(helpdesk.PicklistPriority, 0, prio.Name), TypeID: s.pick(helpdesk.PicklistType, q.ID, typ.Name),
		Marker: m}
	if contact.ID != 0 {
		nt.ContactID = s.ID(contact.ID)
	}
	got, err := s.Provider.CreateTicket(ctx(t), nt)
	if err != nil {
		t.Fatal(err)
	}
	made := s.ticketsWith(m)
	if len(made) != 1 || s.ID(made[0].ID) != got.ExternalID {
		t.Fatalf("tickets carrying the marker = %+v, want the one created (%s)", made, got.ExternalID)
	}
	w := made[0]
	if w.Summary != nt.Summary || w.QueueID != q.ID || w.StatusID != st.ID || w.PriorityID != prio.ID ||
		w.TypeID != typ.ID || w.CompanyID != co.ID || (contact.ID != 0 && w.ContactID != contact.ID) ||
		!strings.Contains(w.Description, "Reported from Horizon.") {
		t.Errorf("the PSA holds %+v", w)
	}
	found, ok, err := s.Provider.FindTicket(ctx(t), m, since)
	if err != nil || !ok || found.ExternalID != got.ExternalID {
		t.Errorf("FindTicket = %+v, %v, %v; want the created ticket", found, ok, err)
	}
	if _, ok, err := s.Provider.FindTicket(ctx(t), marker(t, "none"), since); ok || err != nil {
		t.Errorf("FindTicket of an unused marker = %v, %v; want absent", ok, err)
	}
}

func testUpdateTicket(t *testing.T, s *suite) {
	tk, q, member := s.ticket()
	var st sandbox.Status
	for _, x := range openStatuses(q) {
		if x.ID != tk.StatusID {
			st = x
		}
	}
	var prio sandbox.Value
	for _, p := range s.World.Priorities() {
		if p.ID != tk.PriorityID && !p.Inactive {
			prio = p
		}
	}
	typ := q.Types[len(q.Types)-1]
	actor := s.World.Members()[0]
	for _, m := range s.World.Members() {
		if m.Active && !m.APIUser && m.ID != member.ID {
			actor = m
		}
	}
	u := helpdesk.TicketUpdate{StatusID: s.pick(helpdesk.PicklistStatus, q.ID, st.Name), AssigneeID: s.ID(member.ID),
		PriorityID: s.pick(helpdesk.PicklistPriority, 0, prio.Name), TypeID: s.pick(helpdesk.PicklistType, q.ID, typ.Name),
		MemberID: s.ID(actor.ID)}
	got, err := s.Provider.UpdateTicket(ctx(t), s.ID(tk.ID), u)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := s.World.Ticket(tk.ID)
	if w.StatusID != st.ID || w.AssigneeID != member.ID || w.PriorityID != prio.ID || w.TypeID != typ.ID {
		t.Errorf("the PSA holds %+v, want status %d, assignee %d, priority %d, type %d", w, st.ID, member.ID, prio.ID, typ.ID)
	}
	if got.AssigneeID != s.ID(member.ID) || got.Status.ID != u.StatusID {
		t.Errorf("UpdateTicket answered %+v, want the ticket as changed", got)
	}
	wantBy := s.World.APIUser().ID
	if s.ActsAsMember {
		wantBy = actor.ID
	}
	if w.UpdatedBy != wantBy {
		t.Errorf("change made by %d, want %d (acting member supported: %v)", w.UpdatedBy, wantBy, s.ActsAsMember)
	}
}

func testAddNote(t *testing.T, s *suite) {
	tk, _, member := s.ticket()
	for _, internal := range []bool{true, false} {
		m := marker(t, "note")
		got, err := s.Provider.AddNote(ctx(t), s.ID(tk.ID), helpdesk.NewNote{Text: "Called the client.\nThey will reboot.",
			Internal: internal, MemberID: s.ID(member.ID), AuthorName: "Jane Doe", Marker: m})
		if err != nil {
			t.Fatal(err)
		}
		notes := s.notesWith(tk.ID, m)
		if len(notes) != 1 || s.ID(notes[0].ID) != got.ExternalID {
			t.Fatalf("notes carrying the marker = %+v, want the one added (%s)", notes, got.ExternalID)
		}
		n := notes[0]
		if n.Internal != internal || got.Internal != internal || !strings.Contains(n.Text, "They will reboot.") {
			t.Errorf("note = %+v (internal %v)", n, internal)
		}
		if s.NoteAuthor && n.AuthorID != member.ID {
			t.Errorf("note author = %d, want the member %d", n.AuthorID, member.ID)
		}
		if !s.NoteAuthor && !strings.Contains(n.Text, "Jane Doe") {
			t.Errorf("note text %q lacks the author's name (the PSA cannot attribute notes)", n.Text)
		}
		found, ok, err := s.Provider.FindNote(ctx(t), s.ID(tk.ID), m)
		if err != nil || !ok || found.ExternalID != got.ExternalID {
			t.Errorf("FindNote = %+v, %v, %v; want the note added", found, ok, err)
		}
	}
	if _, ok, err := s.Provider.FindNote(ctx(t), s.ID(tk.ID), marker(t, "none")); ok || err != nil {
		t.Errorf("FindNote of an unused marker = %v, %v; want absent", ok, err)
	}
}

func testAddTimeEntry(t *testing.T, s *suite) {
	tk, _, member := s.ticket()
	m := marker(t, "time")
	start := s.World.Now().Add(-3 * time.Hour).Truncate(time.Minute)
	got, err := s.Provider.AddTimeEntry(ctx(t), helpdesk.NewTimeEntry{TicketID: s.ID(tk.ID), MemberID: s.ID(member.ID),
		Start: start, Hours: 1.5, Notes: "Replaced the toner.", Billable: true, Marker: m})
	if err != nil {
		t.Fatal(err)
	}
	entries := s.timeWith(tk.ID, m)
	if len(entries) != 1 || s.ID(entries[0].ID) != got.ExternalID {
		t.Fatalf("time entries carrying the marker = %+v, want the one added (%s)", entries, got.ExternalID)
	}
	te := entries[0]
	if te.MemberID != member.ID || te.Hours != 1.5 || !te.Start.Equal(start) || !strings.Contains(te.Notes, "Replaced the toner.") {
		t.Errorf("time entry = %+v, want member %d, 1.5 h from %s", te, member.ID, start)
	}
	found, ok, err := s.Provider.FindTimeEntry(ctx(t), s.ID(tk.ID), m)
	if err != nil || !ok || found.ExternalID != got.ExternalID {
		t.Errorf("FindTimeEntry = %+v, %v, %v; want the entry added", found, ok, err)
	}
	if _, ok, err := s.Provider.FindTimeEntry(ctx(t), s.ID(tk.ID), marker(t, "none")); ok || err != nil {
		t.Errorf("FindTimeEntry of an unused marker = %v, %v; want absent", ok, err)
	}
}

func testUnknownStatus(t *testing.T, s *suite) {
	tk, q, _ := s.ticket()
	_, err := s.Provider.UpdateTicket(ctx(t), s.ID(tk.ID), helpdesk.TicketUpdate{StatusID: s.unknownStatus(q)})
	final(t, "unknown status", err, helpdesk.ErrInvalid)
	if w, _ := s.World.Ticket(tk.ID); w.StatusID != tk.StatusID {
		t.Errorf("status changed to %d by a refused write", w.StatusID)
	}
}

func testInactiveAssignee(t *testing.T, s *suite) {
	tk, _, member := s.ticket()
	if _, err := s.World.UpdateMember(member.ID, sandbox.UI(0), func(m *sandbox.Member) { m.Active = false }); err != nil {
		t.Fatal(err)
	}
	_, err := s.Provider.UpdateTicket(ctx(t), s.ID(tk.ID), helpdesk.TicketUpdate{AssigneeID: s.ID(member.ID)})
	final(t, "inactive assignee", err, helpdesk.ErrInvalid, helpdesk.ErrNotFound)
	if w, _ := s.World.Ticket(tk.ID); w.AssigneeID == member.ID {
		t.Error("an inactive member was assigned")
	}
	m := marker(t, "inactive")
	_, err = s.Provider.AddTimeEntry(ctx(t), helpdesk.NewTimeEntry{TicketID: s.ID(tk.ID), MemberID: s.ID(member.ID),
		Start: s.World.Now().Add(-time.Hour), Hours: 0.5, Notes: "x", Marker: m})
	final(t, "time for an inactive member", err, helpdesk.ErrInvalid, helpdesk.ErrNotFound)
	if n := len(s.timeWith(tk.ID, m)); n != 0 {
		t.Errorf("time logged for an inactive member (%d entries)", n)
	}
}

func testDeletedTicket(t *testing.T, s *suite) {
	tk, q, member := s.ticket()
	if err := s.World.DeleteTicket(tk.ID, sandbox.UI(member.ID)); err != nil {
		t.Fatal(err)
	}
	id := s.ID(tk.ID)
	_, err := s.Provider.UpdateTicket(ctx(t), id, helpdesk.TicketUpdate{StatusID: s.pick(helpdesk.PicklistStatus, q.ID, openStatuses(q)[0].Name)})
	final(t, "update of a deleted ticket", err, helpdesk.ErrNotFound, helpdesk.ErrInvalid)
	_, err = s.Provider.AddNote(ctx(t), id, helpdesk.NewNote{Text: "x", AuthorName: "Jane Doe", Marker: marker(t, "gone")})
	final(t, "note on a deleted ticket", err, helpdesk.ErrNotFound, helpdesk.ErrInvalid)
	_, err = s.Provider.AddTimeEntry(ctx(t), helpdesk.NewTimeEntry{TicketID: id, MemberID: s.ID(member.ID),
		Start: s.World.Now().Add(-time.Hour), Hours: 0.5, Marker: marker(t, "gone")})
	final(t, "time on a deleted ticket", err, helpdesk.ErrNotFound, helpdesk.ErrInvalid)
}

func testRateLimited(t *testing.T, s *suite) {
	tk, _, _ := s.ticket()
	m := marker(t, "rl")
	s.Faults.SetWrites(sandbox.WriteFaultSettings{RateLimit: 1})
	if _, err := s.Provider.AddNote(ctx(t), s.ID(tk.ID), helpdesk.NewNote{Text: "after a 429", AuthorName: "Jane Doe", Marker: m}); err != nil {
		t.Fatalf("a 429 on a create is retried by the client: %v", err)
	}
	if n := len(s.notesWith(tk.ID, m)); n != 1 {
		t.Errorf("notes = %d, want exactly 1", n)
	}
	if left := s.Faults.Writes().RateLimit; left != 0 {
		t.Errorf("the 429 was not met (%d left)", left)
	}
}

func testServerError(t *testing.T, s *suite) {
	tk, _, _ := s.ticket()
	m := marker(t, "5xx")
	note := helpdesk.NewNote{Text: "after a 5xx", AuthorName: "Jane Doe", Marker: m}
	s.Faults.SetWrites(sandbox.WriteFaultSettings{ServerError: 1})
	_, err := s.Provider.AddNote(ctx(t), s.ID(tk.ID), note)
	unknown(t, "5xx on a create", err)
	if _, ok, err := s.Provider.FindNote(ctx(t), s.ID(tk.ID), m); ok || err != nil {
		t.Fatalf("FindNote after a refused create = %v, %v; want absent", ok, err)
	}
	if _, err := s.Provider.AddNote(ctx(t), s.ID(tk.ID), note); err != nil {
		t.Fatal(err)
	}
	if n := len(s.notesWith(tk.ID, m)); n != 1 {
		t.Errorf("notes = %d, want exactly 1", n)
	}
	// An update is idempotent: the client retries a 5xx itself.
	_, q, _ := s.ticket()
	s.Faults.SetWrites(sandbox.WriteFaultSettings{ServerError: 1})
	st := openStatuses(q)[0]
	if _, err := s.Provider.UpdateTicket(ctx(t), s.ID(tk.ID), helpdesk.TicketUpdate{StatusID: s.pick(helpdesk.PicklistStatus, q.ID, st.Name)}); err != nil && !helpdesk.Retryable(err) {
		t.Errorf("update after a 5xx: %v", err)
	}
}

// testLostAnswer is the write applied with its answer lost: the client
// must report the outcome as unknown (not as failed, which would lose
// nothing but mislead, nor retry by itself, which would duplicate), and
// Find must then see exactly one object.
func testLostAnswer(t *testing.T, s *suite) {
	tk, q, member := s.ticket()
	id := s.ID(tk.ID)

	m := marker(t, "lostnote")
	s.Faults.SetWrites(sandbox.WriteFaultSettings{LoseAnswer: 1})
	_, err := s.Provider.AddNote(ctx(t), id, helpdesk.NewNote{Text: "lost answer", AuthorName: "Jane Doe", Marker: m})
	unknown(t, "note with a lost answer", err)
	if _, ok, err := s.Provider.FindNote(ctx(t), id, m); !ok || err != nil {
		t.Errorf("FindNote after a lost answer = %v, %v; want found", ok, err)
	}
	if n := len(s.notesWith(tk.ID, m)); n != 1 {
		t.Errorf("notes = %d, want exactly 1", n)
	}

	m = marker(t, "losttime")
	s.Faults.SetWrites(sandbox.WriteFaultSettings{LoseAnswer: 1})
	_, err = s.Provider.AddTimeEntry(ctx(t), helpdesk.NewTimeEntry{TicketID: id, MemberID: s.ID(member.ID),
		Start: s.World.Now().Add(-time.Hour).Truncate(time.Minute), Hours: 0.25, Notes: "lost answer", Marker: m})
	unknown(t, "time entry with a lost answer", err)
	if _, ok, err := s.Provider.FindTimeEntry(ctx(t), id, m); !ok || err != nil {
		t.Errorf("FindTimeEntry after a lost answer = %v, %v; want found", ok, err)
	}
	if n := len(s.timeWith(tk.ID, m)); n != 1 {
		t.Errorf("time entries = %d, want exactly 1", n)
	}

	m = marker(t, "lostticket")
	since := s.World.Now().Add(-time.Second)
	s.Faults.SetWrites(sandbox.WriteFaultSettings{LoseAnswer: 1})
	_, err = s.Provider.CreateTicket(ctx(t), helpdesk.NewTicket{Summary: "Lost answer", Description: "x",
		CompanyID: s.ID(s.World.Companies()[0].ID), QueueID: s.ID(q.ID), Marker: m})
	unknown(t, "ticket with a lost answer", err)
	if _, ok, err := s.Provider.FindTicket(ctx(t), m, since); !ok || err != nil {
		t.Errorf("FindTicket after a lost answer = %v, %v; want found", ok, err)
	}
	if n := len(s.ticketsWith(m)); n != 1 {
		t.Errorf("tickets = %d, want exactly 1", n)
	}
}

// testSlowWrite is a write the PSA applies but answers too late: the
// caller gives up, and Find then sees the one note.
func testSlowWrite(t *testing.T, s *suite) {
	tk, _, _ := s.ticket()
	m := marker(t, "slow")
	s.Faults.SetWrites(sandbox.WriteFaultSettings{Latency: 5 * time.Second})
	short, cancel := context.WithTimeout(ctx(t), time.Second)
	_, err := s.Provider.AddNote(short, s.ID(tk.ID), helpdesk.NewNote{Text: "slow", AuthorName: "Jane Doe", Marker: m})
	cancel()
	s.Faults.SetWrites(sandbox.WriteFaultSettings{})
	if err == nil {
		t.Fatal("a write answered after the caller's deadline succeeded")
	}
	if _, ok, err := s.Provider.FindNote(ctx(t), s.ID(tk.ID), m); !ok || err != nil {
		t.Errorf("FindNote after a timed-out write = %v, %v; want found", ok, err)
	}
	if n := len(s.notesWith(tk.ID, m)); n != 1 {
		t.Errorf("notes = %d, want exactly 1", n)
	}
}

// testFindFails: a read that fails is an error, never "absent".
func testFindFails(t *testing.T, s *suite) {
	tk, _, _ := s.ticket()
	s.Faults.Set(sandbox.FaultSettings{ErrorRate: 1})
	defer s.Faults.Set(sandbox.FaultSettings{})
	m := marker(t, "x")
	if _, ok, err := s.Provider.FindNote(ctx(t), s.ID(tk.ID), m); err == nil || ok {
		t.Errorf("FindNote while the PSA fails = %v, %v; want an error", ok, err)
	}
	if _, ok, err := s.Provider.FindTimeEntry(ctx(t), s.ID(tk.ID), m); err == nil || ok {
		t.Errorf("FindTimeEntry while the PSA fails = %v, %v; want an error", ok, err)
	}
	if _, ok, err := s.Provider.FindTicket(ctx(t), m, s.World.Now().Add(-time.Hour)); err == nil || ok {
		t.Errorf("FindTicket while the PSA fails = %v, %v; want an error", ok, err)
	}
}

func testBadMarker(t *testing.T, s *suite) {
	tk, _, _ := s.ticket()
	before := len(s.World.Notes(tk.ID))
	_, err := s.Provider.AddNote(ctx(t), s.ID(tk.ID), helpdesk.NewNote{Text: "x", Marker: "has space"})
	if !errors.Is(err, helpdesk.ErrInvalid) {
		t.Errorf("bad marker: %v, want ErrInvalid", err)
	}
	if len(s.World.Notes(tk.ID)) != before {
		t.Error("a note with a bad marker was sent")
	}
	if _, _, err := s.Provider.FindNote(ctx(t), s.ID(tk.ID), ""); !errors.Is(err, helpdesk.ErrInvalid) {
		t.Errorf("FindNote without a marker: %v, want ErrInvalid", err)
	}
}
