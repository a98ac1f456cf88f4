package smoke

import (
	"context"
	"iter"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	_ "github.com/horizon/reconciler/internal/store/sqlite"
)

// fakePSA is a PSA with one board; methods the smoke test does not call
// are left to the embedded nil interface (a call panics).
type fakePSA struct {
	helpdesk.Provider
	mu      sync.Mutex
	tickets map[string]helpdesk.Ticket
	notes   map[string][]helpdesk.Note
	times   map[string][]helpdesk.TimeEntry
	nextID  int
	revoked bool
	// onCreate runs after a ticket is made (the daemon's callback, a
	// poll).
	onCreate func(t helpdesk.Ticket)
	// hooks are the webhook registrations the PSA holds.
	hooks []helpdesk.Webhook
}

// DesiredWebhooks asks for one managed registration of spec's URL.
func (p *fakePSA) DesiredWebhooks(spec helpdesk.WebhookSpec) []helpdesk.Webhook {
	return []helpdesk.Webhook{{Key: "tickets", Name: "horizon tickets", URL: spec.URL, Events: spec.Events, Active: true, Managed: true}}
}

func (p *fakePSA) Webhooks(context.Context) ([]helpdesk.Webhook, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.err(); err != nil {
		return nil, err
	}
	return slices.Clone(p.hooks), nil
}

var fakeStatuses = []helpdesk.PicklistValue{
	{ID: "1", Name: "New", Active: true, Default: true},
	{ID: "2", Name: "In Progress", Active: true},
	{ID: "9", Name: "Closed", Active: true, Closed: true},
}

func newFakePSA() *fakePSA {
	p := &fakePSA{tickets: map[string]helpdesk.Ticket{}, notes: map[string][]helpdesk.Note{}, times: map[string][]helpdesk.TimeEntry{}, nextID: 100}
	p.tickets["1"] = helpdesk.Ticket{ExternalID: "1", Summary: "Printer", CompanyID: "c1", ContactID: "k1",
		Queue: helpdesk.Ref{ID: "b1", Name: "Help Desk"}, Status: helpdesk.Ref{ID: "1", Name: "New"}}
	return p
}

func (p *fakePSA) err() error {
	if p.revoked {
		return helpdesk.ErrUnauthorized
	}
	return nil
}

func (p *fakePSA) Name() string { return "FakePSA" }

func (p *fakePSA) Ping(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err()
}

func (p *fakePSA) Picklists(context.Context) ([]helpdesk.Picklist, error) {
	return []helpdesk.Picklist{
		{Kind: helpdesk.PicklistQueue, Values: []helpdesk.PicklistValue{{ID: "b1", Name: "Help Desk", Active: true}}},
		{Kind: helpdesk.PicklistStatus, Scope: "Help Desk", ScopeID: "b1", Values: fakeStatuses},
	}, p.err()
}

func (p *fakePSA) Tickets(context.Context, helpdesk.Query) iter.Seq2[[]helpdesk.Ticket, error] {
	return func(yield func([]helpdesk.Ticket, error) bool) {
		p.mu.Lock()
		page := []helpdesk.Ticket{p.tickets["1"]}
		p.mu.Unlock()
		yield(page, nil)
	}
}

func (p *fakePSA) CreateTicket(_ context.Context, nt helpdesk.NewTicket) (helpdesk.Ticket, error) {
	p.mu.Lock()
	if err := p.err(); err != nil {
		p.mu.Unlock()
		return helpdesk.Ticket{}, err
	}
	p.nextID++
	t := helpdesk.Ticket{ExternalID: strconv.Itoa(p.nextID), Summary: nt.Summary, CompanyID: nt.CompanyID,
		Queue: helpdesk.Ref{ID: nt.QueueID}, Status: helpdesk.Ref{ID: nt.StatusID}, UpdatedAt: time.Now().UTC()}
	p.tickets[t.ExternalID] = t
	on := p.onCreate
	p.mu.Unlock()
	if on != nil {
		on(t)
	}
	return t, nil
}

func (p *fakePSA) GetTicket(_ context.Context, id string) (helpdesk.Ticket, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.err(); err != nil {
		return helpdesk.Ticket{}, err
	}
	t, ok := p.tickets[id]
	if !ok {
		return t, helpdesk.ErrNotFound
	}
	return t, nil
}

func (p *fakePSA) UpdateTicket(_ context.Context, id string, u helpdesk.TicketUpdate) (helpdesk.Ticket, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.err(); err != nil {
		return helpdesk.Ticket{}, err
	}
	t := p.tickets[id]
	if u.StatusID != "" {
		t.Status = helpdesk.Ref{ID: u.StatusID}
		t.Closed = u.StatusID == "9"
	}
	if u.AssigneeID != "" {
		t.AssigneeID = u.AssigneeID
	}
	p.tickets[id] = t
	return t, nil
}

func (p *fakePSA) Notes(_ context.Context, id string) ([]helpdesk.Note, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.notes[id], p.err()
}

func (p *fakePSA) FindTimeEntry(_ context.Context, id, marker string) (helpdesk.TimeEntry, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.times[id] {
		if strings.Contains(e.Notes, marker) {
			return e, true, nil
		}
	}
	return helpdesk.TimeEntry{}, false, p.err()
}

// fakeWriter delivers writes straight to the fake PSA as member m7, or
// answers refusals.
type fakeWriter struct {
	p      *fakePSA
	refuse map[string]string // op → the PSA's answer
	n      int64
}

func (w *fakeWriter) Write(ctx context.Context, r Write) (Written, error) {
	w.n++
	out := Written{ID: w.n, State: store.OutboxDone, Marker: "hz-w" + strconv.FormatInt(w.n, 10), MemberID: "m7", MemberName: "Jane Doe"}
	if a, ok := w.refuse[r.Op]; ok {
		out.State, out.Answer = "failed", a
		return out, nil
	}
	var err error
	switch r.Op {
	case OpStatus:
		st := map[string]string{"In Progress": "2", "New": "1"}[r.Status]
		_, err = w.p.UpdateTicket(ctx, r.TicketID, helpdesk.TicketUpdate{StatusID: st})
	case OpAssign:
		_, err = w.p.UpdateTicket(ctx, r.TicketID, helpdesk.TicketUpdate{AssigneeID: "m7"})
	case OpNote:
		w.p.mu.Lock()
		out.ResultID = "n" + strconv.FormatInt(w.n, 10)
		w.p.notes[r.TicketID] = append(w.p.notes[r.TicketID], helpdesk.Note{ExternalID: out.ResultID, Text: r.Text, Internal: true, AuthorID: "m7"})
		w.p.mu.Unlock()
	case OpTime:
		w.p.mu.Lock()
		w.p.times[r.TicketID] = append(w.p.times[r.TicketID], helpdesk.TimeEntry{ExternalID: "t1", Hours: r.Hours, MemberID: "m7", Notes: out.Marker})
		w.p.mu.Unlock()
	}
	if err != nil {
		out.State, out.Answer = "failed", err.Error()
	}
	return out, nil
}

// fakeSyncer copies tickets from the fake PSA into the store.
type fakeSyncer struct {
	p     *fakePSA
	st    store.Store
	scope store.Scope
	polls int
}

func (s *fakeSyncer) SyncTicket(ctx context.Context, id, _ string) (store.SyncRun, error) {
	t, err := s.p.GetTicket(ctx, id)
	if err != nil {
		return store.SyncRun{}, err
	}
	_, err = s.st.WriteBatch(ctx, s.scope, store.Batch{Entity: helpdesk.EntityTickets, Tickets: []helpdesk.Ticket{t}})
	return store.SyncRun{}, err
}

func (s *fakeSyncer) SyncEntity(ctx context.Context, _ helpdesk.Entity, _ string, _ bool) ([]store.SyncRun, error) {
	s.polls++
	if err := s.p.err(); err != nil {
		return nil, err
	}
	s.p.mu.Lock()
	var all []helpdesk.Ticket
	for _, t := range s.p.tickets {
		all = append(all, t)
	}
	s.p.mu.Unlock()
	_, err := s.st.WriteBatch(ctx, s.scope, store.Batch{Entity: helpdesk.EntityTickets, Tickets: all})
	return nil, err
}

type fakeEnv struct {
	psa    *fakePSA
	writer *fakeWriter
	sync   *fakeSyncer
	opts   Options
}

func newFakeEnv(t *testing.T) *fakeEnv {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "horizon.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	scope := store.Scope{Account: "acme", Provider: helpdesk.HaloPSA}
	seed(t, st, scope)
	cfg := &config.Config{Account: config.Account{Name: "acme"}, Callbacks: &config.Callbacks{URL: "https://h.example/callbacks/connectwise"},
		Sync: config.Sync{Entities: []config.Entity{config.EntityTickets, config.EntityTimeEntries}}}
	cfg.ApplyDefaults()
	cfg.Smoke.CallbackTimeout = config.Duration(300 * time.Millisecond)
	p := newFakePSA()
	e := &fakeEnv{psa: p, writer: &fakeWriter{p: p}, sync: &fakeSyncer{p: p, st: st, scope: scope}}
	e.opts = Options{Provider: p, Store: st, Scope: scope, Config: cfg, Writer: e.writer, Syncer: e.sync,
		Daemon: true, File: "horizon.yaml", Logger: slog.New(slog.DiscardHandler), Tick: 10 * time.Millisecond, PollWait: 300 * time.Millisecond}
	return e
}

// callbacks makes the fake daemon store each new ticket and log its
// callback, as the receiver and dispatcher do.
func (e *fakeEnv) callbacks(t *testing.T) {
	e.psa.onCreate = func(tk helpdesk.Ticket) {
		ctx := context.Background()
		if _, err := e.opts.Store.WriteBatch(ctx, e.opts.Scope, store.Batch{Entity: helpdesk.EntityTickets, Tickets: []helpdesk.Ticket{tk}}); err != nil {
			t.Error(err)
		}
		if _, _, err := e.opts.Store.InsertCallbacks(ctx, e.opts.Scope, []store.CallbackRecord{{ReceivedAt: time.Now().UTC(),
			Provider: "connectwise", Event: "ticket.created", DeliveryID: "d-" + tk.ExternalID, ExternalIDs: []string{tk.ExternalID},
			Verified: true, Result: store.CallbackProcessed}}); err != nil {
			t.Error(err)
		}
	}
}

// seed maps jane@msp.example to the active member m7.
func seed(t *testing.T, st store.Store, scope store.Scope) {
	t.Helper()
	ctx := context.Background()
	if _, err := st.WriteBatch(ctx, scope, store.Batch{Entity: helpdesk.EntityMembers,
		Members: []helpdesk.Member{{ExternalID: "m7", Name: "Jane Doe", Active: true}}}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetUserMapping(ctx, scope, store.UserMapping{HelpdeskUserID: "m7", HorizonUser: "jane@msp.example"}); err != nil {
		t.Fatal(err)
	}
}

// useProvider makes the account one of another provider.
func (e *fakeEnv) useProvider(t *testing.T, p string) {
	e.opts.Scope.Provider, e.sync.scope = p, store.Scope{Account: "acme", Provider: p}
	seed(t, e.opts.Store, e.opts.Scope)
}
