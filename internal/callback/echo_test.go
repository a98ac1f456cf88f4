package callback

import (
	"context"
	"strings"
	"testing"
)

// TestDispatcherEcho: a callback about a ticket Horizon just wrote is
// marked processed with the echo's reason and fetches nothing; others
// are fetched as usual.
func TestDispatcherEcho(t *testing.T) {
	st := newMemStore()
	seed(t, st, cb("ticket.updated", "1"), cb("note.created", "n-5", "1"), cb("ticket.updated", "2"))
	f := &fakeFetcher{}
	d := newTestDispatcher(t, st, f, func(c *DispatcherConfig) {
		c.Echo = func(_ context.Context, id string) string {
			if id == "1" {
				return "echo of Horizon's write 7 (note.create)"
			}
			return ""
		}
	})
	if _, err := d.pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.fetched(), ","); got != "2" {
		t.Errorf("fetched %s, want only 2", got)
	}
	for _, r := range st.all() {
		want := ""
		if r.ExternalIDs[len(r.ExternalIDs)-1] == "1" {
			want = "echo of Horizon's write 7 (note.create)"
		}
		if r.Result != "processed" || r.Reason != want {
			t.Errorf("%s %v: %s %q, want processed %q", r.Event, r.ExternalIDs, r.Result, r.Reason, want)
		}
	}
}
