package callback_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/horizon/reconciler/internal/callback"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	zdemu "github.com/horizon/reconciler/internal/helpdesk/sandbox/zohodesk"
	"github.com/horizon/reconciler/internal/metrics"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/syncer"
)

var providers = []string{helpdesk.ConnectWise, helpdesk.Autotask, helpdesk.ZohoDesk, helpdesk.HaloPSA}

// rig is Horizon's callback path against one emulated PSA: the SQLite
// store, the receiver behind a tap, and (when started) a dispatcher whose
// fetches go through the real syncer.
type rig struct {
	t       *testing.T
	name    string
	clk     *clock
	psa     *psa
	dbPath  string
	scope   store.Scope
	st      store.Store
	m       *metrics.Metrics
	rc      *callback.Receiver
	mux     *http.ServeMux
	tap     *tap
	srv     *httptest.Server
	fetches *countingFetcher
	stops   []func()
	// entities the dispatcher's syncer syncs (nil: tickets).
	entities []helpdesk.Entity
}

// countingFetcher records the tickets it fetched and passes the fetch on.
type countingFetcher struct {
	next callback.Fetcher
	mu   sync.Mutex
	ids  []string
}

func (f *countingFetcher) FetchTicket(ctx context.Context, id string) error {
	f.mu.Lock()
	f.ids = append(f.ids, id)
	f.mu.Unlock()
	return f.next.FetchTicket(ctx, id)
}

func (f *countingFetcher) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.ids)
}

func newRig(t *testing.T, name string) *rig {
	t.Helper()
	r := &rig{t: t, name: name, clk: &clock{t: anchor}, dbPath: tempDB(t),
		scope: store.Scope{Account: "acme", Provider: name}}
	r.psa = newPSA(t, name, r.clk)
	r.open()
	r.tap = &tap{next: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { r.mux.ServeHTTP(w, req) })}
	r.srv = httptest.NewServer(r.tap)
	t.Cleanup(r.close)
	r.psa.register(t, r.srv.URL+"/callbacks/"+name)
	return r
}

// open opens the store and starts a receiver on it (again after close).
func (r *rig) open() {
	r.st = openStore(r.t, r.dbPath)
	r.m = metrics.New(prometheus.NewRegistry())
	rc, err := callback.NewReceiver(callback.Config{Scope: r.scope, Provider: r.psa.client, Store: r.st,
		Secret: hookSecret, Metrics: r.m, Logger: quiet, Now: r.clk.Now})
	if err != nil {
		r.t.Fatal(err)
	}
	r.rc = rc
	mux := http.NewServeMux()
	mux.Handle("/callbacks/", rc)
	r.mux = mux
	r.stops = append(r.stops, run(func(ctx context.Context) error { return rc.Run(ctx) }))
}

// startDispatcher runs a dispatcher fetching through the real syncer.
func (r *rig) startDispatcher() {
	entities := r.entities
	if entities == nil {
		entities = []helpdesk.Entity{helpdesk.EntityTickets}
	}
	s, err := syncer.New(r.psa.client, r.st, syncer.Options{Scope: r.scope,
		Entities: entities, Logger: quiet, Now: r.clk.Now})
	if err != nil {
		r.t.Fatal(err)
	}
	r.fetches = &countingFetcher{next: callback.SyncFetcher(s)}
	d, err := callback.NewDispatcher(callback.DispatcherConfig{Scope: r.scope, Store: r.st, Fetcher: r.fetches,
		Wake: r.rc.Accepted(), Logger: quiet, Coalesce: -1, PollInterval: 50 * time.Millisecond, Now: r.clk.Now})
	if err != nil {
		r.t.Fatal(err)
	}
	r.stops = append(r.stops, run(d.Run))
}

// close stops the dispatcher and receiver and closes the store: a crash
// as far as the durable state is concerned.
func (r *rig) close() {
	for _, stop := range slices.Backward(r.stops) {
		stop()
	}
	r.stops = nil
	if r.st != nil {
		r.st.Close()
		r.st = nil
	}
}

// serve sends a (rebuilt) delivery to Horizon and returns the answer.
func (r *rig) serve(req *http.Request) *httptest.ResponseRecorder {
	res := httptest.NewRecorder()
	r.mux.ServeHTTP(res, req)
	return res
}

// edit changes a ticket's summary "in the PSA UI".
func (r *rig) edit(id int64, summary string) {
	r.t.Helper()
	r.clk.Advance(time.Minute)
	var by int64
	for _, m := range r.psa.world.Members() {
		if m.Active && !m.APIUser {
			by = m.ID
			break
		}
	}
	if _, err := r.psa.world.UpdateTicket(id, sandbox.UI(by), func(t *sandbox.Ticket) error {
		t.Summary = summary
		return nil
	}); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) ticket(id string) helpdesk.Ticket {
	t, _ := r.st.Ticket(context.Background(), r.scope, id)
	return t
}

func (r *rig) rows(id string) []store.CallbackRecord {
	recs, err := r.st.Callbacks(context.Background(), r.scope, store.CallbackFilter{ExternalID: id, Limit: 1000})
	if err != nil {
		r.t.Fatal(err)
	}
	return recs
}

func (r *rig) newest() store.CallbackRecord {
	recs, err := r.st.Callbacks(context.Background(), r.scope, store.CallbackFilter{Limit: 1})
	if err != nil || len(recs) == 0 {
		r.t.Fatalf("newest callback: %v (%d rows)", err, len(recs))
	}
	return recs[0]
}

func allProcessed(recs []store.CallbackRecord) bool {
	for _, rec := range recs {
		if rec.Result != store.CallbackProcessed && rec.Result != store.CallbackDuplicate && rec.Result != store.CallbackRejected {
			return false
		}
	}
	return len(recs) > 0
}

// firstTicket returns the nth live ticket of the World: its World ID and
// its external ID as the client reports it (Zoho Desk's emulator renders
// IDs in Zoho's 16-digit form).
func (r *rig) firstTicket(n int) (int64, string) {
	all, _ := r.psa.world.QueryTickets(sandbox.TicketQuery{Filter: func(t *sandbox.Ticket) bool { return !t.Deleted }})
	id := all[n].ID
	if r.name == helpdesk.ZohoDesk {
		return id, zdemu.WireID(id)
	}
	return id, strconv.FormatInt(id, 10)
}

// delivery waits for the tap's first delivery naming ticket id.
func (r *rig) delivery(id string, after int) captured {
	r.t.Helper()
	var got captured
	eventually(r.t, r.name+" delivery for ticket "+id, func() bool {
		for _, c := range r.tap.deliveries()[after:] {
			if bytes.Contains(c.body, []byte(id)) {
				got = c
				return true
			}
		}
		return false
	})
	return got
}

// wire is how each PSA authenticates a delivery, for the crafted cases.
type wire struct {
	// strip removes the signature or credential; forge makes it wrong.
	strip, forge func(*http.Request)
	// resign signs a crafted body as the PSA would (nil: the credential
	// does not depend on the body).
	resign func(*http.Request, []byte)
	// signed: the credential covers the body.
	signed bool
}

var wires = map[string]wire{
	helpdesk.ConnectWise: {signed: true,
		strip: func(r *http.Request) { r.Header.Del("x-content-signature") },
		forge: func(r *http.Request) {
			r.Header.Set("x-content-signature", base64.StdEncoding.EncodeToString(make([]byte, 32)))
		}},
	helpdesk.Autotask: {signed: true,
		strip: func(r *http.Request) { r.Header.Del("X-Hook-Signature") },
		forge: func(r *http.Request) {
			r.Header.Set("X-Hook-Signature", "sha1="+base64.StdEncoding.EncodeToString(make([]byte, 20)))
		},
		resign: func(r *http.Request, body []byte) {
			m := hmac.New(sha1.New, []byte(hookSecret.Reveal()))
			m.Write(body)
			r.Header.Set("X-Hook-Signature", "sha1="+base64.StdEncoding.EncodeToString(m.Sum(nil)))
		}},
	helpdesk.ZohoDesk: {
		strip: func(r *http.Request) { setQuery(r, "token", "") },
		forge: func(r *http.Request) { setQuery(r, "token", "not-the-secret") }},
	helpdesk.HaloPSA: {
		strip: func(r *http.Request) { r.Header.Del("Authorization") },
		forge: func(r *http.Request) { u, _, _ := r.BasicAuth(); r.SetBasicAuth(u, "not-the-secret") }},
}

func setQuery(r *http.Request, k, v string) {
	q := r.URL.Query()
	if v == "" {
		q.Del(k)
	} else {
		q.Set(k, v)
	}
	r.URL.RawQuery = q.Encode()
	r.RequestURI = r.URL.RequestURI()
}

// TestSandboxDeliveries drives each emulated PSA: an edit made in the PSA
// reaches the receiver as a real webhook, is logged, dispatched and ends
// with the ticket fetched into the store; then the PSA's own delivery is
// replayed, duplicated, tampered with, stripped, malformed and blown up,
// and two deliveries are fed out of order.
func TestSandboxDeliveries(t *testing.T) {
	for _, name := range providers {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, name)
			r.startDispatcher()
			tid, id := r.firstTicket(3)
			r.edit(tid, "Printer on fire")
			eventually(t, "the ticket fetched into the store", func() bool { return r.ticket(id).Summary == "Printer on fire" })
			eventually(t, "the callback processed", func() bool { return allProcessed(r.rows(id)) })
			assertSyncRun(t, r, id)
			dl := r.delivery(id, 0)
			if dl.status != http.StatusOK {
				t.Fatalf("the PSA's delivery was answered %d", dl.status)
			}
			if got := testutil.ToFloat64(r.m.CallbackLastReceived.WithLabelValues(name)); got != float64(r.clk.Now().Unix()) {
				t.Errorf("last received %v, want %v", got, r.clk.Now().Unix())
			}
			fetched := r.fetches.count()
			t.Run("duplicated", func(t *testing.T) { testDuplicate(t, r, dl) })
			t.Run("rejected", func(t *testing.T) { testRejections(t, r, dl) })
			t.Run("replayed", func(t *testing.T) { testReplay(t, r, dl) })
			if got := r.fetches.count(); got != fetched {
				t.Errorf("%d fetches after rejected and repeated deliveries, want none", got-fetched)
			}
			t.Run("out of order", func(t *testing.T) { testOutOfOrder(t, r, tid, id) })
		})
	}
}

func assertSyncRun(t *testing.T, r *rig, id string) {
	t.Helper()
	runs, err := r.st.SyncRuns(context.Background(), r.scope, store.SyncRunFilter{Trigger: store.TriggerCallback})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(runs, func(s store.SyncRun) bool { return s.TicketID == id && s.Error == "" }) {
		t.Errorf("no successful callback sync run for ticket %s: %+v", id, runs)
	}
}

func testDuplicate(t *testing.T, r *rig, dl captured) {
	res := r.serve(dl.request(nil))
	if res.Code != http.StatusOK {
		t.Fatalf("duplicate answered %d (%s)", res.Code, res.Body)
	}
	if got := r.newest(); got.Result != store.CallbackDuplicate {
		t.Errorf("duplicate logged %s", got.Result)
	}
}

func testRejections(t *testing.T, r *rig, dl captured) {
	w := wires[r.name]
	tamperedBody := append(slices.Clone(dl.body), ' ')
	oversized := append(bytes.Repeat([]byte(" "), callback.DefaultMaxBody), dl.body...)
	cases := []struct {
		name   string
		edit   func(*http.Request)
		body   []byte
		status int
		reason string
	}{
		{name: "forged credential", edit: w.forge, status: 401},
		{name: "no credential", edit: w.strip, status: 401},
		{name: "malformed", body: []byte(`{"ID":`), status: 400, edit: func(req *http.Request) {
			if w.resign != nil {
				w.resign(req, []byte(`{"ID":`))
			}
		}},
		{name: "oversized", body: oversized, status: 413, reason: fmt.Sprintf("body over %d bytes", callback.DefaultMaxBody)},
		{name: "wrong method", status: 405, reason: "method PUT not allowed", edit: func(req *http.Request) { req.Method = http.MethodPut }},
	}
	if w.signed {
		cases = append(cases, struct {
			name   string
			edit   func(*http.Request)
			body   []byte
			status int
			reason string
		}{name: "tampered body", body: tamperedBody, status: 401, reason: "signature mismatch"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := dl.request(tc.body)
			if tc.edit != nil {
				tc.edit(req)
			}
			res := r.serve(req)
			if res.Code != tc.status {
				t.Fatalf("answered %d (%s), want %d", res.Code, strings.TrimSpace(res.Body.String()), tc.status)
			}
			got := r.newest()
			if got.Result != store.CallbackRejected || got.Reason == "" || (tc.reason != "" && got.Reason != tc.reason) {
				t.Errorf("logged %s %q, want rejected %q", got.Result, got.Reason, tc.reason)
			}
			if tc.status == 401 && got.Verified {
				t.Error("a rejected delivery is logged verified")
			}
		})
	}
	if !w.signed {
		// The body is not covered: a tampered body passes, and costs only
		// a re-fetch of the true record (it is a new delivery ID, or a
		// duplicate of the real one).
		res := r.serve(dl.request(tamperedBody))
		if res.Code != http.StatusOK {
			t.Errorf("unsigned provider, tampered body: %d", res.Code)
		}
	}
	if r.name == helpdesk.ZohoDesk {
		req := dl.request(nil)
		req.Method = http.MethodGet
		if res := r.serve(req); res.Code != http.StatusOK {
			t.Errorf("Zoho Desk validation GET answered %d", res.Code)
		}
	}
}

// testReplay replays the PSA's delivery two hours later: rejected as a
// replay where the payload carries its event time, else a duplicate.
func testReplay(t *testing.T, r *rig, dl captured) {
	events, err := r.psa.client.ParseCallback(dl.header, dl.body)
	if err != nil {
		t.Fatal(err)
	}
	timed := slices.ContainsFunc(events, func(e helpdesk.CallbackEvent) bool { return !e.OccurredAt.IsZero() })
	r.clk.Advance(2 * time.Hour)
	defer r.clk.Advance(-2 * time.Hour)
	res := r.serve(dl.request(nil))
	got := r.newest()
	switch {
	case timed && (res.Code != http.StatusBadRequest || got.Result != store.CallbackRejected || !strings.HasPrefix(got.Reason, "replayed or late")):
		t.Errorf("timed replay: answered %d, logged %s %q; want 400, rejected as replay", res.Code, got.Result, got.Reason)
	case !timed && (res.Code != http.StatusOK || got.Result != store.CallbackDuplicate):
		t.Errorf("untimed replay: answered %d, logged %s; want 200 duplicate", res.Code, got.Result)
	}
	t.Logf("%s: payload carries an event time: %v", r.name, timed)
}

// testOutOfOrder holds two deliveries for one ticket and feeds them newest
// first: the store still ends with the PSA's latest state.
func testOutOfOrder(t *testing.T, r *rig, tid int64, id string) {
	r.tap.setHold(true)
	n := len(r.tap.deliveries())
	r.edit(tid, "first edit")
	first := r.delivery(id, n)
	n = len(r.tap.deliveries())
	r.edit(tid, "second edit")
	second := r.delivery(id, n)
	r.tap.setHold(false)
	for _, dl := range []captured{second, first} {
		if res := r.serve(dl.request(nil)); res.Code != http.StatusOK {
			t.Fatalf("answered %d (%s)", res.Code, res.Body)
		}
	}
	eventually(t, "both callbacks processed", func() bool { return allProcessed(r.rows(id)) })
	if got := r.ticket(id).Summary; got != "second edit" {
		t.Errorf("stored summary %q, want the latest %q", got, "second edit")
	}
}

// TestCrashAfterAck accepts a real delivery with no dispatcher running,
// "crashes" (closes everything), reopens the same SQLite file and starts a
// new dispatcher: the fetch happens.
func TestCrashAfterAck(t *testing.T) {
	for _, name := range providers {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, name)
			tid, id := r.firstTicket(5)
			r.edit(tid, "accepted before the crash")
			if dl := r.delivery(id, 0); dl.status != http.StatusOK {
				t.Fatalf("answered %d", dl.status)
			}
			pending, err := r.st.PendingCallbacks(context.Background(), r.scope, 10)
			if err != nil || len(pending) == 0 {
				t.Fatalf("pending before the crash: %v, %d", err, len(pending))
			}
			r.close()
			r.open()
			if got := r.ticket(id); got.ExternalID != "" {
				t.Fatalf("ticket stored before any dispatch: %+v", got)
			}
			r.startDispatcher()
			eventually(t, "the fetch after restart", func() bool { return r.ticket(id).Summary == "accepted before the crash" })
			eventually(t, "the callback processed", func() bool { return allProcessed(r.rows(id)) })
		})
	}
}

// TestStatusAgainstSandbox builds the status report against each PSA's
// real registrations.
func TestStatusAgainstSandbox(t *testing.T) {
	for _, name := range providers {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, name)
			spec := helpdesk.WebhookSpec{URL: r.srv.URL + "/callbacks/" + name, Secret: hookSecret, Account: "acme",
				Events: r.psa.client.Capabilities().Events}
			rep, err := callback.Status(context.Background(), r.st, r.scope, r.psa.client, spec)
			if err != nil {
				t.Fatal(err)
			}
			if rep.WebhooksError != "" || len(rep.Webhooks) == 0 {
				t.Fatalf("webhooks %+v, error %q", rep.Webhooks, rep.WebhooksError)
			}
			for _, w := range rep.Webhooks {
				if w.State != callback.WebhookOK {
					t.Errorf("%s: state %s %v (url %s, want %s)", w.Key, w.State, w.Differences, w.URL, w.DesiredURL)
				}
				for _, u := range []string{w.URL, w.DesiredURL} {
					if strings.Contains(u, hookSecret.Reveal()) || strings.Contains(u, url.QueryEscape(hookSecret.Reveal())) {
						t.Errorf("secret in status URL %s", u)
					}
				}
			}
			var out bytes.Buffer
			if err := callback.WriteStatus(&out, rep, "text"); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out.String(), hookSecret.Reveal()) {
				t.Errorf("secret in status output:\n%s", out.String())
			}
			t.Logf("\n%s", out.String())
		})
	}
}
