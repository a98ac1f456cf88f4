package callback

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/metrics"
	"github.com/horizon/reconciler/internal/store"
)

const testSecret = helpdesk.Secret("s3cret-value")

var testScope = store.Scope{Account: "acme", Provider: "fakepsa"}

type harness struct {
	rc    *Receiver
	st    *memStore
	p     *fakeProvider
	m     *metrics.Metrics
	clock *fixedClock
}

// newHarness returns a running Receiver over a memStore; edit tweaks the
// config first.
func newHarness(t testing.TB, edit func(*Config)) *harness {
	t.Helper()
	h := &harness{st: newMemStore(), p: &fakeProvider{}, m: metrics.New(prometheus.NewRegistry()), clock: newClock()}
	cfg := Config{Scope: testScope, Provider: h.p, Store: h.st, Secret: testSecret, Metrics: h.m,
		APIUser: "horizon-api", Now: h.clock.Now, Logger: quiet}
	if edit != nil {
		edit(&cfg)
	}
	rc, err := NewReceiver(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.rc = rc
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); rc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

func (h *harness) received(event, result string) float64 {
	return testutil.ToFloat64(h.m.CallbacksReceived.WithLabelValues(testScope.Provider, event, result))
}

func TestReceiverDeliveries(t *testing.T) {
	fresh := ticketEvent("d-1", "101")
	stale := ticketEvent("d-2", "102")
	stale.OccurredAt = newClock().Now().Add(-2 * time.Hour)
	recent := ticketEvent("d-3", "103")
	recent.OccurredAt = newClock().Now().Add(-10 * time.Minute)
	echo := ticketEvent("d-4", "104")
	echo.Actor = "horizon-api"
	note := fakeEvent{ID: "d-5", Entity: "notes", Action: "created", ExternalID: "n-9", TicketID: "105"}
	signed := func(b []byte) string { return sign(testSecret, b) }
	body := envelope(fresh)
	cases := []struct {
		name       string
		body       []byte
		sig        string
		wantStatus int
		wantRows   []store.CallbackRecord // Result, Reason, Event, ExternalIDs compared
	}{
		{name: "valid", body: body, sig: signed(body), wantStatus: 200,
			wantRows: []store.CallbackRecord{{Result: "accepted", Event: "ticket.updated", ExternalIDs: []string{"101"}}}},
		{name: "tampered", body: envelope(ticketEvent("d-1", "999")), sig: signed(body), wantStatus: 401,
			wantRows: []store.CallbackRecord{{Result: "rejected", Reason: "signature mismatch"}}},
		{name: "unsigned", body: body, wantStatus: 401,
			wantRows: []store.CallbackRecord{{Result: "rejected", Reason: "missing signature header"}}},
		{name: "wrong secret", body: body, sig: sign("other", body), wantStatus: 401,
			wantRows: []store.CallbackRecord{{Result: "rejected", Reason: "signature mismatch"}}},
		{name: "malformed", body: []byte(`{"events":`), sig: signed([]byte(`{"events":`)), wantStatus: 400,
			wantRows: []store.CallbackRecord{{Result: "rejected", Reason: "body is not an event envelope"}}},
		{name: "replayed", body: envelope(stale), sig: signed(envelope(stale)), wantStatus: 400,
			wantRows: []store.CallbackRecord{{Result: "rejected", Event: "ticket.updated", ExternalIDs: []string{"102"},
				Reason: "replayed or late: event time 2026-03-01T10:00:00Z is older than the 1h0m0s tolerance"}}},
		{name: "recent event time", body: envelope(recent), sig: signed(envelope(recent)), wantStatus: 200,
			wantRows: []store.CallbackRecord{{Result: "accepted", Event: "ticket.updated", ExternalIDs: []string{"103"}}}},
		{name: "echo", body: envelope(echo), sig: signed(envelope(echo)), wantStatus: 200,
			wantRows: []store.CallbackRecord{{Result: "processed", Reason: ReasonEcho, Event: "ticket.updated", ExternalIDs: []string{"104"}}}},
		{name: "note names its ticket", body: envelope(note), sig: signed(envelope(note)), wantStatus: 200,
			wantRows: []store.CallbackRecord{{Result: "accepted", Event: "note.created", ExternalIDs: []string{"n-9", "105"}}}},
		{name: "no events", body: envelope(), sig: signed(envelope()), wantStatus: 200,
			wantRows: []store.CallbackRecord{{Result: "processed", Reason: ReasonNoEvents}}},
		{name: "batch with a replay", body: envelope(stale, fresh), sig: signed(envelope(stale, fresh)), wantStatus: 200,
			wantRows: []store.CallbackRecord{{Result: "rejected", Event: "ticket.updated", ExternalIDs: []string{"102"},
				Reason: "replayed or late: event time 2026-03-01T10:00:00Z is older than the 1h0m0s tolerance"},
				{Result: "accepted", Event: "ticket.updated", ExternalIDs: []string{"101"}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			res := post(h.rc, "/callbacks/fakepsa", tc.body, tc.sig)
			if res.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d (%s)", res.Code, tc.wantStatus, res.Body)
			}
			assertRows(t, h.st.all(), tc.wantRows)
		})
	}
}

func assertRows(t *testing.T, got, want []store.CallbackRecord) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Result != w.Result || g.Reason != w.Reason || g.Event != w.Event || strings.Join(g.ExternalIDs, ",") != strings.Join(w.ExternalIDs, ",") {
			t.Errorf("row %d = {%s %q %s %v}, want {%s %q %s %v}", i, g.Result, g.Reason, g.Event, g.ExternalIDs,
				w.Result, w.Reason, w.Event, w.ExternalIDs)
		}
		if g.Provider != testScope.Provider || g.ReceivedAt.IsZero() {
			t.Errorf("row %d: provider %q, receivedAt %v", i, g.Provider, g.ReceivedAt)
		}
	}
}

func TestReceiverVerifiedFlagAndPayload(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PayloadLimit = 8 })
	body := envelope(ticketEvent("d-1", "1"), ticketEvent("d-2", "2"))
	post(h.rc, "/callbacks/fakepsa", body, sign(testSecret, body))
	post(h.rc, "/callbacks/fakepsa", body, "bad")
	rows := h.st.all()
	if !rows[0].Verified || !rows[1].Verified || rows[2].Verified {
		t.Errorf("verified flags %v %v %v, want true true false", rows[0].Verified, rows[1].Verified, rows[2].Verified)
	}
	if string(rows[0].Payload) != string(body[:8]) || rows[1].Payload != nil {
		t.Errorf("payloads %q %q: want the excerpt on the first row only", rows[0].Payload, rows[1].Payload)
	}
	if string(rows[2].Payload) != string(body) {
		t.Errorf("rejected payload %q, want the (short) body", rows[2].Payload)
	}
}

func TestReceiverDuplicateAndOutOfOrder(t *testing.T) {
	h := newHarness(t, nil)
	older := ticketEvent("d-old", "7")
	older.OccurredAt = h.clock.Now().Add(-5 * time.Minute)
	newer := ticketEvent("d-new", "7")
	newer.OccurredAt = h.clock.Now().Add(-1 * time.Minute)
	for _, ev := range []fakeEvent{newer, older, newer} {
		b := envelope(ev)
		if res := post(h.rc, "/callbacks/fakepsa", b, sign(testSecret, b)); res.Code != 200 {
			t.Fatalf("status %d", res.Code)
		}
	}
	assertRows(t, h.st.all(), []store.CallbackRecord{
		{Result: "accepted", Event: "ticket.updated", ExternalIDs: []string{"7"}},
		{Result: "accepted", Event: "ticket.updated", ExternalIDs: []string{"7"}},
		{Result: "duplicate", Event: "ticket.updated", ExternalIDs: []string{"7"}},
	})
	if got := h.received("ticket.updated", "duplicate"); got != 1 {
		t.Errorf("duplicate counter %v, want 1", got)
	}
}

func TestReceiverOversized(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxBody = 64 })
	big := envelope(ticketEvent(strings.Repeat("x", 100), "1"))
	for _, chunked := range []bool{false, true} {
		var r io.Reader = bytes.NewReader(big)
		if chunked {
			r = io.MultiReader(r) // hides the length: ContentLength -1
		}
		req := httptest.NewRequest(http.MethodPost, "/callbacks/fakepsa", r)
		req.Header.Set(sigHeader, sign(testSecret, big))
		res := httptest.NewRecorder()
		h.rc.ServeHTTP(res, req)
		if res.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("chunked=%v: status %d, want 413", chunked, res.Code)
		}
	}
	assertRows(t, h.st.all(), []store.CallbackRecord{
		{Result: "rejected", Reason: "body over 64 bytes"}, {Result: "rejected", Reason: "body over 64 bytes"}})
}

func TestReceiverMethods(t *testing.T) {
	for _, tc := range []struct {
		provider, method string
		want             int
		logged           bool
	}{
		{"fakepsa", http.MethodGet, 405, true},
		{"fakepsa", http.MethodPut, 405, true},
		{helpdesk.ZohoDesk, http.MethodGet, 200, false},
		{helpdesk.ZohoDesk, http.MethodDelete, 405, true},
	} {
		t.Run(tc.provider+" "+tc.method, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.Scope.Provider = tc.provider })
			req := httptest.NewRequest(tc.method, "/callbacks/"+tc.provider+"?token=abc", nil)
			res := httptest.NewRecorder()
			h.rc.ServeHTTP(res, req)
			if res.Code != tc.want {
				t.Fatalf("status %d, want %d", res.Code, tc.want)
			}
			if tc.want == 405 && res.Header().Get("Allow") != "POST" {
				t.Errorf("Allow %q", res.Header().Get("Allow"))
			}
			if rows := h.st.all(); (len(rows) == 1) != tc.logged {
				t.Errorf("rows %+v, logged want %v", rows, tc.logged)
			} else if tc.logged && rows[0].Reason != "method "+tc.method+" not allowed" {
				t.Errorf("reason %q", rows[0].Reason)
			}
		})
	}
}

func TestReceiverRouting(t *testing.T) {
	h := newHarness(t, nil)
	body := envelope(ticketEvent("d-1", "1"))
	sig := sign(testSecret, body)
	for path, want := range map[string]int{
		"/callbacks/fakepsa":          200,
		"/callbacks/FakePSA/tok":      200,
		"/horizon/callbacks/fakepsa":  200,
		"/callbacks/connectwise":      404,
		"/callbacks":                  404,
		"/callbacks/fakepsa2?token=x": 404,
	} {
		if res := post(h.rc, path, body, sig); res.Code != want {
			t.Errorf("%s: status %d, want %d", path, res.Code, want)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("POST /hooks/{provider}", h.rc)
	if res := post(mux, "/hooks/fakepsa", body, sig); res.Code != 200 {
		t.Errorf("pattern mount: status %d", res.Code)
	}
}

func TestReceiverStoreDown(t *testing.T) {
	h := newHarness(t, nil)
	h.st.insertErr = errors.New("disk full")
	body := envelope(ticketEvent("d-1", "1"))
	res := post(h.rc, "/callbacks/fakepsa", body, sign(testSecret, body))
	if res.Code != 503 || res.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q: want 503 with Retry-After", res.Code, res.Header().Get("Retry-After"))
	}
	if got := h.received("none", "error"); got != 1 {
		t.Errorf("error counter %v", got)
	}
}

func TestReceiverNotRunning(t *testing.T) {
	st := newMemStore()
	rc, err := NewReceiver(Config{Scope: testScope, Provider: &fakeProvider{}, Store: st, Secret: testSecret,
		AckTimeout: 20 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	body := envelope(ticketEvent("d-1", "1"))
	if res := post(rc, "/callbacks/fakepsa", body, sign(testSecret, body)); res.Code != 503 {
		t.Fatalf("before Run: status %d, want 503", res.Code)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rc.Run(ctx)
	if res := post(rc, "/callbacks/fakepsa", body, sign(testSecret, body)); res.Code != 503 {
		t.Fatalf("after Run: status %d, want 503", res.Code)
	}
	if rows := st.all(); len(rows) != 0 {
		t.Fatalf("rows logged while not running: %+v", rows)
	}
}

func TestReceiverVerificationUnavailable(t *testing.T) {
	h := newHarness(t, nil)
	h.p.unavailable = errors.New("fetch signing key: connection refused")
	body := envelope(ticketEvent("d-1", "1"))
	res := post(h.rc, "/callbacks/fakepsa", body, sign(testSecret, body))
	if res.Code != 503 {
		t.Fatalf("status %d, want 503", res.Code)
	}
	assertRows(t, h.st.all(), []store.CallbackRecord{{Result: "rejected", Reason: "verification unavailable"}})
}

func TestReceiverSecretRotation(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SecretGrace = time.Minute })
	body := envelope(ticketEvent("d-1", "1"))
	h.rc.SetSecret("new-secret")
	if res := post(h.rc, "/callbacks/fakepsa", body, sign(testSecret, body)); res.Code != 200 {
		t.Fatalf("old secret within grace: status %d", res.Code)
	}
	h.clock.Add(2 * time.Minute)
	body = envelope(ticketEvent("d-2", "1"))
	if res := post(h.rc, "/callbacks/fakepsa", body, sign(testSecret, body)); res.Code != 401 {
		t.Fatalf("old secret after grace: status %d", res.Code)
	}
	if res := post(h.rc, "/callbacks/fakepsa", body, sign("new-secret", body)); res.Code != 200 {
		t.Fatalf("new secret: status %d", res.Code)
	}
}

func TestReceiverPreviousSecret(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Secret, c.PreviousSecret, c.SecretGrace = "new-secret", testSecret, time.Minute })
	body := envelope(ticketEvent("d-1", "1"))
	if res := post(h.rc, "/callbacks/fakepsa", body, sign(testSecret, body)); res.Code != 200 {
		t.Fatalf("previous secret within grace: status %d", res.Code)
	}
	h.clock.Add(2 * time.Minute)
	body = envelope(ticketEvent("d-2", "1"))
	if res := post(h.rc, "/callbacks/fakepsa", body, sign(testSecret, body)); res.Code != 401 {
		t.Fatalf("previous secret after grace: status %d", res.Code)
	}
}

func TestReceiverMetrics(t *testing.T) {
	h := newHarness(t, nil)
	body := envelope(ticketEvent("d-1", "1"))
	post(h.rc, "/callbacks/fakepsa", body, "forged")
	if got := testutil.CollectAndCount(h.m.CallbackLastReceived); got != 0 {
		t.Fatalf("last-received set by a rejected delivery")
	}
	post(h.rc, "/callbacks/fakepsa", body, sign(testSecret, body))
	if got := h.received("none", "rejected"); got != 1 {
		t.Errorf("rejected counter %v", got)
	}
	if got := h.received("ticket.updated", "accepted"); got != 1 {
		t.Errorf("accepted counter %v", got)
	}
	want := float64(h.clock.Now().Unix())
	if got := testutil.ToFloat64(h.m.CallbackLastReceived.WithLabelValues("fakepsa")); got != want {
		t.Errorf("last received %v, want %v", got, want)
	}
	select {
	case <-h.rc.Accepted():
	default:
		t.Error("no wake-up after an accepted delivery")
	}
}

func TestReceiverPrimesLastReceived(t *testing.T) {
	st := newMemStore()
	at := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	st.InsertCallbacks(context.Background(), testScope, []store.CallbackRecord{
		{ReceivedAt: at, Verified: true, Result: "processed"},
		{ReceivedAt: at.Add(time.Hour), Result: "rejected"},
	})
	m := metrics.New(prometheus.NewRegistry())
	rc, err := NewReceiver(Config{Scope: testScope, Provider: &fakeProvider{}, Store: st, Metrics: m, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rc.Run(ctx)
	if got := testutil.ToFloat64(m.CallbackLastReceived.WithLabelValues("fakepsa")); got != float64(at.Unix()) {
		t.Errorf("primed to %v, want %v", got, at.Unix())
	}
}

// TestReceiverAnswersAfterCommit checks, at the moment each 2xx is
// written, that the delivery's row is already in the store.
func TestReceiverAnswersAfterCommit(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.BatchDelay = time.Millisecond })
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			id := "d-" + string(rune('A'+i%26)) + string(rune('a'+i/26))
			body := envelope(ticketEvent(id, "1"))
			req := httptest.NewRequest(http.MethodPost, "/callbacks/fakepsa", bytes.NewReader(body))
			req.Header.Set(sigHeader, sign(testSecret, body))
			w := &commitCheck{ResponseRecorder: httptest.NewRecorder(), t: t, st: h.st, id: id}
			h.rc.ServeHTTP(w, req)
			if w.Code != 200 {
				t.Errorf("status %d", w.Code)
			}
		})
	}
	wg.Wait()
}

type commitCheck struct {
	*httptest.ResponseRecorder
	t  *testing.T
	st *memStore
	id string
}

func (c *commitCheck) WriteHeader(code int) {
	if code < 300 {
		found := false
		for _, r := range c.st.all() {
			found = found || r.DeliveryID == c.id
		}
		if !found {
			c.t.Errorf("answered %d before %s was committed", code, c.id)
		}
	}
	c.ResponseRecorder.WriteHeader(code)
}

func TestGroupCommit(t *testing.T) {
	for _, tc := range []struct {
		name      string
		batchSize int
		wantTxs   []int
	}{
		{"one transaction", 20, []int{20}},
		{"bounded by batch size", 5, []int{5, 5, 5, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A long delay: each commit waits until its batch is full, so
			// the grouping does not depend on timing.
			h := newHarness(t, func(c *Config) { c.BatchSize = tc.batchSize; c.BatchDelay = time.Hour })
			var wg sync.WaitGroup
			for i := range 20 {
				wg.Go(func() {
					body := envelope(ticketEvent("d-"+strings.Repeat("x", i+1), "1"))
					if res := post(h.rc, "/callbacks/fakepsa", body, sign(testSecret, body)); res.Code != 200 {
						t.Errorf("status %d", res.Code)
					}
				})
			}
			wg.Wait()
			got := h.st.transactions()
			if len(got) != len(tc.wantTxs) {
				t.Fatalf("transactions %v, want %v", got, tc.wantTxs)
			}
			for i := range got {
				if got[i] != tc.wantTxs[i] {
					t.Fatalf("transactions %v, want %v", got, tc.wantTxs)
				}
			}
		})
	}
}

func TestCommitterStopsWithoutLosingRequests(t *testing.T) {
	st := newMemStore()
	st.gate, st.entered = make(chan struct{}), make(chan struct{}, 1)
	c := newCommitter(st, 10, 0, time.Minute, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.run(ctx) }()
	res := make(chan error, 1)
	go func() {
		_, err := c.submit(context.Background(), nil, testScope, []store.CallbackRecord{{DeliveryID: "a", Result: "accepted"}})
		res <- err
	}()
	<-st.entered
	cancel()
	close(st.gate) // the transaction in hand finishes after the stop
	if err := <-res; err != nil {
		t.Fatalf("in-flight request: %v", err)
	}
	<-done
	if _, err := c.submit(context.Background(), nil, testScope, nil); !errors.Is(err, ErrStopped) {
		t.Fatalf("after stop: %v, want ErrStopped", err)
	}
}
