package autotask_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// TestListingResumesAfterID lists tickets after the 25th: exactly the
// tickets after it in the full listing, as the emulator reads
// the filter id gt N.
func TestListingResumesAfterID(t *testing.T) {
	e := newEnv(t, envOpts{})
	all, _ := drain(t, e.client.Tickets(ctx(t), helpdesk.Query{PageSize: 10}))
	if len(all) < 40 {
		t.Fatalf("only %d tickets", len(all))
	}
	after := all[24].ExternalID
	rest, _ := drain(t, e.client.Tickets(ctx(t), helpdesk.Query{PageSize: 10, After: after}))
	if len(rest) != len(all)-25 {
		t.Fatalf("after %s: %d tickets, want %d", after, len(rest), len(all)-25)
	}
	// The full listing is in ascending id order: the same, less its first 25.
	if !slices.EqualFunc(rest, all[25:], func(a, b helpdesk.Ticket) bool { return a.ExternalID == b.ExternalID }) {
		t.Fatalf("after %s: %d tickets, want the %d after it in the full listing", after, len(rest), len(all)-25)
	}
	if !e.client.Resumable(helpdesk.EntityTimeEntries) || e.client.Resumable(helpdesk.EntityNotes) {
		t.Error("Resumable: want time entries, not notes")
	}
	for _, err := range e.client.Members(ctx(t), helpdesk.Query{After: "-"}) {
		if !errors.Is(err, helpdesk.ErrInvalid) {
			t.Fatalf("After %q: err = %v, want ErrInvalid", "-", err)
		}
		break
	}
}
