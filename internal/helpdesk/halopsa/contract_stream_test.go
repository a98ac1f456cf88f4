package halopsa_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/halopsa"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	haloemu "github.com/horizon/reconciler/internal/helpdesk/sandbox/halopsa"
)

func ticketIDs(ts []helpdesk.Ticket) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ExternalID
	}
	return out
}

func worldTicketIDs(w *sandbox.World, keep func(sandbox.Ticket) bool) []string {
	all, _ := w.QueryTickets(sandbox.TicketQuery{})
	var out []string
	for _, t := range all {
		if keep == nil || keep(t) {
			out = append(out, strconv.FormatInt(t.ID, 10))
		}
	}
	return out
}

// TestTicketsPaging walks every ticket across page boundaries: the
// requests made must be exactly the pages up to the first short page or
// the page that reaches record_count; never a page past record_count.
func TestTicketsPaging(t *testing.T) {
	cases := []struct {
		name         string
		tickets      int
		pageSize     int
		wantRequests int
	}{
		{"short last page", 250, 100, 3},
		{"exact multiple stops at record_count", 200, 100, 2},
		{"exact multiple small pages", 60, 20, 3},
		{"one short page", 7, 100, 1},
		{"page size one", 5, 1, 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{tickets: tc.tickets})
			got, _ := collect(t, e.client.Tickets(context.Background(), helpdesk.Query{PageSize: tc.pageSize}))
			if want := worldTicketIDs(e.world, nil); !slices.Equal(ticketIDs(got), want) {
				t.Fatalf("got %d tickets, want %d in id order", len(got), len(want))
			}
			if n := e.emu.Requests("GET", "tickets"); n != tc.wantRequests {
				t.Fatalf("made %d list requests, want %d", n, tc.wantRequests)
			}
		})
	}
}

// TestTicketsServerPageCap asks for 500 a page from a server that caps at
// 100: every one of 1,234 tickets comes back, in ceil(1234/100) requests
// plus at most one.
func TestTicketsServerPageCap(t *testing.T) {
	for _, lying := range []bool{false, true} {
		t.Run("envelope reports requested size="+strconv.FormatBool(lying), func(t *testing.T) {
			e := newEnv(t, envOptions{tickets: 1234, settings: haloemu.Settings{ReportRequestedPageSize: lying},
				config: func(c *halopsa.Config) { c.MaxPageSize = 1000 }})
			got, _ := collect(t, e.client.Tickets(context.Background(), helpdesk.Query{PageSize: 500}))
			if len(got) != 1234 || !slices.Equal(ticketIDs(got), worldTicketIDs(e.world, nil)) {
				t.Fatalf("got %d tickets, want all 1234", len(got))
			}
			if n := e.emu.Requests("GET", "tickets"); n < 13 || n > 14 {
				t.Fatalf("made %d requests, want 13 (+1 at most)", n)
			}
		})
	}
}

// TestTicketsSince checks the incremental filter at its boundary, with
// the server reading lastupdatefromdate inclusively or exclusively.
func TestTicketsSince(t *testing.T) {
	for _, exclusive := range []bool{false, true} {
		t.Run("exclusive="+strconv.FormatBool(exclusive), func(t *testing.T) {
			e := newEnv(t, envOptions{tickets: 300, settings: haloemu.Settings{LastUpdateExclusive: exclusive}})
			all, _ := e.world.QueryTickets(sandbox.TicketQuery{})
			since := all[len(all)/2].Updated // a ticket sits exactly on the boundary
			got, _ := collect(t, e.client.Tickets(context.Background(), helpdesk.Query{Since: since, PageSize: 25}))
			want := worldTicketIDs(e.world, func(tk sandbox.Ticket) bool { return tk.Updated.After(since) })
			if !slices.Equal(ticketIDs(got), want) {
				t.Fatalf("got %d tickets updated after %v, want %d", len(got), since, len(want))
			}
			for _, tk := range got {
				if !tk.UpdatedAt.After(since) {
					t.Fatalf("ticket %s updated %v, not after %v", tk.ExternalID, tk.UpdatedAt, since)
				}
			}
		})
	}
}

// TestTicketsIncrementalAfterUIEdits syncs everything, edits in the "PSA
// UI", and expects the next incremental pass to return exactly the
// touched tickets.
func TestTicketsIncrementalAfterUIEdits(t *testing.T) {
	e := newEnv(t, envOptions{tickets: 150})
	ctx := context.Background()
	first, _ := collect(t, e.client.Tickets(ctx, helpdesk.Query{}))
	var mark time.Time
	for _, tk := range first {
		if tk.UpdatedAt.After(mark) {
			mark = tk.UpdatedAt
		}
	}
	e.clock.Advance(time.Minute)
	all, _ := e.world.QueryTickets(sandbox.TicketQuery{})
	agent := e.world.Members()[2].ID
	if _, err := e.world.UpdateTicket(all[3].ID, sandbox.UI(agent), func(tk *sandbox.Ticket) error {
		tk.Summary = "Edited in the UI"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.world.AddNote(sandbox.Note{TicketID: all[40].ID, Text: "UI note"}, sandbox.UI(agent)); err != nil {
		t.Fatal(err)
	}
	got, _ := collect(t, e.client.Tickets(ctx, helpdesk.Query{Since: mark}))
	want := []string{strconv.FormatInt(all[3].ID, 10), strconv.FormatInt(all[40].ID, 10)}
	if !slices.Equal(ticketIDs(got), want) {
		t.Fatalf("incremental pass returned %v, want %v", ticketIDs(got), want)
	}
	if got[0].Summary != "Edited in the UI" {
		t.Fatalf("summary %q, want the UI edit", got[0].Summary)
	}
}

// TestTimeEntriesStream returns the time entries of every ticket updated
// after Since.
func TestTimeEntriesStream(t *testing.T) {
	e := newEnv(t, envOptions{tickets: 80})
	all, _ := e.world.QueryTickets(sandbox.TicketQuery{})
	since := all[40].Updated
	got, _ := collect(t, e.client.TimeEntries(context.Background(), helpdesk.Query{Since: since}))
	var want []string
	for _, tk := range all {
		if tk.Updated.After(since) {
			for _, te := range e.world.TimeEntries(tk.ID) {
				want = append(want, strconv.FormatInt(te.ID, 10))
			}
		}
	}
	var ids []string
	for _, te := range got {
		ids = append(ids, te.ExternalID)
		wte, ok := e.world.TimeEntry(mustInt(t, te.ExternalID))
		if !ok || te.Hours != wte.Hours || te.Billable != wte.Billable || te.TicketID != strconv.FormatInt(wte.TicketID, 10) ||
			te.MemberID != strconv.FormatInt(wte.MemberID, 10) || !te.Start.Equal(wte.Start) || te.Notes != wte.Notes {
			t.Fatalf("time entry %+v does not match the World's %+v", te, wte)
		}
	}
	slices.Sort(ids)
	slices.Sort(want)
	if len(want) == 0 || !slices.Equal(ids, want) {
		t.Fatalf("got time entries %v, want %v", ids, want)
	}
}

// TestPeopleStreams returns every contact, company and member, active and
// inactive.
func TestPeopleStreams(t *testing.T) {
	e := newEnv(t, envOptions{tickets: 600})
	ctx := context.Background()
	contacts, pages := collect(t, e.client.Contacts(ctx, helpdesk.Query{PageSize: 10}))
	if len(contacts) != len(e.world.Contacts()) || pages < 2 {
		t.Fatalf("got %d contacts in %d pages, want %d in several", len(contacts), pages, len(e.world.Contacts()))
	}
	wc := e.world.Contacts()[0]
	c := contacts[0]
	if c.ExternalID != strconv.FormatInt(wc.ID, 10) || c.Email != wc.Email || c.FirstName != wc.FirstName ||
		c.LastName != wc.LastName || c.CompanyID != strconv.FormatInt(wc.CompanyID, 10) || c.Active != wc.Active {
		t.Fatalf("contact %+v does not match %+v", c, wc)
	}
	companies, _ := collect(t, e.client.Companies(ctx, helpdesk.Query{}))
	if len(companies) != len(e.world.Companies()) {
		t.Fatalf("got %d companies, want %d", len(companies), len(e.world.Companies()))
	}
	inactive := 0
	for _, co := range companies {
		if !co.Active {
			inactive++
		}
	}
	members, _ := collect(t, e.client.Members(ctx, helpdesk.Query{}))
	if len(members) != len(e.world.Members()) {
		t.Fatalf("got %d members, want %d (disabled included)", len(members), len(e.world.Members()))
	}
	if slices.IndexFunc(members, func(m helpdesk.Member) bool { return !m.Active }) < 0 {
		t.Fatal("no disabled member returned")
	}
	if inactive == 0 {
		t.Log("generated world has no inactive company")
	}
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
