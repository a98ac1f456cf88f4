package callback_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	zdemu "github.com/horizon/reconciler/internal/helpdesk/sandbox/zohodesk"
	"github.com/horizon/reconciler/internal/store"
)

// TestSandboxNoteCallback: with the notes entity enabled, a note a member
// adds in each emulated PSA reaches Horizon as the PSA's webhook, and the
// one-ticket sync it triggers stores the note with its author.
func TestSandboxNoteCallback(t *testing.T) {
	for _, name := range providers {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, name)
			r.entities = []helpdesk.Entity{helpdesk.EntityTickets, helpdesk.EntityNotes}
			r.startDispatcher()
			tid, id := r.firstTicket(2)
			var by int64
			for _, m := range r.psa.world.Members() {
				if m.Active && !m.APIUser {
					by = m.ID
					break
				}
			}
			r.clk.Advance(time.Minute)
			n, err := r.psa.world.AddNote(sandbox.Note{TicketID: tid, Text: "Called the client back"}, sandbox.UI(by))
			if err != nil {
				t.Fatal(err)
			}
			noteID, author := wireID(name, n.ID), wireID(name, by)
			var got helpdesk.Note
			eventually(t, "the note stored", func() bool {
				ns, err := r.st.Notes(context.Background(), r.scope, id)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range ns {
					if s.ExternalID == noteID {
						got = s
						return true
					}
				}
				return false
			})
			if got.AuthorID != author || got.Text == "" || got.CreatedAt.IsZero() {
				t.Errorf("stored note %+v, want author %s with text and time", got, author)
			}
			// A one-ticket run is recorded once it has ended, just after
			// the notes it stored.
			eventually(t, "the callback's notes run recorded", func() bool {
				runs, err := r.st.SyncRuns(context.Background(), r.scope, store.SyncRunFilter{Entity: helpdesk.EntityNotes,
					Trigger: store.TriggerCallback})
				if err != nil {
					t.Fatal(err)
				}
				return len(runs) > 0 && runs[0].TicketID == id
			})
		})
	}
}

func wireID(provider string, id int64) string {
	if provider == helpdesk.ZohoDesk {
		return zdemu.WireID(id)
	}
	return strconv.FormatInt(id, 10)
}
