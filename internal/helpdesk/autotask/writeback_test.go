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
