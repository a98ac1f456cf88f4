package connectwise_test

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/connectwise"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	cwemu "github.com/horizon/reconciler/internal/helpdesk/sandbox/connectwise"
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

func TestContractTicketPaging(t *testing.T) {
	tests := []struct {
		name      string
		tickets   int
		pageSize  int
		paging    connectwise.Paging
		cap       int
		wantSizes []int
		wantReqs  int64
	}{
		{"forward-only exact boundary", 200, 100, connectwise.ForwardOnly, 0, []int{100, 100}, 3},
		{"navigable exact boundary", 200, 100, connectwise.Navigable, 0, []int{100, 100}, 2},
		{"navigable exact boundary at the maximum", 2000, 1000, connectwise.Navigable, 0, []int{1000, 1000}, 2},
		{"forward-only short last page", 250, 100, connectwise.ForwardOnly, 0, []int{100, 100, 50}, 3},
		{"navigable short last page", 250, 100, connectwise.Navigable, 0, []int{100, 100, 50}, 3},
		{"default page size is the maximum", 1001, 0, connectwise.ForwardOnly, 0, []int{1000, 1}, 2},
		{"server cap below the asked size", 250, 1000, connectwise.ForwardOnly, 60, []int{60, 60, 60, 60, 10}, 5},
		{"server cap navigable", 250, 1000, connectwise.Navigable, 60, []int{60, 60, 60, 60, 10}, 5},
		{"empty", 0, 100, connectwise.ForwardOnly, 0, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpts{tickets: max(tt.tickets, 1), settings: cwemu.Settings{PageCap: tt.cap},
				cfg: func(c *connectwise.Config) { c.Paging = tt.paging }})
			if tt.tickets == 0 { // delete the one generated ticket
				ids := worldTicketIDs(e.world, nil)
				id, _ := strconv.ParseInt(ids[0], 10, 64)
				if err := e.world.DeleteTicket(id, sandbox.UI(0)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := e.client.Codebase(bg); err != nil {
				t.Fatal(err)
			}
			e.requests.Store(0)
			got, sizes := collectAll(t, e.client.Tickets(bg, helpdesk.Query{PageSize: tt.pageSize}))
			if !slices.Equal(sizes, tt.wantSizes) {
				t.Errorf("page sizes = %v, want %v", sizes, tt.wantSizes)
			}
			if !slices.Equal(ticketIDs(got), worldTicketIDs(e.world, nil)) {
				t.Errorf("got %d tickets, want the World's %d in id order", len(got), len(worldTicketIDs(e.world, nil)))
			}
			if n := e.requests.Load(); n != tt.wantReqs {
				t.Errorf("requests = %d, want %d", n, tt.wantReqs)
			}
		})
	}
}

func TestContractTicketsSince(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 600})
	all, _ := e.world.QueryTickets(sandbox.TicketQuery{})
	since := all[len(all)/2].Updated.Add(1500 * time.Microsecond)
	// The client sends since truncated to the second; so must the check.
	cut := since.Truncate(time.Second)
	want := worldTicketIDs(e.world, func(t sandbox.Ticket) bool { return t.Updated.After(cut) })
	got, sizes := collectAll(t, e.client.Tickets(bg, helpdesk.Query{Since: since, PageSize: 50}))
	if !slices.Equal(ticketIDs(got), want) {
		t.Fatalf("since %v: got %d tickets, want %d", since, len(got), len(want))
	}
	if len(sizes) < 2 {
		t.Errorf("want several pages, got %v", sizes)
	}
	for _, tk := range got {
		if !tk.UpdatedAt.After(cut.Add(-time.Second)) || tk.Queue.Name == "" || tk.Status.ID == "" {
			t.Fatalf("ticket %+v", tk)
		}
	}
}

func TestContractIncrementalAfterUIEdits(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 300})
	watermark := e.clock.Now()
	e.clock.Advance(3 * time.Second)
	members := e.world.Members()
	var edited []string
	for _, id := range []int64{0, 50, 200} {
		tk := worldTicketIDs(e.world, nil)[id]
		n, _ := strconv.ParseInt(tk, 10, 64)
		_, err := e.world.UpdateTicket(n, sandbox.UI(members[2].ID), func(t *sandbox.Ticket) error {
			t.Summary += " (edited)"
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		edited = append(edited, tk)
	}
	for _, p := range []connectwise.Paging{connectwise.ForwardOnly, connectwise.Navigable} {
		e2 := e.withPaging(p)
		got, _ := collectAll(t, e2.Tickets(bg, helpdesk.Query{Since: watermark}))
		if !slices.Equal(ticketIDs(got), edited) {
			t.Errorf("paging %d: incremental got %v, want %v", p, ticketIDs(got), edited)
		}
		for _, tk := range got {
			if !strings.HasSuffix(tk.Summary, "(edited)") {
				t.Errorf("ticket %s summary %q", tk.ExternalID, tk.Summary)
			}
		}
	}
}

// withPaging returns a second client on the same emulator.
func (e *env) withPaging(p connectwise.Paging) *connectwise.Client {
	s := e.emu.Settings()
	c, err := connectwise.New(connectwise.Config{BaseURL: e.srv.URL, CompanyID: s.CompanyID,
		PublicKey: helpdesk.Secret(s.PublicKey), PrivateKey: helpdesk.Secret(s.PrivateKey), ClientID: s.ClientID,
		RatePerSecond: -1, Paging: p})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func TestContractTicketCRUD(t *testing.T) {
	e := newEnv(t, envOpts{})
	q := e.world.Queues()[1]
	co := e.world.Companies()[0]
	created, err := e.client.CreateTicket(bg, helpdesk.NewTicket{Summary: "Horizon smoke test", Description: "created by test",
		CompanyID: fmt.Sprint(co.ID), QueueID: fmt.Sprint(q.ID), PriorityID: fmt.Sprint(e.world.Priorities()[0].ID)})
	if err != nil {
		t.Fatal(err)
	}
	if created.ExternalID == "" || created.Queue.ID != fmt.Sprint(q.ID) || created.CompanyID != fmt.Sprint(co.ID) ||
		created.Status.Name != "New" || created.UpdatedAt.IsZero() {
		t.Fatalf("created = %+v", created)
	}
	got, err := e.client.GetTicket(bg, created.ExternalID)
	if err != nil || got.Summary != "Horizon smoke test" {
		t.Fatalf("get = %+v, %v", got, err)
	}
	closed := q.Statuses[4]
	member := e.world.Members()[3]
	upd, err := e.client.UpdateTicket(bg, created.ExternalID, helpdesk.TicketUpdate{StatusID: fmt.Sprint(closed.ID), AssigneeID: fmt.Sprint(member.ID)})
	if err != nil {
		t.Fatal(err)
	}
	if upd.Status.ID != fmt.Sprint(closed.ID) || !upd.Closed || upd.AssigneeID != fmt.Sprint(member.ID) {
		t.Errorf("updated = %+v", upd)
	}
	id, _ := strconv.ParseInt(created.ExternalID, 10, 64)
	wt, _ := e.world.Ticket(id)
	if wt.StatusID != closed.ID || wt.AssigneeID != member.ID || wt.UpdatedBy != e.world.APIUser().ID {
		t.Errorf("world ticket = %+v", wt)
	}
}

func TestContractTicketErrors(t *testing.T) {
	e := newEnv(t, envOpts{})
	if _, err := e.client.GetTicket(bg, "99999999"); !errors.Is(err, helpdesk.ErrNotFound) {
		t.Errorf("missing ticket: %v", err)
	}
	if _, err := e.client.GetTicket(bg, "abc"); !errors.Is(err, helpdesk.ErrNotFound) {
		t.Errorf("non-numeric id: %v", err)
	}
	tk := worldTicketIDs(e.world, nil)[0]
	other := e.world.Queues()[3].Statuses[0] // a status of another board
	n, _ := strconv.ParseInt(tk, 10, 64)
	wt, _ := e.world.Ticket(n)
	if wt.QueueID == e.world.Queues()[3].ID {
		other = e.world.Queues()[2].Statuses[0]
	}
	_, err := e.client.UpdateTicket(bg, tk, helpdesk.TicketUpdate{StatusID: fmt.Sprint(other.ID)})
	if !errors.Is(err, helpdesk.ErrInvalid) || !strings.Contains(err.Error(), "status") {
		t.Errorf("status of another board: %v", err)
	}
	_, err = e.client.CreateTicket(bg, helpdesk.NewTicket{Summary: "no company"})
	if !errors.Is(err, helpdesk.ErrInvalid) || !strings.Contains(err.Error(), "company") {
		t.Errorf("create without company: %v", err)
	}
}

func TestContractNotesAndTime(t *testing.T) {
	e := newEnv(t, envOpts{})
	tk := worldTicketIDs(e.world, nil)[5]
	n, _ := strconv.ParseInt(tk, 10, 64)
	before := len(e.world.Notes(n))
	internal, err := e.client.AddNote(bg, tk, helpdesk.NewNote{Text: "internal [horizon:abc]", Internal: true})
	if err != nil {
		t.Fatal(err)
	}
	public, err := e.client.AddNote(bg, tk, helpdesk.NewNote{Text: "public", MemberID: fmt.Sprint(e.world.Members()[2].ID)})
	if err != nil {
		t.Fatal(err)
	}
	if !internal.Internal || public.Internal || internal.TicketID != tk || public.AuthorID != fmt.Sprint(e.world.Members()[2].ID) {
		t.Errorf("notes = %+v / %+v", internal, public)
	}
	notes, err := e.client.Notes(bg, tk)
	if err != nil || len(notes) != before+2 || notes[len(notes)-2].Text != "internal [horizon:abc]" {
		t.Fatalf("notes = %+v, %v", notes, err)
	}
	watermark := e.clock.Now()
	e.clock.Advance(2 * time.Second)
	start := anchor.Add(-2 * time.Hour)
	te, err := e.client.AddTimeEntry(bg, helpdesk.NewTimeEntry{TicketID: tk, MemberID: fmt.Sprint(e.world.Members()[1].ID),
		Start: start, Hours: 1.25, Notes: "onsite", Billable: true})
	if err != nil {
		t.Fatal(err)
	}
	if te.TicketID != tk || te.Hours != 1.25 || !te.Start.Equal(start) || !te.Billable {
		t.Errorf("time entry = %+v", te)
	}
	got, _ := collectAll(t, e.client.TimeEntries(bg, helpdesk.Query{Since: watermark}))
	if len(got) != 1 || got[0].ExternalID != te.ExternalID {
		t.Errorf("time entries since = %+v", got)
	}
	if len(e.world.TimeEntries(n)) == 0 {
		t.Error("time entry not in the World")
	}
}

func TestContractDirectory(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 600})
	members, _ := collectAll(t, e.client.Members(bg, helpdesk.Query{PageSize: 5}))
	if len(members) != len(e.world.Members()) {
		t.Errorf("members = %d, want %d", len(members), len(e.world.Members()))
	}
	inactive := 0
	for _, m := range members {
		if !m.Active {
			inactive++
		}
		if m.Identifier == "" || m.Email == "" || m.Name == "" {
			t.Errorf("member %+v", m)
		}
	}
	if inactive == 0 {
		t.Error("no inactive member streamed")
	}
	contacts, _ := collectAll(t, e.client.Contacts(bg, helpdesk.Query{PageSize: 7}))
	if len(contacts) != len(e.world.Contacts()) || contacts[0].Email == "" || contacts[0].CompanyID == "" || contacts[0].Phone != e.world.Contacts()[0].Phone {
		t.Errorf("contacts = %d (%+v), want %d", len(contacts), contacts[0], len(e.world.Contacts()))
	}
	companies, _ := collectAll(t, e.client.Companies(bg, helpdesk.Query{}))
	if len(companies) != len(e.world.Companies()) {
		t.Errorf("companies = %d, want %d", len(companies), len(e.world.Companies()))
	}
	for i, c := range companies {
		if c.Active != e.world.Companies()[i].Active || c.Identifier == "" {
			t.Errorf("company %+v vs world %+v", c, e.world.Companies()[i])
		}
	}
	watermark := e.clock.Now()
	e.clock.Advance(2 * time.Second)
	c0 := e.world.Contacts()[3]
	if _, err := e.world.UpdateContact(c0.ID, sandbox.UI(0), func(c *sandbox.Contact) { c.LastName = "Renamed" }); err != nil {
		t.Fatal(err)
	}
	since, _ := collectAll(t, e.client.Contacts(bg, helpdesk.Query{Since: watermark}))
	if len(since) != 1 || since[0].LastName != "Renamed" {
		t.Errorf("contacts since = %+v", since)
	}
}

func TestContractPicklists(t *testing.T) {
	e := newEnv(t, envOpts{})
	lists, err := e.client.Picklists(bg)
	if err != nil {
		t.Fatal(err)
	}
	count := map[helpdesk.PicklistKind]int{}
	for _, l := range lists {
		count[l.Kind]++
		if l.Kind == helpdesk.PicklistStatus && (l.Scope == "" || len(l.Values) != 6) {
			t.Errorf("status list %+v", l)
		}
	}
	queues := len(e.world.Queues())
	want := map[helpdesk.PicklistKind]int{helpdesk.PicklistQueue: 1, helpdesk.PicklistPriority: 1,
		helpdesk.PicklistStatus: queues, helpdesk.PicklistType: queues}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%s lists = %d, want %d", k, count[k], n)
		}
	}
	v, err := e.client.CreatePicklistValue(bg, helpdesk.PicklistStatus, "help desk", "Escalated")
	if err != nil || v.Name != "Escalated" || v.ID == "" {
		t.Fatalf("create status = %+v, %v", v, err)
	}
	if q := e.world.Queues()[0]; q.Statuses[len(q.Statuses)-1].Name != "Escalated" {
		t.Errorf("status not created on %s", q.Name)
	}
	if _, err := e.client.CreatePicklistValue(bg, helpdesk.PicklistStatus, "Help Desk", "escalated"); !errors.Is(err, helpdesk.ErrInvalid) {
		t.Errorf("duplicate status: %v", err)
	}
	if _, err := e.client.CreatePicklistValue(bg, helpdesk.PicklistType, "Help Desk", "X"); !errors.Is(err, helpdesk.ErrUnsupported) {
		t.Errorf("create type: %v", err)
	}
	if _, err := e.client.CreatePicklistValue(bg, helpdesk.PicklistStatus, "No Such Board", "X"); !errors.Is(err, helpdesk.ErrNotFound) {
		t.Errorf("unknown board: %v", err)
	}
}

func TestContractWebhookCRUD(t *testing.T) {
	e := newEnv(t, envOpts{})
	spec := helpdesk.WebhookSpec{URL: "https://horizon.example/callbacks/connectwise", Secret: hookSecret, Account: "acme-msp",
		Events: []helpdesk.Event{helpdesk.EventTicketUpdated, helpdesk.EventContactCreated, helpdesk.EventNoteCreated}}
	desired := e.client.DesiredWebhooks(spec)
	if len(desired) != 2 || desired[0].Key != "ticket" || desired[1].Key != "contact" {
		t.Fatalf("desired = %+v", desired)
	}
	other := e.emu.AddCallback(cwemu.Callback{Description: "Other tool", URL: "https://other.example/cb", ObjectID: 1, Type: "Ticket", Level: "Owner"})
	for _, w := range desired {
		if _, err := e.client.CreateWebhook(bg, w, hookSecret); err != nil {
			t.Fatal(err)
		}
	}
	observed, err := e.client.Webhooks(bg)
	if err != nil || len(observed) != 3 {
		t.Fatalf("observed = %+v, %v", observed, err)
	}
	for _, w := range observed[1:] {
		d := desired[slices.IndexFunc(desired, func(d helpdesk.Webhook) bool { return d.Key == w.Key })]
		if !w.Managed || w.URL != d.URL || w.Name != d.Name || w.Fingerprint != d.Fingerprint || !w.Active ||
			!slices.Equal(w.SortedEvents(), d.SortedEvents()) {
			t.Errorf("observed %+v, desired %+v", w, d)
		}
	}
	if observed[0].Managed || observed[0].ID != fmt.Sprint(other.ID) {
		t.Errorf("other tool's callback = %+v", observed[0])
	}
	for _, cb := range e.emu.Callbacks()[1:] {
		if !cb.SelfSuppressed || cb.Level != "Owner" || cb.ObjectID != 1 ||
			!strings.HasSuffix(cb.URL, "&recordId=") || !strings.Contains(cb.URL, "token=") {
			t.Errorf("registration %+v", cb)
		}
	}

	rotated := spec
	rotated.Secret = "rotated-secret-abcdefghijkl"
	upd := e.client.DesiredWebhooks(rotated)[0]
	upd.ID = observed[1].ID
	got, err := e.client.UpdateWebhook(bg, upd, rotated.Secret)
	if err != nil || got.Fingerprint == observed[1].Fingerprint || got.Fingerprint != upd.Fingerprint {
		t.Errorf("update = %+v, %v", got, err)
	}

	other2 := observed[0]
	other2.Name = "horizon hijack"
	if _, err := e.client.UpdateWebhook(bg, other2, hookSecret); !errors.Is(err, helpdesk.ErrForbidden) {
		t.Errorf("update other tool's callback: %v", err)
	}
	if err := e.client.DeleteWebhook(bg, other2.ID); !errors.Is(err, helpdesk.ErrForbidden) {
		t.Errorf("delete other tool's callback: %v", err)
	}
	if err := e.client.DeleteWebhook(bg, observed[1].ID); err != nil {
		t.Fatal(err)
	}
	if err := e.client.DeleteWebhook(bg, observed[1].ID); err != nil {
		t.Errorf("deleting a missing callback: %v", err)
	}
	if n := len(e.emu.Callbacks()); n != 2 {
		t.Errorf("callbacks left = %d, want 2", n)
	}
}

// registerAll registers Horizon's callbacks for every event at url.
func registerAll(t *testing.T, e *env, url string) {
	t.Helper()
	spec := helpdesk.WebhookSpec{URL: url, Secret: hookSecret, Account: "acme", Events: helpdesk.AllEvents}
	for _, w := range e.client.DesiredWebhooks(spec) {
		if _, err := e.client.CreateWebhook(bg, w, hookSecret); err != nil {
			t.Fatal(err)
		}
	}
}

func TestContractWebhookAfterUIEdit(t *testing.T) {
	e := newEnv(t, envOpts{})
	rc := newReceiver(t, e.client, hookSecret)
	registerAll(t, e, rc.URL+"/callbacks/connectwise")
	tk := e.world.Queues()
	all, _ := e.world.QueryTickets(sandbox.TicketQuery{})
	target := all[10]
	var newStatus int64
	for _, q := range tk {
		if q.ID == target.QueueID {
			newStatus = q.Statuses[1].ID
		}
	}
	e.clock.Advance(time.Minute)
	if _, err := e.world.UpdateTicket(target.ID, sandbox.UI(e.world.Members()[4].ID), func(t *sandbox.Ticket) error {
		t.StatusID = newStatus
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprint(target.ID)
	var ev helpdesk.CallbackEvent
	eventually(t, "ticket callback", func() bool {
		var ok bool
		ev, ok = rc.find(func(ev helpdesk.CallbackEvent) bool { return ev.ExternalID == id })
		return ok
	})
	if ev.Entity != helpdesk.EntityTickets || ev.Action != helpdesk.ActionUpdated || ev.Actor != e.world.Members()[4].Identifier ||
		ev.Ticket == nil || ev.Ticket.Status.ID != fmt.Sprint(newStatus) || ev.OccurredAt.IsZero() || ev.DeliveryID == "" {
		t.Errorf("event = %+v (ticket %+v)", ev, ev.Ticket)
	}

	c := e.world.Contacts()[0]
	if _, err := e.world.UpdateContact(c.ID, sandbox.UI(0), func(c *sandbox.Contact) { c.FirstName = "Changed" }); err != nil {
		t.Fatal(err)
	}
	eventually(t, "contact callback", func() bool {
		_, ok := rc.find(func(ev helpdesk.CallbackEvent) bool {
			return ev.Entity == helpdesk.EntityContacts && ev.ExternalID == fmt.Sprint(c.ID)
		})
		return ok
	})
	if err := e.world.DeleteTicket(all[11].ID, sandbox.UI(0)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "delete callback", func() bool {
		_, ok := rc.find(func(ev helpdesk.CallbackEvent) bool {
			return ev.Action == helpdesk.ActionDeleted && ev.ExternalID == fmt.Sprint(all[11].ID)
		})
		return ok
	})
	if _, rejected := rc.all(); len(rejected) != 0 {
		t.Errorf("receiver rejected deliveries: %v", rejected)
	}
}

func TestContractEchoSuppression(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		t.Run(fmt.Sprintf("ignore=%v", ignore), func(t *testing.T) {
			e := newEnv(t, envOpts{settings: cwemu.Settings{IgnoreSelfSuppression: ignore}})
			rc := newReceiver(t, e.client, hookSecret)
			registerAll(t, e, rc.URL+"/cb")
			all, _ := e.world.QueryTickets(sandbox.TicketQuery{})
			if _, err := e.client.AddNote(bg, fmt.Sprint(all[0].ID), helpdesk.NewNote{Text: "from horizon"}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.world.UpdateTicket(all[1].ID, sandbox.UI(e.world.Members()[2].ID), func(*sandbox.Ticket) error { return nil }); err != nil {
				t.Fatal(err)
			}
			want := 1
			if ignore {
				want = 2
			}
			var delivered atomic.Int32
			eventually(t, "deliveries", func() bool {
				evs, _ := rc.all()
				delivered.Store(int32(len(evs)))
				return len(evs) >= want
			})
			e.emu.Close() // every delivery sent has now finished
			evs, _ := rc.all()
			if len(evs) != want || len(e.emu.Deliveries()) != want {
				t.Errorf("events = %+v, want %d", evs, want)
			}
			_, echoed := rc.find(func(ev helpdesk.CallbackEvent) bool { return ev.ExternalID == fmt.Sprint(all[0].ID) })
			if echoed != ignore {
				t.Errorf("echo of the API write delivered = %v, want %v", echoed, ignore)
			}
		})
	}
}

func TestCapabilitiesMatchBehaviour(t *testing.T) {
	e := newEnv(t, envOpts{})
	caps := e.client.Capabilities()
	if e.client.Name() != helpdesk.ConnectWise || caps.MaxPageSize != 1000 || !caps.SignedCallbacks {
		t.Errorf("caps = %+v", caps)
	}
	spec := helpdesk.WebhookSpec{URL: "https://h.example/cb", Secret: hookSecret, Events: caps.Events}
	var covered []helpdesk.Event
	for _, w := range e.client.DesiredWebhooks(spec) {
		covered = append(covered, w.Events...)
	}
	slices.Sort(covered)
	want := slices.Clone(caps.Events)
	slices.Sort(want)
	if !slices.Equal(covered, want) {
		t.Errorf("registrations cover %v, capabilities promise %v", covered, want)
	}
	for _, k := range []helpdesk.PicklistKind{helpdesk.PicklistType, helpdesk.PicklistPriority, helpdesk.PicklistQueue} {
		if slices.Contains(caps.CreatablePicklists, k) {
			t.Errorf("%s listed as creatable", k)
		}
	}
}
