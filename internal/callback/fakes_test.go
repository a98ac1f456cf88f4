package callback

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// memStore is the callback-log part of store.Store in memory, with the
// documented de-duplication. Any other method panics (nil embedded
// interface).
type memStore struct {
	store.Store
	mu      sync.Mutex
	rows    []store.CallbackRecord
	claimed map[string]bool
	txs     []int // rows per InsertCallbacks call
	// insertErr fails InsertCallbacks; markErr fails MarkCallbacks.
	insertErr, markErr error
	// gate, when set, blocks InsertCallbacks until it is closed; entered
	// (buffered) is signalled as each call starts.
	gate    chan struct{}
	entered chan struct{}
}

func newMemStore() *memStore { return &memStore{claimed: map[string]bool{}} }

// InsertCallbackBatches is one InsertCallbacks call of every batch's rows
// (the fake keeps one scope).
func (m *memStore) InsertCallbackBatches(ctx context.Context, bs []store.CallbackBatch) error {
	var all []store.CallbackRecord
	for _, b := range bs {
		all = append(all, b.Records...)
	}
	ids, dup, err := m.InsertCallbacks(ctx, store.Scope{}, all)
	if err != nil {
		return err
	}
	for i := range bs {
		n := len(bs[i].Records)
		bs[i].IDs, bs[i].Dup, ids, dup = ids[:n:n], dup[:n:n], ids[n:], dup[n:]
	}
	return nil
}

func (m *memStore) InsertCallbacks(ctx context.Context, _ store.Scope, recs []store.CallbackRecord) ([]int64, []bool, error) {
	if m.entered != nil {
		select {
		case m.entered <- struct{}{}:
		default:
		}
	}
	if m.gate != nil {
		select {
		case <-m.gate:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.insertErr != nil {
		return nil, nil, m.insertErr
	}
	ids, dup := make([]int64, len(recs)), make([]bool, len(recs))
	for i, r := range recs {
		claims := r.Result != store.CallbackRejected && r.DeliveryID != ""
		if claims && m.claimed[r.DeliveryID] {
			r.Result, dup[i] = store.CallbackDuplicate, true
		} else if claims {
			m.claimed[r.DeliveryID] = true
		}
		r.ID = int64(len(m.rows) + 1)
		ids[i] = r.ID
		m.rows = append(m.rows, r)
	}
	m.txs = append(m.txs, len(recs))
	return ids, dup, nil
}

func (m *memStore) PendingCallbacks(_ context.Context, _ store.Scope, limit int) ([]store.CallbackRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.CallbackRecord
	for _, r := range m.rows {
		if r.Result == store.CallbackAccepted && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func (m *memStore) MarkCallbacks(_ context.Context, _ store.Scope, ids []int64, result, reason string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.markErr != nil {
		return m.markErr
	}
	for _, id := range ids {
		r := &m.rows[id-1]
		r.Result, r.Reason, r.ProcessedAt = result, reason, at
	}
	return nil
}

func (m *memStore) Callbacks(_ context.Context, _ store.Scope, f store.CallbackFilter) ([]store.CallbackRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.CallbackRecord
	for _, r := range slices.Backward(m.rows) {
		failed := r.Result == store.CallbackRejected || r.Result == store.CallbackFailed
		switch {
		case f.FailedOnly && !failed:
		case f.ExternalID != "" && !slices.Contains(r.ExternalIDs, f.ExternalID):
		case !f.Since.IsZero() && r.ReceivedAt.Before(f.Since):
		default:
			out = append(out, r)
		}
	}
	return out[:min(len(out), cmpOr(f.Limit, 100))], nil
}

func (m *memStore) CallbackStats(_ context.Context, _ store.Scope, since time.Time) (store.CallbackStats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := store.CallbackStats{ByResult: map[string]int{}}
	for _, r := range m.rows {
		if !r.ReceivedAt.Before(since) {
			st.ByResult[r.Result]++
			st.LastReceived = r.ReceivedAt
		}
	}
	return st, nil
}

// row returns a copy of row id.
func (m *memStore) row(id int64) store.CallbackRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rows[id-1]
}

// all returns a copy of every row, oldest first.
func (m *memStore) all() []store.CallbackRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.rows)
}

func (m *memStore) transactions() []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.txs)
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// fakeProvider signs deliveries with X-Test-Signature = base64(HMAC-SHA256
// (secret, body)) and parses {"events":[...]}. Other Provider methods
// panic, except the webhook listing.
type fakeProvider struct {
	helpdesk.Provider
	// unavailable, when set, is what VerifyCallback returns (a failure
	// that is not the delivery's fault).
	unavailable error
	webhooks    []helpdesk.Webhook
	webhooksErr error
}

const sigHeader = "X-Test-Signature"

func sign(secret helpdesk.Secret, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret.Reveal()))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func (p *fakeProvider) VerifyCallback(_ context.Context, r *http.Request, body []byte, secret helpdesk.Secret) error {
	if p.unavailable != nil {
		return p.unavailable
	}
	got := r.Header.Get(sigHeader)
	if got == "" {
		return helpdesk.ErrBadSignature("missing signature header")
	}
	if !hmac.Equal([]byte(got), []byte(sign(secret, body))) {
		return helpdesk.ErrBadSignature("signature mismatch")
	}
	return nil
}

// fakeEvent is the fake provider's wire form of an event.
type fakeEvent struct {
	ID         string    `json:"id"`
	Entity     string    `json:"entity"`
	Action     string    `json:"action"`
	ExternalID string    `json:"externalId"`
	TicketID   string    `json:"ticketId,omitempty"`
	OccurredAt time.Time `json:"occurredAt,omitzero"`
	Actor      string    `json:"actor,omitempty"`
}

func (p *fakeProvider) ParseCallback(_ http.Header, body []byte) ([]helpdesk.CallbackEvent, error) {
	var env struct {
		Events *[]fakeEvent `json:"events"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Events == nil {
		return nil, helpdesk.ErrMalformed("body is not an event envelope")
	}
	var out []helpdesk.CallbackEvent
	for _, e := range *env.Events {
		if e.ID == "" {
			return nil, helpdesk.ErrMalformed("event without id")
		}
		out = append(out, helpdesk.CallbackEvent{DeliveryID: e.ID, Entity: helpdesk.Entity(e.Entity),
			Action: helpdesk.Action(e.Action), ExternalID: e.ExternalID, TicketID: e.TicketID,
			OccurredAt: e.OccurredAt, Actor: e.Actor})
	}
	return out, nil
}

func (p *fakeProvider) Webhooks(context.Context) ([]helpdesk.Webhook, error) {
	return p.webhooks, p.webhooksErr
}

func (p *fakeProvider) DesiredWebhooks(spec helpdesk.WebhookSpec) []helpdesk.Webhook {
	return []helpdesk.Webhook{{Key: "ticket", Name: "horizon acme ticket", URL: spec.URL + "?token=" + spec.Secret.Reveal(),
		Events: spec.Events, Active: true, Managed: true, Fingerprint: "fp-" + spec.Secret.Reveal()[:2]}}
}

// envelope returns a fake delivery body.
func envelope(events ...fakeEvent) []byte {
	if events == nil {
		events = []fakeEvent{}
	}
	b, err := json.Marshal(map[string]any{"events": events})
	if err != nil {
		panic(err)
	}
	return b
}

func ticketEvent(id, ticket string) fakeEvent {
	return fakeEvent{ID: id, Entity: string(helpdesk.EntityTickets), Action: string(helpdesk.ActionUpdated), ExternalID: ticket}
}

// fixedClock is a settable clock.
type fixedClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fixedClock {
	return &fixedClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fixedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fixedClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// post sends a signed (or, with sig "", unsigned) delivery to h.
func post(h http.Handler, path string, body []byte, sig string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	if sig != "" {
		req.Header.Set(sigHeader, sig)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

var errTransient = &helpdesk.Error{Provider: "fake", Op: "get ticket", Kind: helpdesk.ErrTransient, Status: 503}

var errUnauthorized = errors.Join(helpdesk.ErrUnauthorized)
