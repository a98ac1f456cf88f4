package autotask_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	"github.com/horizon/reconciler/internal/helpdesk/writetest"
)

func TestWriteback(t *testing.T) {
	writetest.Run(t, func(t *testing.T) writetest.Fixture {
		e := newEnv(t, envOpts{})
		return writetest.Fixture{Provider: e.client, World: e.world, Faults: e.faults,
			ID: func(id int64) string { return strconv.FormatInt(id, 10) }, ActsAsMember: true, NoteAuthor: true}
	})
}

// Impersonating an inactive resource is refused by Autotask; the refusal
// is final and names the resource.
func TestImpersonationRefused(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 20})
	tk := e.liveTickets()[0]
	m := e.world.Members()[2]
	if _, err := e.world.UpdateMember(m.ID, sandbox.UI(0), func(m *sandbox.Member) { m.Active = false }); err != nil {
		t.Fatal(err)
	}
	before := len(e.world.Notes(tk.ID))
	_, err := e.client.AddNote(ctx(t), strconv.FormatInt(tk.ID, 10), helpdesk.NewNote{Text: "x", MemberID: strconv.FormatInt(m.ID, 10), Marker: "hz-imp"})
	var he *helpdesk.Error
	if !errors.As(err, &he) || !errors.Is(err, helpdesk.ErrInvalid) || !strings.Contains(he.Message, strconv.FormatInt(m.ID, 10)) {
		t.Fatalf("err = %v, want ErrInvalid naming the resource", err)
	}
	if len(e.world.Notes(tk.ID)) != before {
		t.Error("the note was written anyway")
	}
}

// A write made as a member comes back as that member's webhook: Autotask
// records the impersonated resource as the person who made the change, so
// the API user's exclusion does not suppress it.
func TestImpersonatedWriteWebhook(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 20})
	secret := helpdesk.Secret("writeback-secret")
	rc := newReceiver(t, e.client, secret)
	registerAll(t, e, rc.srv.URL, secret)
	target := e.liveTickets()[2]
	member := e.world.Members()[3]
	n, err := e.client.AddNote(ctx(t), strconv.FormatInt(target.ID, 10), helpdesk.NewNote{Text: "from Horizon",
		MemberID: strconv.FormatInt(member.ID, 10), Marker: "hz-hook-1"})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := strconv.ParseInt(n.ExternalID, 10, 64)
	var ev helpdesk.CallbackEvent
	eventually(t, "note delivery", func() (ok bool) {
		ev, ok = rc.find(helpdesk.EntityNotes, id, helpdesk.ActionCreated)
		return ok
	})
	if ev.Actor != strconv.FormatInt(member.ID, 10) || ev.TicketID != strconv.FormatInt(target.ID, 10) {
		t.Errorf("event = %+v, want actor %d on ticket %d", ev, member.ID, target.ID)
	}
	if n.AuthorID != strconv.FormatInt(member.ID, 10) {
		t.Errorf("note author = %s, want %d", n.AuthorID, member.ID)
	}
}
