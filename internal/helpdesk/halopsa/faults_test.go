package halopsa_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	haloemu "github.com/horizon/reconciler/internal/helpdesk/sandbox/halopsa"
)

func drain[T any](seq func(func([]T, error) bool)) ([]T, error) {
	var all []T
	for page, err := range seq {
		if err != nil {
			return all, err
		}
		all = append(all, page...)
	}
	return all, nil
}

// A 200 with an empty body, null, HTML or a cut-off page in the middle of
// a listing is never the end of the data: it is asked again, and when it
// stays broken the listing fails instead of ending early as if complete.
func TestListBodyFaults(t *testing.T) {
	for _, f := range []sandbox.BrokenBody{sandbox.BodyEmpty, sandbox.BodyNull, sandbox.BodyHTML, sandbox.BodyTruncated} {
		t.Run(string(f)+" persistent", func(t *testing.T) {
			e := newEnv(t, envOptions{tickets: 300})
			e.emu.SetPageFaults(haloemu.PageFault{Resource: "tickets", PageNo: 2, Fault: f})
			got, err := drain(e.client.Tickets(context.Background(), helpdesk.Query{PageSize: 100}))
			if err == nil {
				t.Fatalf("listing ended with %d of 300 tickets and no error", len(got))
			}
			if !errors.Is(err, helpdesk.ErrTransient) {
				t.Fatalf("err = %v, want a transient (retried) failure", err)
			}
		})
		t.Run(string(f)+" once", func(t *testing.T) {
			e := newEnv(t, envOptions{tickets: 300})
			e.emu.SetPageFaults(haloemu.PageFault{Resource: "tickets", PageNo: 2, Fault: f, Times: 1})
			got, err := drain(e.client.Tickets(context.Background(), helpdesk.Query{PageSize: 100}))
			if err != nil || len(got) != 300 {
				t.Fatalf("got %d tickets, %v; want all 300 after one retry", len(got), err)
			}
		})
	}
	t.Run("null status list", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		e.emu.SetPageFaults(haloemu.PageFault{Resource: "status", PageNo: 1, Fault: sandbox.BodyNull})
		if _, err := e.client.Picklists(context.Background()); err == nil {
			t.Fatal("a null status list was read as an empty one")
		}
	})
}

// List syncs carry descriptions, whichever reading of includedetails the
// instance follows, so a list sync never blanks what a one-ticket sync
// stored; names are resolved from the picklists.
func TestListedTicketsCarryDetailsAndNames(t *testing.T) {
	for _, omits := range []bool{false, true} {
		t.Run("list omits details="+strconv.FormatBool(omits), func(t *testing.T) {
			e := newEnv(t, envOptions{tickets: 150, settings: haloemu.Settings{ListOmitsDetails: omits}})
			got, err := drain(e.client.Tickets(context.Background(), helpdesk.Query{}))
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]sandbox.Ticket{}
			for _, w := range liveWorld(e.world) {
				want[strconv.FormatInt(w.ID, 10)] = w
			}
			described := 0
			for _, tk := range got {
				if tk.Description != want[tk.ExternalID].Description {
					t.Fatalf("ticket %s description %q, want %q", tk.ExternalID, tk.Description, want[tk.ExternalID].Description)
				}
				if tk.Description != "" {
					described++
				}
				if tk.Status.Name == "" || tk.Priority.Name == "" || tk.Type.Name == "" || tk.Queue.Name == "" {
					t.Fatalf("ticket %s names not resolved: %+v %+v %+v %+v", tk.ExternalID, tk.Status, tk.Priority, tk.Type, tk.Queue)
				}
			}
			if described == 0 {
				t.Fatal("no ticket has a description: the world has none to check")
			}
			lists, gets := e.emu.Requests("GET", "tickets"), 2
			if omits {
				gets = 2 + 150 // a ticket read on its own per listed ticket
			}
			if lists != gets {
				t.Fatalf("%d ticket requests, want %d", lists, gets)
			}
		})
	}
}

func liveWorld(w *sandbox.World) []sandbox.Ticket {
	ts, _ := w.QueryTickets(sandbox.TicketQuery{})
	return ts
}

// Both readings of /Status?type= give the statuses; an instance that
// returns none yields an empty status list (reported as drift by the
// reconciler), never an error-free list that hides it.
func TestStatusTypeReadings(t *testing.T) {
	cases := []struct {
		name string
		set  haloemu.Settings
		want bool
	}{
		{"type=ticket by name", haloemu.Settings{}, true},
		{"type numeric", haloemu.Settings{StatusTypeNumeric: true}, true},
		{"no permission", haloemu.Settings{NoStatuses: true}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{settings: tc.set})
			lists, err := e.client.Picklists(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			n := -1
			for _, l := range lists {
				if l.Kind == helpdesk.PicklistStatus {
					n = len(l.Values)
				}
			}
			if n < 0 {
				t.Fatal("no status picklist at all")
			}
			if (n > 0) != tc.want {
				t.Fatalf("%d statuses, want some: %v", n, tc.want)
			}
		})
	}
}

// A record of the wrong type is left out and reported with its id; the
// rest of the listing goes on.
func TestWrongTypedTicketSkipped(t *testing.T) {
	e := newEnv(t, envOptions{tickets: 150})
	bad := liveWorld(e.world)[120].ID
	e = newEnv(t, envOptions{tickets: 150, settings: haloemu.Settings{MalformedTicket: bad}})
	var skipped []helpdesk.Skipped
	got, err := drain(e.client.Tickets(context.Background(), helpdesk.Query{Skip: func(s helpdesk.Skipped) { skipped = append(skipped, s) }}))
	if err != nil {
		t.Fatalf("one bad record failed the listing: %v", err)
	}
	if len(got) != 149 || len(skipped) != 1 || skipped[0].ID != strconv.FormatInt(bad, 10) ||
		skipped[0].Entity != helpdesk.EntityTickets || skipped[0].Reason == "" {
		t.Fatalf("got %d tickets, skipped %+v; want 149 and ticket %d reported", len(got), skipped, bad)
	}
}

// APIUser is the agent the API application acts as.
func TestAPIUser(t *testing.T) {
	e := newEnv(t, envOptions{})
	m, err := e.client.APIUser(context.Background())
	if want := strconv.FormatInt(e.world.APIUser().ID, 10); err != nil || m.ExternalID != want {
		t.Fatalf("APIUser = %+v, %v; want agent %s", m, err, want)
	}
}

// A record_count below what the pages already held is stale or wrong:
// paging goes on to the short page instead of stopping on it.
func TestRecordCountBelowRecordsRead(t *testing.T) {
	fs, c := newFixtureServer(t, map[string]fixture{
		"get /api/tickets":           {body: `{"page_no":1,"page_size":2,"record_count":1,"tickets":[{"id":1,"details":""},{"id":2,"details":""}]}`},
		"get /api/tickets?page_no=2": {body: `{"page_no":2,"page_size":2,"record_count":1,"tickets":[{"id":3,"details":""}]}`},
	})
	got, err := drain(c.Tickets(context.Background(), helpdesk.Query{PageSize: 2}))
	if err != nil || len(got) != 3 || len(fs.requests("GET", "/api/Tickets")) != 2 {
		t.Fatalf("got %d tickets (%v) in %d requests, want 3 in 2", len(got), err, len(fs.requests("GET", "/api/Tickets")))
	}
}

// A record beyond MaxRecordBytes is left out and reported with its id.
func TestOversizedTicketSkipped(t *testing.T) {
	probe := newEnv(t, envOptions{tickets: 150})
	big := liveWorld(probe.world)[30].ID
	e := newEnv(t, envOptions{tickets: 150, settings: haloemu.Settings{OversizedTicket: big}})
	var skipped []helpdesk.Skipped
	got, err := drain(e.client.Tickets(context.Background(), helpdesk.Query{Skip: func(s helpdesk.Skipped) { skipped = append(skipped, s) }}))
	if err != nil || len(got) != 149 || len(skipped) != 1 || skipped[0].ID != strconv.FormatInt(big, 10) {
		t.Fatalf("got %d tickets (%v), skipped %+v; want 149 and ticket %d reported", len(got), err, skipped, big)
	}
}
