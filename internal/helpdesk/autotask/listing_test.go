package autotask_test

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/autotask"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	"github.com/horizon/reconciler/internal/helpdesk/transport"
)

func (e *env) pageFault(t *testing.T, spec string) {
	t.Helper()
	pf, err := sandbox.ParsePageFault(spec)
	if err != nil {
		t.Fatal(err)
	}
	e.faults.Set(sandbox.FaultSettings{Pages: []sandbox.PageFault{pf}})
}

// tryDrain reads a stream to its end or first error.
func tryDrain[T any](seq func(func([]T, error) bool)) ([]T, error) {
	var all []T
	for page, err := range seq {
		if err != nil {
			return all, err
		}
		all = append(all, page...)
	}
	return all, nil
}

func allTicketIDs(w *sandbox.World) []string {
	all, _ := w.QueryTickets(sandbox.TicketQuery{})
	var out []string
	for _, t := range all {
		out = append(out, strconv.FormatInt(t.ID, 10))
	}
	return out
}

func ids(ts []helpdesk.Ticket) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.ExternalID)
	}
	return out
}

// TestBrokenPageIsNeverTheEndOfTheData: an answer without a list
// (empty, null, cut off, HTML) in the middle of a query is retried, and
// when it persists the stream fails instead of ending as if complete.
func TestBrokenPageIsNeverTheEndOfTheData(t *testing.T) {
	for _, body := range []string{"empty", "null", "truncated", "html"} {
		t.Run(body, func(t *testing.T) {
			e := newEnv(t, envOpts{tickets: 250})
			want := allTicketIDs(e.world)
			e.pageFault(t, "path=/Tickets/query*,page=2,times=1,body="+body)
			got, err := tryDrain(e.client.Tickets(ctx(t), helpdesk.Query{PageSize: 100}))
			if err != nil || !slices.Equal(ids(got), want) {
				t.Fatalf("one broken answer: %d tickets, err %v; want all %d after a retry", len(got), err, len(want))
			}
			e.pageFault(t, "path=/Tickets/query*,page=2,body="+body)
			got, err = tryDrain(e.client.Tickets(ctx(t), helpdesk.Query{PageSize: 100}))
			if err == nil || !helpdesk.Retryable(err) || len(got) != 100 {
				t.Fatalf("a PSA answering %s on page 2 every time: %d of %d tickets, err %v; want a retryable error after page 1",
					body, len(got), len(want), err)
			}
		})
	}
}

func TestBadRecordIsSkippedWithItsID(t *testing.T) {
	for _, fault := range []string{
		"path=/Tickets/query*,page=2,times=1,record=2,body=wrongtype,field=title",
		"path=/Tickets/query*,page=2,times=1,record=2,body=bigfield,field=description,size=10000",
	} {
		t.Run(fault, func(t *testing.T) {
			e := newEnv(t, envOpts{tickets: 250, config: func(c *autotask.Config) { c.MaxFieldBytes = 4096 }})
			want := allTicketIDs(e.world)
			bad := want[102]
			e.pageFault(t, fault)
			var skipped []helpdesk.Skipped
			got, err := tryDrain(e.client.Tickets(ctx(t), helpdesk.Query{PageSize: 100,
				Skip: func(s helpdesk.Skipped) { skipped = append(skipped, s) }}))
			if err != nil {
				t.Fatalf("one bad record failed the entity: %v", err)
			}
			if !slices.Equal(ids(got), slices.DeleteFunc(slices.Clone(want), func(id string) bool { return id == bad })) {
				t.Errorf("got %d tickets, want all but %s", len(got), bad)
			}
			if len(skipped) != 1 || skipped[0].ID != bad || skipped[0].Entity != helpdesk.EntityTickets || skipped[0].Reason == "" {
				t.Errorf("skipped = %+v, want ticket %s", skipped, bad)
			}
		})
	}
}

func TestOversizedPageIsRefused(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 250, config: func(c *autotask.Config) { c.MaxResponseBytes = 256 << 10 }})
	e.pageFault(t, "path=/Tickets/query*,page=2,times=1,body=oversized,size=400000")
	got, err := tryDrain(e.client.Tickets(ctx(t), helpdesk.Query{PageSize: 100}))
	var tl *transport.TooLargeError
	if !errors.As(err, &tl) || len(got) != 100 {
		t.Fatalf("%d tickets, err %v; want page 1 then the response bound", len(got), err)
	}
}

// TestTicketsCarryPicklistNames: statuses, priorities, types and queues
// are named from the Tickets picklists, read once for many pages.
func TestTicketsCarryPicklistNames(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 250})
	got, _ := drain(t, e.client.Tickets(ctx(t), helpdesk.Query{PageSize: 100}))
	prios := map[string]string{}
	for _, p := range e.world.Priorities() {
		prios[strconv.FormatInt(p.ID, 10)] = p.Name
	}
	queues := map[string]string{}
	for _, q := range e.world.Queues() {
		queues[strconv.FormatInt(q.ID, 10)] = q.Name
	}
	for _, tk := range got {
		id, _ := strconv.ParseInt(tk.ExternalID, 10, 64)
		wt, _ := e.world.Ticket(id)
		st, _, _ := e.world.Status(wt.StatusID)
		if tk.Status.Name == "" || tk.Status.Name != st.Name || tk.Priority.Name != prios[tk.Priority.ID] ||
			tk.Queue.Name != queues[tk.Queue.ID] || tk.Queue.Name == "" || tk.Type.Name == "" {
			t.Fatalf("ticket %s named %+v %+v %+v %+v; want status %q", tk.ExternalID, tk.Status, tk.Priority, tk.Type, tk.Queue, st.Name)
		}
	}
	one, err := e.client.GetTicket(ctx(t), got[0].ExternalID)
	if err != nil || one.Status.Name != got[0].Status.Name {
		t.Errorf("GetTicket status %+v, err %v", one.Status, err)
	}
	reads := testutil.ToFloat64(e.cfg.Metrics.PSARequests.WithLabelValues(helpdesk.Autotask, "fields", "200"))
	if reads != 1 {
		t.Errorf("picklists read %v times for 3 pages and a get, want once", reads)
	}
}

// TestNewPicklistValueIsNamed: a value added in the PSA after the labels
// were read is named after a refresh.
func TestNewPicklistValueIsNamed(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 20, config: func(c *autotask.Config) { c.PicklistTTL = 1 }})
	drain(t, e.client.Tickets(ctx(t), helpdesk.Query{}))
	all, _ := e.world.QueryTickets(sandbox.TicketQuery{})
	st, err := e.world.AddStatus(all[0].QueueID, "Waiting on Vendor", false, sandbox.UI(0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.world.UpdateTicket(all[0].ID, sandbox.UI(0), func(t *sandbox.Ticket) error { t.StatusID = st.ID; return nil }); err != nil {
		t.Fatal(err)
	}
	tk, err := e.client.GetTicket(ctx(t), strconv.FormatInt(all[0].ID, 10))
	if err != nil || tk.Status.Name != "Waiting on Vendor" {
		t.Errorf("status %+v, err %v; want the new value named", tk.Status, err)
	}
}

func TestAPIUserIsTheAPIResource(t *testing.T) {
	e := newEnv(t, envOpts{})
	m, err := e.client.APIUser(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	api := e.world.APIUser()
	if m.ExternalID != strconv.FormatInt(api.ID, 10) || !strings.EqualFold(m.Email, api.Email) {
		t.Errorf("APIUser = %+v, want resource %d", m, api.ID)
	}
}

// TestBrokenItemAnswer: a get-by-id answered with an empty body or null
// is retried, then an error; only {"item":null} means "not found".
func TestBrokenItemAnswer(t *testing.T) {
	for _, body := range []string{"empty", "null", "html"} {
		e := newEnv(t, envOpts{tickets: 5})
		id := allTicketIDs(e.world)[2]
		e.pageFault(t, "path=/Tickets/"+id+",times=1,body="+body)
		if tk, err := e.client.GetTicket(ctx(t), id); err != nil || tk.ExternalID != id {
			t.Errorf("%s once: ticket %q, err %v; want ticket %s after a retry", body, tk.ExternalID, err, id)
		}
		e.pageFault(t, "path=/Tickets/"+id+",body="+body)
		tk, err := e.client.GetTicket(ctx(t), id)
		if err == nil || errors.Is(err, helpdesk.ErrNotFound) || !helpdesk.Retryable(err) {
			t.Errorf("%s always: ticket %q, err %v; want a retryable error, not not-found", body, tk.ExternalID, err)
		}
	}
}
