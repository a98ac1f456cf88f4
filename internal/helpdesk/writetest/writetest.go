// Package writetest is the write-back contract every PSA client must meet,
// run against that PSA's sandbox emulator: creates carry a marker that the
// Find methods see, updates and notes land with the right attribution,
// the PSA's refusals come back as final errors with its own words, and no
// injected fault (429, 5xx, an answer lost after the write was applied)
// makes a write vanish or happen twice when the caller follows the
// contract (look for the marker before sending again).
package writetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// Fixture is one provider client against a fresh sandbox.
type Fixture struct {
	Provider helpdesk.Provider
	World    *sandbox.World
	Faults   *sandbox.Faults
	// ID renders a World record ID (ticket, member, company, contact,
	// queue) as the provider's ID.
	ID func(int64) string
	// ActsAsMember is true where the PSA records a ticket change made with
	// MemberID as that member's (Autotask impersonation); false where the
	// API user makes every change.
	ActsAsMember bool
	// NoteAuthor is true where the PSA records a note's MemberID as its
	// author; false where the note is the API user's and the author's name
	// is put in the text instead.
	NoteAuthor bool
}

// Run runs the contract; newFixture is called once per subtest.
func Run(t *testing.T, newFixture func(t *testing.T) Fixture) {
	for _, tc := range []struct {
		name string
		f    func(*testing.T, *suite)
	}{
		{"CreateTicket", testCreateTicket},
		{"UpdateTicket", testUpdateTicket},
		{"AddNote", testAddNote},
		{"AddTimeEntry", testAddTimeEntry},
		{"UnknownStatus", testUnknownStatus},
		{"InactiveAssignee", testInactiveAssignee},
		{"DeletedTicket", testDeletedTicket},
		{"RateLimitedWrite", testRateLimited},
		{"ServerErrorOnWrite", testServerError},
		{"LostAnswer", testLostAnswer},
		{"SlowWrite", testSlowWrite},
		{"FindFailsLoudly", testFindFails},
		{"BadMarker", testBadMarker},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.f(t, &suite{Fixture: newFixture(t), t: t})
		})
	}
}

type suite struct {
	Fixture
	t *testing.T
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// ticket returns a live ticket whose queue has at least two statuses and
// a type, and an active member who is not its assignee nor the API user.
func (s *suite) ticket() (sandbox.Ticket, sandbox.Queue, sandbox.Member) {
	s.t.Helper()
	all, _ := s.World.QueryTickets(sandbox.TicketQuery{})
	queues := map[int64]sandbox.Queue{}
	for _, q := range s.World.Queues() {
		queues[q.ID] = q
	}
	for _, t := range all {
		q := queues[t.QueueID]
		if len(openStatuses(q)) < 2 || len(q.Types) == 0 {
			continue
		}
		for _, m := range s.World.Members() {
			if m.Active && !m.APIUser && m.ID != t.AssigneeID {
				return t, q, m
			}
		}
	}
	s.t.Fatal("the sandbox has no ticket fit for the test")
	return sandbox.Ticket{}, sandbox.Queue{}, sandbox.Member{}
}

func openStatuses(q sandbox.Queue) []sandbox.Status {
	var out []sandbox.Status
	for _, st := range q.Statuses {
		if !st.Inactive && !st.Closed {
			out = append(out, st)
		}
	}
	return out
}

// pick returns the provider's ID of the picklist value named name, in the
// picklist of kind scoped to queue (or global).
func (s *suite) pick(kind helpdesk.PicklistKind, queue int64, name string) string {
	s.t.Helper()
	pls, err := s.Provider.Picklists(ctx(s.t))
	if err != nil {
		s.t.Fatalf("picklists: %v", err)
	}
	for _, pl := range pls {
		if pl.Kind != kind || (pl.ScopeID != "" && pl.ScopeID != s.ID(queue)) {
			continue
		}
		for _, v := range pl.Values {
			if strings.EqualFold(v.Name, name) {
				return v.ID
			}
		}
	}
	s.t.Fatalf("no %s value %q for queue %d", kind, name, queue)
	return ""
}

// unknownStatus is a status the PSA does not have, in the form its IDs
// take.
func (s *suite) unknownStatus(q sandbox.Queue) string {
	known := s.pick(helpdesk.PicklistStatus, q.ID, q.Statuses[0].Name)
	if _, err := strconv.ParseInt(known, 10, 64); err == nil {
		return "987654321"
	}
	return "No Such Status"
}

func marker(t *testing.T, what string) string {
	return fmt.Sprintf("hz-%s-%d", what, time.Now().UnixNano()%1e9)
}

func (s *suite) notesWith(ticket int64, m string) []sandbox.Note {
	var out []sandbox.Note
	for _, n := range s.World.Notes(ticket) {
		if helpdesk.HasMarker(n.Text, m) {
			out = append(out, n)
		}
	}
	return out
}

func (s *suite) timeWith(ticket int64, m string) []sandbox.TimeEntry {
	var out []sandbox.TimeEntry
	for _, te := range s.World.TimeEntries(ticket) {
		if helpdesk.HasMarker(te.Notes, m) {
			out = append(out, te)
		}
	}
	return out
}

func (s *suite) ticketsWith(m string) []sandbox.Ticket {
	all, _ := s.World.QueryTickets(sandbox.TicketQuery{Filter: func(t *sandbox.Ticket) bool {
		return t.ExternalRef == m || helpdesk.HasMarker(t.Description, m)
	}})
	return all
}

// final asserts err is the PSA refusing the write: not worth retrying,
// of one of kinds, with the PSA's own message.
func final(t *testing.T, what string, err error, kinds ...error) {
	t.Helper()
	var he *helpdesk.Error
	if err == nil || !errors.As(err, &he) {
		t.Fatalf("%s: err = %v, want a *helpdesk.Error", what, err)
	}
	if helpdesk.Retryable(err) {
		t.Errorf("%s: %v is retryable, want final", what, err)
	}
	ok := false
	for _, k := range kinds {
		ok = ok || errors.Is(err, k)
	}
	if !ok {
		t.Errorf("%s: kind of %v, want one of %v", what, err, kinds)
	}
	if strings.TrimSpace(he.Message) == "" {
		t.Errorf("%s: %v carries no message from the PSA", what, err)
	}
}

// unknown asserts err leaves the outcome open: retryable, so that the
// caller looks for the marker before sending again.
func unknown(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil || !helpdesk.Retryable(err) {
		t.Fatalf("%s: err = %v, want a retryable (outcome unknown) error", what, err)
	}
}
