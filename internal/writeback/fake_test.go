package writeback

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	_ "github.com/horizon/reconciler/internal/store/sqlite"
)

// fakePSA is a PSA that keeps notes, time entries and tickets in memory,
// with faults a test arms: answers lost after the write is applied, 429s,
// 5xx before anything is applied, refusals, and no search by marker.
type fakePSA struct {
	helpdesk.Provider // unused methods panic

	mu       sync.Mutex
	notes    map[string][]helpdesk.Note // by ticket
	entries  []helpdesk.TimeEntry
	tickets  map[string]helpdesk.Ticket
	updates  []helpdesk.TicketUpdate
	seq      int
	inFlight map[string]bool
	overlap  []string // tickets that saw two writes at once
	// faults, consumed one per call
	faults      []error
	loseAnswers int // apply, then answer with a transient error
	noSearch    bool
	apiUser     *helpdesk.Member
	delay       time.Duration
}

func newFakePSA() *fakePSA {
	return &fakePSA{notes: map[string][]helpdesk.Note{}, tickets: map[string]helpdesk.Ticket{}, inFlight: map[string]bool{}}
}

func (f *fakePSA) Name() string { return helpdesk.ConnectWise }

// begin marks a ticket busy and takes the next fault: err refuses the
// write, lose applies it and loses the answer.
func (f *fakePSA) begin(ticket string) (lose bool, end func(), err error) {
	f.mu.Lock()
	if f.inFlight[ticket] {
		f.overlap = append(f.overlap, ticket)
	}
	f.inFlight[ticket] = true
	if len(f.faults) > 0 {
		err, f.faults = f.faults[0], f.faults[1:]
	}
	if err == nil && f.loseAnswers > 0 {
		f.loseAnswers--
		lose = true
	}
	d := f.delay
	f.mu.Unlock()
	if d > 0 {
		time.Sleep(d) // the PSA's latency, so that overlapping writes would show
	}
	return lose, func() {
		f.mu.Lock()
		f.inFlight[ticket] = false
		f.mu.Unlock()
	}, err
}

var errLost = &helpdesk.Error{Provider: "fake", Kind: helpdesk.ErrTransient, Message: "connection reset after the request was sent"}

func (f *fakePSA) AddNote(ctx context.Context, ticketID string, n helpdesk.NewNote) (helpdesk.Note, error) {
	lose, end, err := f.begin(ticketID)
	defer end()
	if err != nil {
		return helpdesk.Note{}, err
	}
	if _, ok := f.tickets[ticketID]; !ok && len(f.tickets) > 0 {
		return helpdesk.Note{}, &helpdesk.Error{Kind: helpdesk.ErrNotFound, Status: 404, Message: "ticket not found"}
	}
	f.mu.Lock()
	f.seq++
	note := helpdesk.Note{ExternalID: fmt.Sprint(9000 + f.seq), TicketID: ticketID, Text: n.Text + "\n" + n.Marker,
		Internal: n.Internal, AuthorID: n.MemberID, CreatedAt: time.Date(2024, 3, 1, 12, 0, f.seq, 0, time.UTC)}
	f.notes[ticketID] = append(f.notes[ticketID], note)
	f.mu.Unlock()
	if lose {
		return helpdesk.Note{}, errLost
	}
	return note, nil
}

func (f *fakePSA) FindNote(ctx context.Context, ticketID, marker string) (helpdesk.Note, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.noSearch {
		return helpdesk.Note{}, false, fmt.Errorf("fake: find note: %w", helpdesk.ErrUnsupported)
	}
	for _, n := range f.notes[ticketID] {
		if strings.Contains(n.Text, marker) {
			return n, true, nil
		}
	}
	return helpdesk.Note{}, false, nil
}

func (f *fakePSA) AddTimeEntry(ctx context.Context, e helpdesk.NewTimeEntry) (helpdesk.TimeEntry, error) {
	lose, end, err := f.begin(e.TicketID)
	defer end()
	if err != nil {
		return helpdesk.TimeEntry{}, err
	}
	f.mu.Lock()
	f.seq++
	te := helpdesk.TimeEntry{ExternalID: fmt.Sprint(7000 + f.seq), TicketID: e.TicketID, MemberID: e.MemberID,
		Start: e.Start, Hours: e.Hours, Notes: e.Notes + " " + e.Marker, UpdatedAt: e.Start}
	f.entries = append(f.entries, te)
	f.mu.Unlock()
	if lose {
		return helpdesk.TimeEntry{}, errLost
	}
	return te, nil
}

func (f *fakePSA) FindTimeEntry(ctx context.Context, ticketID, marker string) (helpdesk.TimeEntry, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, te := range f.entries {
		if te.TicketID == ticketID && strings.Contains(te.Notes, marker) {
			return te, true, nil
		}
	}
	return helpdesk.TimeEntry{}, false, nil
}

func (f *fakePSA) CreateTicket(ctx context.Context, t helpdesk.NewTicket) (helpdesk.Ticket, error) {
	lose, end, err := f.begin("new")
	defer end()
	if err != nil {
		return helpdesk.Ticket{}, err
	}
	f.mu.Lock()
	f.seq++
	tk := helpdesk.Ticket{ExternalID: fmt.Sprint(500 + f.seq), Summary: t.Summary, Description: t.Marker,
		Status: helpdesk.Ref{ID: t.StatusID}, Queue: helpdesk.Ref{ID: t.QueueID}, Priority: helpdesk.Ref{ID: t.PriorityID},
		CreatedAt: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2024, 3, 1, 12, 0, f.seq, 0, time.UTC)}
	f.tickets[tk.ExternalID] = tk
	f.mu.Unlock()
	if lose {
		return helpdesk.Ticket{}, errLost
	}
	return tk, nil
}

func (f *fakePSA) FindTicket(ctx context.Context, marker string, since time.Time) (helpdesk.Ticket, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.tickets {
		if t.Description == marker {
			return t, true, nil
		}
	}
	return helpdesk.Ticket{}, false, nil
}

func (f *fakePSA) UpdateTicket(ctx context.Context, id string, u helpdesk.TicketUpdate) (helpdesk.Ticket, error) {
	_, end, err := f.begin(id)
	defer end()
	if err != nil {
		return helpdesk.Ticket{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates = append(f.updates, u)
	t := f.tickets[id]
	t.ExternalID = id
	if u.StatusID != "" {
		t.Status = helpdesk.Ref{ID: u.StatusID}
	}
	if u.AssigneeID != "" {
		t.AssigneeID = u.AssigneeID
	}
	f.seq++
	t.UpdatedAt = time.Date(2024, 3, 2, 12, 0, f.seq, 0, time.UTC)
	f.tickets[id] = t
	return t, nil
}

func (f *fakePSA) APIUser(ctx context.Context) (helpdesk.Member, error) {
	if f.apiUser == nil {
		return helpdesk.Member{}, fmt.Errorf("fake: api user: %w", helpdesk.ErrUnsupported)
	}
	return *f.apiUser, nil
}

func (f *fakePSA) noteCount(ticket string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.notes[ticket])
}

// harness is an engine on a fresh SQLite store with a directory: Jane
// and Bob mapped, a Service Desk board with statuses.
type harness struct {
	t   *testing.T
	st  store.Store
	psa *fakePSA
	cfg *config.Config
	e   *Engine
	now time.Time
}

var scope = store.Scope{Account: "acme", Provider: helpdesk.ConnectWise}

func newHarness(t *testing.T, mutate ...func(*config.Config)) *harness {
	t.Helper()
	st, err := store.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := t.Context()
	_, err = st.WriteBatch(ctx, scope, store.Batch{Entity: helpdesk.EntityMembers, Members: []helpdesk.Member{
		{ExternalID: "17", Identifier: "jdoe", Name: "Jane Doe", Active: true, UpdatedAt: time.Unix(1, 0)},
		{ExternalID: "18", Identifier: "bsmith", Name: "Bob Smith", Active: true, UpdatedAt: time.Unix(1, 0)},
		{ExternalID: "19", Identifier: "gone", Name: "Old Timer", Active: false, UpdatedAt: time.Unix(1, 0)},
	}})
	must(t, err)
	for id, user := range map[string]string{"17": "jane.doe@acme-msp.com", "18": "bob.smith@acme-msp.com", "19": "old@acme-msp.com"} {
		must(t, st.SetUserMapping(ctx, scope, store.UserMapping{HelpdeskUserID: id, HorizonUser: user}))
	}
	must(t, st.ReplacePicklists(ctx, scope, []helpdesk.Picklist{
		{Kind: helpdesk.PicklistQueue, Values: []helpdesk.PicklistValue{{ID: "1", Name: "Service Desk", Active: true}, {ID: "2", Name: "Projects", Active: true}}},
		{Kind: helpdesk.PicklistStatus, Scope: "Service Desk", ScopeID: "1", Values: []helpdesk.PicklistValue{
			{ID: "10", Name: "New", Active: true}, {ID: "11", Name: "In Progress", Active: true}, {ID: "12", Name: "Old", Active: false}}},
		{Kind: helpdesk.PicklistStatus, Scope: "Projects", ScopeID: "2", Values: []helpdesk.PicklistValue{{ID: "20", Name: "Planning", Active: true}}},
		{Kind: helpdesk.PicklistPriority, Values: []helpdesk.PicklistValue{{ID: "3", Name: "Priority 3 - Normal", Active: true}}},
	}, time.Unix(1, 0)))
	_, err = st.WriteBatch(ctx, scope, store.Batch{Entity: helpdesk.EntityTickets, Tickets: []helpdesk.Ticket{
		{ExternalID: "4711", Summary: "Printer", Queue: helpdesk.Ref{ID: "1", Name: "Service Desk"}, UpdatedAt: time.Unix(1, 0)},
		{ExternalID: "4712", Summary: "Project", Queue: helpdesk.Ref{ID: "2", Name: "Projects"}, UpdatedAt: time.Unix(1, 0)},
	}})
	must(t, err)
	cfg := &config.Config{Account: config.Account{Name: "acme"}, Writeback: &config.Writeback{Enabled: true,
		Defaults: config.TicketDefaults{Queue: "Service Desk", Status: "New", Priority: "Priority 3 - Normal"}}}
	cfg.ApplyDefaults()
	for _, m := range mutate {
		m(cfg)
	}
	h := &harness{t: t, st: st, psa: newFakePSA(), cfg: cfg, now: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)}
	h.psa.tickets["4711"] = helpdesk.Ticket{ExternalID: "4711"}
	h.psa.tickets["4712"] = helpdesk.Ticket{ExternalID: "4712"}
	h.e, err = New(Options{Store: st, Scope: scope, Provider: h.psa, Config: cfg, Logger: slog.New(slog.DiscardHandler),
		Backoff: func(int) time.Duration { return time.Second }, Now: func() time.Time { return h.now }})
	must(t, err)
	return h
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (h *harness) enqueue(r Request) store.Write {
	h.t.Helper()
	w, created, err := h.e.Enqueue(h.t.Context(), r)
	must(h.t, err)
	if !created {
		h.t.Fatalf("write %+v not created", r)
	}
	return w
}

// step claims what is due now and delivers it, one attempt each.
func (h *harness) step() []store.Write {
	h.t.Helper()
	ws, err := h.st.ClaimWrites(h.t.Context(), scope, 10, h.e.o.Lease, h.now)
	must(h.t, err)
	for _, w := range ws {
		h.e.process(h.t.Context(), w)
	}
	return ws
}

func (h *harness) write(id int64) store.Write {
	h.t.Helper()
	w, err := h.st.Write(h.t.Context(), scope, id)
	must(h.t, err)
	return w
}

func note(ticket, author, text string) Request {
	return Request{Op: store.OpAddNote, TicketID: ticket, Author: author, Note: &AddNote{Text: text, Internal: true}}
}
