package connectwise_test

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/connectwise"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	"github.com/horizon/reconciler/internal/helpdesk/transport"
)

// drain reads a stream to its end or first error.
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

// pageFault sets one page fault on the emulator.
func (e *env) pageFault(t *testing.T, spec string) {
	t.Helper()
	pf, err := sandbox.ParsePageFault(spec)
	if err != nil {
		t.Fatal(err)
	}
	e.emu.Faults().Set(sandbox.FaultSettings{Pages: []sandbox.PageFault{pf}})
}

func (e *env) pathCount(suffix string) int64 {
	var n int64
	e.paths.Range(func(k, v any) bool {
		if strings.HasSuffix(k.(string), suffix) {
			n += v.(interface{ Load() int64 }).Load()
		}
		return true
	})
	return n
}

// TestBrokenPageIsNeverTheEndOfTheData: a 200 whose body is empty, null,
// cut off or HTML in the middle of a listing is retried, and when the PSA
// keeps sending it the stream fails; it never ends early as if the data
// were all read.
func TestBrokenPageIsNeverTheEndOfTheData(t *testing.T) {
	for _, body := range []string{"empty", "null", "truncated", "html"} {
		t.Run(body, func(t *testing.T) {
			e := newEnv(t, envOpts{tickets: 250})
			want := worldTicketIDs(e.world, nil)

			e.pageFault(t, "path=/service/tickets,page=2,times=1,body="+body)
			got, err := drain(e.client.Tickets(bg, helpdesk.Query{PageSize: 100}))
			if err != nil || !slices.Equal(ticketIDs(got), want) {
				t.Fatalf("one broken answer: got %d tickets, err %v; want all %d after a retry", len(got), err, len(want))
			}

			e.pageFault(t, "path=/service/tickets,page=2,body="+body)
			got, err = drain(e.client.Tickets(bg, helpdesk.Query{PageSize: 100}))
			if err == nil {
				t.Fatalf("a PSA answering %s on page 2 every time: stream ended without error after %d of %d tickets", body, len(got), len(want))
			}
			if !helpdesk.Retryable(err) || len(got) != 100 {
				t.Errorf("err = %v after %d tickets; want a retryable error after page 1", err, len(got))
			}
		})
	}
}

// TestBadRecordIsSkippedWithItsID: a record whose id is a string, or whose
// summary is over the field bound, is left out and reported with its id;
// the rest of the entity is read.
func TestBadRecordIsSkippedWithItsID(t *testing.T) {
	tests := []struct {
		fault  string
		reason string
	}{
		{"path=/service/tickets,page=2,times=1,record=2,body=wrongtype", "cannot unmarshal string"},
		{"path=/service/tickets,page=2,times=1,record=2,body=bigfield,field=summary,size=10000", "field summary is 10002 bytes, over the limit of 4 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			e := newEnv(t, envOpts{tickets: 250, cfg: func(c *connectwise.Config) { c.MaxFieldBytes = 4096 }})
			want := worldTicketIDs(e.world, nil)
			bad := want[102]
			e.pageFault(t, tt.fault)
			var mu sync.Mutex
			var skipped []helpdesk.Skipped
			got, err := drain(e.client.Tickets(bg, helpdesk.Query{PageSize: 100, Skip: func(s helpdesk.Skipped) {
				mu.Lock()
				defer mu.Unlock()
				skipped = append(skipped, s)
			}}))
			if err != nil {
				t.Fatalf("one bad record failed the entity: %v", err)
			}
			if !slices.Equal(ticketIDs(got), slices.DeleteFunc(slices.Clone(want), func(id string) bool { return id == bad })) {
				t.Errorf("got %d tickets, want every one but %s", len(got), bad)
			}
			if len(skipped) != 1 || skipped[0].ID != bad || skipped[0].Entity != helpdesk.EntityTickets ||
				!strings.Contains(skipped[0].Reason, tt.reason) {
				t.Errorf("skipped = %+v, want ticket %s (%s)", skipped, bad, tt.reason)
			}
		})
	}
}

// TestOversizedPages: a page over the response bound is asked for again
// in smaller pages; a PSA whose every answer is over the bound fails the
// walk, naming the limit, without fetching any answer twice.
func TestOversizedPages(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 250, cfg: func(c *connectwise.Config) { c.MaxResponseBytes = 256 << 10 }})
	want := worldTicketIDs(e.world, nil)
	e.pageFault(t, "path=/service/tickets,page=2,times=1,body=oversized,size=400000")
	got, err := drain(e.client.Tickets(bg, helpdesk.Query{PageSize: 100}))
	if err != nil || !slices.Equal(ticketIDs(got), want) {
		t.Fatalf("one oversized answer: %d tickets, err %v; want all %d", len(got), err, len(want))
	}

	e.pageFault(t, "path=/service/tickets,page=2,body=oversized,size=400000")
	before := e.pathCount("/service/tickets")
	got, err = drain(e.client.Tickets(bg, helpdesk.Query{PageSize: 100}))
	var tl *transport.TooLargeError
	if !errors.As(err, &tl) || !strings.Contains(err.Error(), "larger than the limit of 256 KiB") {
		t.Fatalf("err = %v, want the response bound named", err)
	}
	// Page 1, then pages of 100, 12 and 1 and the id of the one record:
	// each answer once.
	if n := e.pathCount("/service/tickets") - before; len(got) != 100 || n != 5 {
		t.Errorf("%d tickets, %d requests; want page 1 then 4 refused answers", len(got), n)
	}
}

// TestHugeRecordIsSkippedWithItsID: a ticket whose summary alone is over
// the response bound is skipped and reported with its id; the tickets
// around it are read, in smaller pages only near it.
func TestHugeRecordIsSkippedWithItsID(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 250, cfg: func(c *connectwise.Config) { c.MaxResponseBytes = 256 << 10 }})
	want := worldTicketIDs(e.world, nil)
	huge := want[150]
	id, _ := strconv.ParseInt(huge, 10, 64)
	if _, err := e.world.UpdateTicket(id, sandbox.UI(0), func(t *sandbox.Ticket) error {
		t.Summary = strings.Repeat("spam ", 60000)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var skipped []helpdesk.Skipped
	got, err := drain(e.client.Tickets(bg, helpdesk.Query{PageSize: 100, Skip: func(s helpdesk.Skipped) { skipped = append(skipped, s) }}))
	if err != nil {
		t.Fatalf("one huge record failed the entity: %v", err)
	}
	if !slices.Equal(ticketIDs(got), slices.DeleteFunc(slices.Clone(want), func(id string) bool { return id == huge })) {
		t.Errorf("got %d tickets, want all but %s", len(got), huge)
	}
	if len(skipped) != 1 || skipped[0].ID != huge || !strings.Contains(skipped[0].Reason, "response limit of 256 KiB") {
		t.Errorf("skipped = %+v, want ticket %s", skipped, huge)
	}
	if n := e.pathCount("/service/tickets"); n > 14 {
		t.Errorf("%d requests for 250 tickets and one huge one", n)
	}
}

// TestSmallListsEndWithoutAnEmptyPage: picklists are walked with the Link
// header's rel="next" (left out on the last page), one request per list.
func TestSmallListsEndWithoutAnEmptyPage(t *testing.T) {
	e := newEnv(t, envOpts{})
	if _, err := e.client.Codebase(bg); err != nil {
		t.Fatal(err)
	}
	e.requests.Store(0)
	if _, err := e.client.Picklists(bg); err != nil {
		t.Fatal(err)
	}
	boards := len(e.world.Queues())
	if want := int64(2 + 2*boards); e.requests.Load() != want {
		t.Errorf("picklists took %d requests for %d boards, want %d (boards, priorities, statuses and types of each)",
			e.requests.Load(), boards, want)
	}
	e.requests.Store(0)
	ids := worldTicketIDs(e.world, nil)
	if _, err := e.client.Notes(bg, ids[0]); err != nil {
		t.Fatal(err)
	}
	if n := e.requests.Load(); n != 1 {
		t.Errorf("notes of one ticket took %d requests, want 1", n)
	}
}

func TestAPIUserIsTheKeysMember(t *testing.T) {
	e := newEnv(t, envOpts{})
	m, err := e.client.APIUser(bg)
	if err != nil {
		t.Fatal(err)
	}
	api := e.world.APIUser()
	if m.ExternalID != strconv.FormatInt(api.ID, 10) || m.Identifier != api.Identifier {
		t.Errorf("APIUser = %+v, want member %d (%s)", m, api.ID, api.Identifier)
	}
	before := e.pathCount("/system/myMembers")
	if _, err := e.client.APIUser(bg); err != nil || e.pathCount("/system/myMembers") != before {
		t.Errorf("second APIUser asked the PSA again (err %v)", err)
	}
}

// TestBrokenRecordAnswer: a one-ticket read answered with an empty body
// or null is retried, and then an error: never an empty ticket, never
// "not found".
func TestBrokenRecordAnswer(t *testing.T) {
	for _, body := range []string{"empty", "null", "html"} {
		e := newEnv(t, envOpts{tickets: 5})
		id := worldTicketIDs(e.world, nil)[2]
		e.pageFault(t, "path=/service/tickets/"+id+",times=1,body="+body)
		if tk, err := e.client.GetTicket(bg, id); err != nil || tk.ExternalID != id {
			t.Errorf("%s once: ticket %q, err %v; want ticket %s after a retry", body, tk.ExternalID, err, id)
		}
		e.pageFault(t, "path=/service/tickets/"+id+",body="+body)
		tk, err := e.client.GetTicket(bg, id)
		if err == nil || errors.Is(err, helpdesk.ErrNotFound) || !helpdesk.Retryable(err) {
			t.Errorf("%s always: ticket %q, err %v; want a retryable error", body, tk.ExternalID, err)
		}
	}
}
