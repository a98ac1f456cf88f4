package syncer

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/autotask"
	"github.com/horizon/reconciler/internal/helpdesk/connectwise"
	"github.com/horizon/reconciler/internal/helpdesk/halopsa"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	_ "github.com/horizon/reconciler/internal/helpdesk/sandbox/autotask"
	_ "github.com/horizon/reconciler/internal/helpdesk/sandbox/connectwise"
	_ "github.com/horizon/reconciler/internal/helpdesk/sandbox/halopsa"
	zdemu "github.com/horizon/reconciler/internal/helpdesk/sandbox/zohodesk"
	"github.com/horizon/reconciler/internal/helpdesk/zohodesk"
	"github.com/horizon/reconciler/internal/store"
	_ "github.com/horizon/reconciler/internal/store/sqlite"
)

// anchor is the sandbox World's "now" when generated.
var anchor = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// counter is an http.RoundTripper counting the requests it sends.
type counter struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// psaSpec is what the harness knows of one provider.
type psaSpec struct {
	name string
	// wireID maps a World ID to the provider's external ID.
	wireID func(int64) string
	// build returns a client for the emulator's fragment values.
	build func(cfg map[string]string, url string, hc *http.Client) (helpdesk.Provider, error)
	// precision is the wire format's time resolution.
	precision time.Duration
}

func decimal(id int64) string { return strconv.FormatInt(id, 10) }

var psaSpecs = []psaSpec{
	{name: helpdesk.ConnectWise, wireID: decimal, precision: time.Second,
		build: func(c map[string]string, url string, hc *http.Client) (helpdesk.Provider, error) {
			return connectwise.New(connectwise.Config{CompanyID: c["companyId"], ClientID: c["clientId"],
				PublicKey: helpdesk.Secret(c["publicKey"]), PrivateKey: helpdesk.Secret(c["privateKey"]),
				BaseURL: url, HTTPClient: hc, RatePerSecond: -1, MaxAttempts: 6,
				BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Logger: quietLogger()})
		}},
	{name: helpdesk.Autotask, wireID: decimal, precision: time.Millisecond,
		build: func(c map[string]string, url string, hc *http.Client) (helpdesk.Provider, error) {
			return autotask.New(autotask.Config{Username: c["username"], Secret: helpdesk.Secret(c["secret"]),
				IntegrationCode: helpdesk.Secret(c["integrationCode"]), BaseURL: url, HTTPClient: hc,
				RatePerSecond: -1, ThresholdCheckEvery: -1, MaxAttempts: 6, BaseBackoff: time.Millisecond,
				MaxBackoff: 5 * time.Millisecond, Logger: quietLogger()})
		}},
	{name: helpdesk.ZohoDesk, wireID: zdemu.WireID, precision: time.Millisecond,
		build: func(c map[string]string, url string, hc *http.Client) (helpdesk.Provider, error) {
			return zohodesk.New(zohodesk.Config{DataCenter: c["dataCenter"], OrgID: c["orgId"], ClientID: c["clientId"],
				ClientSecret: helpdesk.Secret(c["clientSecret"]), RefreshToken: helpdesk.Secret(c["refreshToken"]),
				BaseURL: url, HTTPClient: hc, Logger: quietLogger(),
				Tuning: zohodesk.Tuning{RatePerSecond: -1, MaxAttempts: 6, BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}})
		}},
	{name: helpdesk.HaloPSA, wireID: decimal, precision: time.Millisecond,
		build: func(c map[string]string, url string, hc *http.Client) (helpdesk.Provider, error) {
			return halopsa.New(halopsa.Config{BaseURL: url, Tenant: c["tenant"], ClientID: c["clientId"],
				ClientSecret: helpdesk.Secret(c["clientSecret"]), HTTPClient: hc, Logger: quietLogger(),
				RatePerSecond: -1, MaxAttempts: 6, BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
		}},
}

// fragmentValues reads the emulator's horizon.yaml helpdesk block,
// resolving {env: NAME} references from its Env.
func fragmentValues(t testing.TB, emu sandbox.Emulator, url string) map[string]string {
	t.Helper()
	var doc struct {
		Helpdesk map[string]any `yaml:"helpdesk"`
	}
	if err := yaml.Unmarshal([]byte(emu.ConfigFragment(url)), &doc); err != nil {
		t.Fatalf("%s config fragment: %v", emu.Provider(), err)
	}
	block, _ := doc.Helpdesk[emu.Provider()].(map[string]any)
	env := emu.Env()
	out := map[string]string{}
	for k, v := range block {
		switch v := v.(type) {
		case map[string]any:
			out[k] = env[fmt.Sprint(v["env"])]
		default:
			out[k] = fmt.Sprint(v)
		}
	}
	return out
}

// sandboxEnv is one provider's emulator over a World, a client for it
// counting its requests, and a SQLite store.
type sandboxEnv struct {
	spec   psaSpec
	clock  *clock
	world  *sandbox.World
	faults *sandbox.Faults
	emu    sandbox.Emulator
	reqs   *counter
	psa    helpdesk.Provider
	st     store.Store
	scope  store.Scope
	// statuses maps the provider's status IDs to names, from its
	// picklists: statuses are compared by name, as each PSA numbers them
	// its own way.
	statuses map[string]string
}

type sandboxOpts struct {
	tickets int
	timeout time.Duration // client HTTP timeout (default 10 s)
	st      store.Store   // default: a new SQLite store in t.TempDir()
}

func newSandboxEnv(t testing.TB, spec psaSpec, o sandboxOpts) *sandboxEnv {
	t.Helper()
	if o.tickets == 0 {
		o.tickets = 300
	}
	if o.timeout == 0 {
		o.timeout = 10 * time.Second
	}
	e := &sandboxEnv{spec: spec, clock: &clock{t: anchor}, faults: sandbox.NewFaults(5),
		scope: store.Scope{Account: "acme", Provider: spec.name}}
	e.world = sandbox.Generate(sandbox.GenOptions{Tickets: o.tickets, Seed: 11, Now: anchor, Clock: e.clock.Now})
	emu, err := sandbox.New(spec.name, sandbox.Options{World: e.world, Faults: e.faults, DeliveryScale: 0.0001,
		Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	e.emu = emu
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	t.Cleanup(emu.Close)
	e.reqs = &counter{next: http.DefaultTransport}
	hc := &http.Client{Transport: e.reqs, Timeout: o.timeout}
	if e.psa, err = spec.build(fragmentValues(t, emu, srv.URL), srv.URL, hc); err != nil {
		t.Fatal(err)
	}
	e.statuses = statusNames(t, e.psa)
	e.st = o.st
	if e.st == nil {
		e.st = openSQLite(t, filepath.Join(t.TempDir(), "horizon.db"))
	}
	return e
}

func openSQLite(t testing.TB, path string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func (e *sandboxEnv) syncer(t testing.TB, mod func(*Options)) *Syncer {
	t.Helper()
	o := Options{Scope: e.scope, Entities: []helpdesk.Entity{helpdesk.EntityTickets},
		IngestWindow: 30 * 24 * time.Hour, Logger: quietLogger(), Now: e.clock.Now}
	if mod != nil {
		mod(&o)
	}
	// A new Syncer stands for a new process, whose client has not yet
	// read the PSA's clock: read it now, as the test clock may have
	// jumped since the client's last answer (real clocks do not).
	if err := e.psa.Ping(context.Background()); err != nil {
		t.Fatalf("ping: %v", err)
	}
	s, err := New(e.psa, e.st, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func statusNames(t testing.TB, p helpdesk.Provider) map[string]string {
	t.Helper()
	pls, err := p.Picklists(context.Background())
	if err != nil {
		t.Fatalf("picklists: %v", err)
	}
	out := map[string]string{}
	for _, pl := range pls {
		if pl.Kind == helpdesk.PicklistStatus {
			for _, v := range pl.Values {
				out[v.ID] = v.Name
			}
		}
	}
	return out
}

// statusOf returns a synced ticket's status name.
func (e *sandboxEnv) statusOf(t helpdesk.Ticket) string {
	if t.Status.Name != "" {
		return t.Status.Name
	}
	return e.statuses[t.Status.ID]
}

// worldStatus returns a World status's name.
func (e *sandboxEnv) worldStatus(id int64) string {
	s, _, _ := e.world.Status(id)
	return s.Name
}

// worldTickets returns the World's live tickets updated after from, by
// external ID.
func (e *sandboxEnv) worldTickets(from time.Time) map[string]sandbox.Ticket {
	ts, _ := e.world.QueryTickets(sandbox.TicketQuery{Filter: func(t *sandbox.Ticket) bool { return t.Updated.After(from) }})
	out := make(map[string]sandbox.Ticket, len(ts))
	for _, t := range ts {
		out[e.spec.wireID(t.ID)] = t
	}
	return out
}

// storedTickets returns the store's tickets by external ID.
func (e *sandboxEnv) storedTickets(t testing.TB) map[string]helpdesk.Ticket {
	t.Helper()
	out := map[string]helpdesk.Ticket{}
	for tk, err := range e.st.Tickets(context.Background(), e.scope) {
		if err != nil {
			t.Fatal(err)
		}
		out[tk.ExternalID] = tk
	}
	return out
}

// compareWorld checks the store against the World object by object: every
// live ticket updated after from is stored with the World's summary,
// status and last-updated time, and no other ticket is stored live.
func (e *sandboxEnv) compareWorld(t testing.TB, from time.Time) {
	t.Helper()
	want, got := e.worldTickets(from), e.storedTickets(t)
	for id, w := range want {
		g, ok := got[id]
		switch {
		case !ok:
			t.Errorf("%s: ticket %s (updated %v) not stored", e.spec.name, id, w.Updated)
		case g.Summary != w.Summary || e.statusOf(g) != e.worldStatus(w.StatusID) || g.Deleted:
			t.Errorf("%s: ticket %s = {%q status %q deleted %v}, want {%q status %q}", e.spec.name, id,
				g.Summary, e.statusOf(g), g.Deleted, w.Summary, e.worldStatus(w.StatusID))
		case !g.UpdatedAt.Equal(w.Updated.Truncate(e.spec.precision)):
			t.Errorf("%s: ticket %s updated %v, want %v", e.spec.name, id, g.UpdatedAt, w.Updated)
		}
	}
	for id, g := range got {
		if _, ok := want[id]; !ok && !g.Deleted {
			t.Errorf("%s: stored ticket %s (updated %v) is not a live World ticket in the window", e.spec.name, id, g.UpdatedAt)
		}
	}
}

// supported returns the syncable entities the provider streams.
// Notes, fetched per ticket, have their own test (notes_sandbox_test.go).
func supported(p helpdesk.Provider) []helpdesk.Entity {
	var out []helpdesk.Entity
	for _, e := range syncable {
		if slices.Contains(p.Capabilities().Entities, e) && e != helpdesk.EntityNotes {
			out = append(out, e)
		}
	}
	return out
}

// TestSandbox syncs each provider's emulator into SQLite and compares the
// result with the World object by object: backfill, incremental sync after
// edits made in the PSA, a deleted ticket, and out-of-order updates.
func TestSandbox(t *testing.T) {
	for _, spec := range psaSpecs {
		t.Run(spec.name, func(t *testing.T) {
			t.Parallel()
			e := newSandboxEnv(t, spec, sandboxOpts{})
			s := e.syncer(t, func(o *Options) { o.Entities = supported(e.psa) })
			ctx := context.Background()

			runs, err := s.Sync(ctx, SyncOptions{Trigger: store.TriggerPoll})
			if err != nil {
				t.Fatalf("backfill: %v", err)
			}
			for _, r := range runs {
				if r.Entity != helpdesk.EntityPicklists && r.Trigger != store.TriggerBackfill {
					t.Errorf("first sync run %+v, want a backfill", r)
				}
			}
			from := anchor.Add(-30 * 24 * time.Hour)
			e.compareWorld(t, from)
			e.compareReference(t, s, from)

			t.Run("incremental", func(t *testing.T) { e.incremental(t, s) })
			t.Run("deleted", func(t *testing.T) { e.deleted(t, s) })
			t.Run("outOfOrder", func(t *testing.T) { e.outOfOrder(t, s) })
		})
	}
}

// compareReference checks the counts of the other entities against the
// World: reference data in full, time entries within the window.
func (e *sandboxEnv) compareReference(t *testing.T, s *Syncer, from time.Time) {
	t.Helper()
	want := map[helpdesk.Entity]int{helpdesk.EntityCompanies: len(e.world.Companies()),
		helpdesk.EntityContacts: len(e.world.Contacts()), helpdesk.EntityMembers: len(e.world.Members())}
	_, n := e.world.AllTimeEntries(func(te *sandbox.TimeEntry) bool { return te.Updated.After(from) }, 0, 0, 1)
	want[helpdesk.EntityTimeEntries] = n
	for _, ent := range s.Entities() {
		if ent == helpdesk.EntityTickets {
			continue
		}
		got, err := e.st.Count(context.Background(), e.scope, ent)
		if err != nil {
			t.Fatal(err)
		}
		if got != want[ent] && ent == helpdesk.EntityTimeEntries && timeEntriesViaTickets[e.spec.name] {
			t.Logf("KNOWN GAP %s: %d time entries stored, World has %d updated in the window: the client "+
				"finds time entries only through tickets updated in the window", e.spec.name, got, want[ent])
			continue
		}
		if got != want[ent] {
			t.Errorf("%s: %d %s stored, World has %d", e.spec.name, got, ent, want[ent])
		}
	}
}

// timeEntriesViaTickets lists the clients that stream time entries by
// walking the tickets updated since Query.Since, and whose PSA reports no
// last-modified time on a time entry (the client stamps it with another
// time), so the count in the window cannot be compared with the World's.
var timeEntriesViaTickets = map[string]bool{helpdesk.ZohoDesk: true, helpdesk.HaloPSA: true}

// ui is a member editing in the PSA's own UI.
func (e *sandboxEnv) ui() sandbox.Actor { return sandbox.UI(e.world.Members()[3].ID) }

// liveTickets returns the World's live tickets by ID order.
func (e *sandboxEnv) liveTickets() []sandbox.Ticket {
	ts, _ := e.world.QueryTickets(sandbox.TicketQuery{})
	return ts
}

// otherStatus returns a status of the ticket's queue other than its own.
func (e *sandboxEnv) otherStatus(tk sandbox.Ticket) int64 {
	for _, q := range e.world.Queues() {
		if q.ID == tk.QueueID {
			for _, st := range q.Statuses {
				if st.ID != tk.StatusID && !st.Closed {
					return st.ID
				}
			}
		}
	}
	return tk.StatusID
}

func (e *sandboxEnv) incremental(t *testing.T, s *Syncer) {
	ctx := context.Background()
	wm, _ := e.st.Watermark(ctx, e.scope, helpdesk.EntityTickets)
	e.clock.Set(anchor.Add(time.Hour))
	live := e.liveTickets()
	// Five edits in the window, one to a ticket outside it (it enters the
	// window), one new ticket.
	for _, tk := range []sandbox.Ticket{live[len(live)-1], live[len(live)-7], live[len(live)-20], live[len(live)-33], live[len(live)-40], live[0]} {
		status := e.otherStatus(tk) // World methods must not be called inside an edit
		if _, err := e.world.UpdateTicket(tk.ID, e.ui(), func(t *sandbox.Ticket) error {
			t.Summary += " (edited)"
			t.StatusID = status
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	e.world.CreateTicket(sandbox.Ticket{Summary: "Created in the PSA", QueueID: live[0].QueueID,
		StatusID: live[0].StatusID, PriorityID: live[0].PriorityID, TypeID: live[0].TypeID,
		CompanyID: live[0].CompanyID, ContactID: live[0].ContactID}, e.ui())
	runs, err := s.SyncEntity(ctx, helpdesk.EntityTickets, store.TriggerPoll, false)
	if err != nil {
		t.Fatal(err)
	}
	r := runs[len(runs)-1]
	if r.Trigger != store.TriggerPoll || r.Created < 2 || r.Updated < 4 {
		t.Errorf("%s: incremental run %+v, want ≥2 created (new, entered the window) and the edits updated", e.spec.name, r)
	}
	if r.Created+r.Updated+r.Unchanged > 60 {
		t.Errorf("%s: incremental run %+v read more than the changes and the overlap", e.spec.name, r)
	}
	e.compareWorld(t, wm.BackfilledFrom)
}

func (e *sandboxEnv) deleted(t *testing.T, s *Syncer) {
	ctx := context.Background()
	live := e.liveTickets()
	victim := live[len(live)-2]
	if err := e.world.DeleteTicket(victim.ID, e.ui()); err != nil {
		t.Fatal(err)
	}
	id := e.spec.wireID(victim.ID)
	r, err := s.SyncTicket(ctx, id, store.TriggerCallback)
	if err != nil {
		t.Fatalf("%s: sync deleted ticket: %v", e.spec.name, err)
	}
	got, err := e.st.Ticket(ctx, e.scope, id)
	if err != nil || !got.Deleted {
		t.Errorf("%s: stored %+v (%v) after the PSA deleted it (run %+v), want a tombstone", e.spec.name, got, err, r)
	}
	// A later poll must not resurrect it.
	if _, err := s.SyncEntity(ctx, helpdesk.EntityTickets, store.TriggerPoll, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.st.Ticket(ctx, e.scope, id); !got.Deleted {
		t.Errorf("%s: a poll resurrected deleted ticket %s", e.spec.name, id)
	}
	wm, _ := e.st.Watermark(ctx, e.scope, helpdesk.EntityTickets)
	e.compareWorld(t, wm.BackfilledFrom)
}

// outOfOrder edits a high ID then a low ID (paging by ID sees them in the
// other order), then commits a change stamped before the watermark, as a
// PSA whose transaction committed late would.
func (e *sandboxEnv) outOfOrder(t *testing.T, s *Syncer) {
	ctx := context.Background()
	live := e.liveTickets()
	now := e.clock.Now().Add(time.Hour)
	e.clock.Set(now)
	for _, tk := range []sandbox.Ticket{live[len(live)-3], live[len(live)-50]} {
		e.world.UpdateTicket(tk.ID, e.ui(), func(t *sandbox.Ticket) error { t.Summary += " (high then low)"; return nil })
		e.clock.Set(e.clock.Now().Add(time.Second))
	}
	if _, err := s.SyncEntity(ctx, helpdesk.EntityTickets, store.TriggerPoll, false); err != nil {
		t.Fatal(err)
	}
	wm, _ := e.st.Watermark(ctx, e.scope, helpdesk.EntityTickets)
	// The PSA's clock reads two minutes before the watermark: the change
	// lands behind it.
	e.clock.Set(wm.UpdatedThrough.Add(-2 * time.Minute))
	late, err := e.world.UpdateTicket(live[len(live)-60].ID, e.ui(), func(t *sandbox.Ticket) error { t.Summary += " (late)"; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if !late.Updated.Before(wm.UpdatedThrough) {
		t.Fatalf("late change stamped %v, not before the watermark %v", late.Updated, wm.UpdatedThrough)
	}
	e.clock.Set(now.Add(time.Minute))
	if _, err := s.SyncEntity(ctx, helpdesk.EntityTickets, store.TriggerPoll, false); err != nil {
		t.Fatal(err)
	}
	e.compareWorld(t, wm.BackfilledFrom)
}

// TestSandboxFaults backfills each provider through injected faults: the
// transient ones end in a complete, correct store after the clients'
// bounded retries; timeouts on every request and revoked credentials end
// in a failed run with a clear error and no watermark.
func TestSandboxFaults(t *testing.T) {
	cases := []struct {
		name    string
		set     sandbox.FaultSettings
		timeout time.Duration
		wantErr string // "" means success
	}{
		{name: "429 Retry-After", set: sandbox.FaultSettings{RateLimitEvery: 4, RetryAfter: time.Second}},
		{name: "429 no Retry-After", set: sandbox.FaultSettings{RateLimitEvery: 3}},
		{name: "5xx", set: sandbox.FaultSettings{ErrorRate: 0.3}},
		{name: "truncated JSON", set: sandbox.FaultSettings{TruncateRate: 0.3}},
		{name: "timeouts", set: sandbox.FaultSettings{Latency: 300 * time.Millisecond}, timeout: 50 * time.Millisecond,
			wantErr: "timeout"},
		{name: "auth", set: sandbox.FaultSettings{Unauthorized: true}, wantErr: "rejected the credentials: check helpdesk."},
	}
	for _, spec := range psaSpecs {
		for _, c := range cases {
			t.Run(spec.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				e := newSandboxEnv(t, spec, sandboxOpts{tickets: 200, timeout: c.timeout})
				s := e.syncer(t, func(o *Options) { o.PageSize = 25 })
				e.faults.Set(c.set)
				before := e.reqs.n.Load()
				runs, err := s.SyncEntity(context.Background(), helpdesk.EntityTickets, store.TriggerPoll, false)
				e.faults.Set(sandbox.FaultSettings{})
				if c.wantErr == "" {
					if err != nil {
						t.Fatalf("%s: %v", spec.name, err)
					}
					e.compareWorld(t, anchor.Add(-30*24*time.Hour))
					return
				}
				if err == nil || len(runs) != 1 || !strings.Contains(runs[0].Error, c.wantErr) {
					t.Fatalf("%s: err = %v, runs = %+v, want a failed run saying %q", spec.name, err, runs, c.wantErr)
				}
				t.Logf("%s: %s", spec.name, runs[0].Error)
				if wm, _ := e.st.Watermark(context.Background(), e.scope, helpdesk.EntityTickets); wm != (store.Watermark{}) {
					t.Errorf("%s: watermark %+v stored by a failed backfill", spec.name, wm)
				}
				if n := e.reqs.n.Load() - before; c.set.Unauthorized && n > 3 {
					t.Errorf("%s: %d requests after the credentials were rejected, want no retries", spec.name, n)
				}
			})
		}
	}
}
