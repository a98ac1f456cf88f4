package connectwise_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/connectwise"
)

// TestListingResumesAfterID lists tickets after the 25th in both paging
// modes: the listing holds exactly the tickets with a higher id, in
// the order of the full listing, as the emulator reads id > N.
func TestListingResumesAfterID(t *testing.T) {
	for _, mode := range []connectwise.Paging{connectwise.ForwardOnly, connectwise.Navigable} {
		t.Run(map[connectwise.Paging]string{connectwise.ForwardOnly: "forward-only", connectwise.Navigable: "navigable"}[mode], func(t *testing.T) {
			e := newEnv(t, envOpts{cfg: func(c *connectwise.Config) { c.Paging = mode }})
			all, _ := collectAll(t, e.client.Tickets(context.Background(), helpdesk.Query{PageSize: 10}))
			if len(all) < 40 {
				t.Fatalf("only %d tickets", len(all))
			}
			after := all[24].ExternalID
			rest, _ := collectAll(t, e.client.Tickets(context.Background(), helpdesk.Query{PageSize: 10, After: after}))
			if len(rest) != len(all)-25 {
				t.Fatalf("after %s: %d tickets, want %d", after, len(rest), len(all)-25)
			}
			// The full listing is in ascending id order: the same, less its first 25.
			if !slices.EqualFunc(rest, all[25:], func(a, b helpdesk.Ticket) bool { return a.ExternalID == b.ExternalID }) {
				t.Fatalf("after %s: %d tickets, want the %d after it in the full listing", after, len(rest), len(all)-25)
			}
			if !e.client.Resumable(helpdesk.EntityTickets) || e.client.Resumable(helpdesk.EntityNotes) {
				t.Error("Resumable: want tickets, not notes")
			}
		})
	}
}

// TestListingAfterNotAnID refuses a resume point that is not a record id.
func TestListingAfterNotAnID(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, err := range e.client.Tickets(context.Background(), helpdesk.Query{After: "12 OR 1=1"}) {
		if !errors.Is(err, helpdesk.ErrInvalid) {
			t.Fatalf("err = %v, want ErrInvalid", err)
		}
		return
	}
	t.Fatal("no error")
}
