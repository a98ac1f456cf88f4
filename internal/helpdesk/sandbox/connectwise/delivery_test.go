package connectwise

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// hook records deliveries and answers with the statuses in script (200
// once the script runs out).
type hook struct {
	*httptest.Server
	mu     sync.Mutex
	got    []capturedDelivery
	script []int
	calls  atomic.Int32
}

type capturedDelivery struct {
	url    string
	header http.Header
	body   []byte
}

func newHook(t *testing.T, script ...int) *hook {
	hk := &hook{script: script}
	hk.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		n := int(hk.calls.Add(1)) - 1
		hk.mu.Lock()
		hk.got = append(hk.got, capturedDelivery{r.URL.String(), r.Header.Clone(), b})
		hk.mu.Unlock()
		if n < len(hk.script) {
			w.WriteHeader(hk.script[n])
		}
	}))
	t.Cleanup(hk.Close)
	return hk
}

func (hk *hook) deliveries() []capturedDelivery {
	hk.mu.Lock()
	defer hk.mu.Unlock()
	return append([]capturedDelivery(nil), hk.got...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// register creates a callback through the API as the API member.
func (h *harness) register(typ, level string, objectID int64, url string, selfSuppressed bool) {
	h.t.Helper()
	body := fmt.Sprintf(`{"description":"test","url":%q,"objectId":%d,"type":%q,"level":%q,"isSelfSuppressedFlag":%v}`,
		url, objectID, typ, level, selfSuppressed)
	if r := h.call("POST", "/system/callbacks", body); r.status != 201 {
		h.t.Fatalf("register: %d %s", r.status, r.body)
	}
}

func TestDeliveryFormatAndSignature(t *testing.T) {
	h := newHarness(t, Settings{})
	hk := newHook(t)
	h.register("Ticket", "Owner", 1, hk.URL+"/cb?token=abc&recordId=", true)
	all, _ := h.world.QueryTickets(sandbox.TicketQuery{})
	tech := h.world.Members()[3]
	if _, err := h.world.UpdateTicket(all[2].ID, sandbox.UI(tech.ID), func(t *sandbox.Ticket) error { t.Summary = "UI edit"; return nil }); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delivery", func() bool { return len(hk.deliveries()) == 1 })
	d := hk.deliveries()[0]
	if d.url != fmt.Sprintf("/cb?token=abc&recordId=%d", all[2].ID) {
		t.Errorf("delivered to %s", d.url)
	}
	k := sha256.Sum256([]byte(h.emu.SigningKey()))
	m := hmac.New(sha256.New, k[:])
	m.Write(d.body)
	if d.header.Get("X-Content-Signature") != base64.StdEncoding.EncodeToString(m.Sum(nil)) {
		t.Errorf("signature %q does not verify", d.header.Get("X-Content-Signature"))
	}
	var body map[string]any
	if err := json.Unmarshal(d.body, &body); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"MessageId", "FromUrl", "CompanyId", "MemberId", "Action", "Type", "ID", "ProductInstanceId",
		"PartnerId", "Entity", "Metadata", "CallbackObjectRecId"} {
		if _, ok := body[k]; !ok {
			t.Errorf("body lacks %s: %s", k, d.body)
		}
	}
	if body["Action"] != "updated" || body["Type"] != "ticket" || body["MemberId"] != tech.Identifier || body["ID"] != float64(all[2].ID) {
		t.Errorf("body = %s", d.body)
	}
	entity, ok := body["Entity"].(string)
	var rec map[string]any
	if !ok || json.Unmarshal([]byte(entity), &rec) != nil || rec["summary"] != "UI edit" {
		t.Errorf("Entity is not a JSON string of the ticket: %v", body["Entity"])
	}
	keyURL := body["Metadata"].(map[string]any)["key_url"].(string)
	if !strings.Contains(keyURL, "/v2025_1//system/callbackkey/index.rails?companyName=") {
		t.Errorf("key_url = %s", keyURL)
	}
	path := strings.TrimPrefix(keyURL, h.srv.URL)
	if r := h.raw("GET", path, "", h.auth); r.status != 200 || !strings.Contains(string(r.body), h.emu.SigningKey()) {
		t.Errorf("key_url: %d %s", r.status, r.body)
	}
	if r := h.raw("GET", path, ""); r.status != 401 {
		t.Errorf("key_url without auth: %d", r.status)
	}
}

func TestDeliveryRetrySchedule(t *testing.T) {
	tests := []struct {
		name      string
		script    []int
		attempts  int
		delivered bool
	}{
		{"429 then ok", []int{429, 409, 200}, 3, true},
		{"404 three times", []int{404, 404, 404}, 3, false},
		{"500 is not retried", []int{500}, 1, false},
		{"401 is not retried", []int{401}, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Settings{})
			hk := newHook(t, tt.script...)
			h.register("Company", "Owner", 1, hk.URL+"/?recordId=", true)
			co := h.world.Companies()[0]
			h.world.UpdateCompany(co.ID, sandbox.UI(0), func(c *sandbox.Company) { c.Name += "!" })
			waitFor(t, "delivery record", func() bool { return len(h.emu.Deliveries()) == 1 })
			rec := h.emu.Deliveries()[0]
			if rec.Attempts != tt.attempts || rec.Delivered != tt.delivered {
				t.Errorf("record = %+v", rec)
			}
		})
	}
}

func TestDeliveryDisabledAfterThreeDays(t *testing.T) {
	now := anchor
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	w := sandbox.Generate(sandbox.GenOptions{Tickets: 10, Seed: 1, Now: anchor, Clock: clock})
	emu := New(sandbox.Options{World: w, DeliveryScale: 0.001}, Settings{})
	t.Cleanup(emu.Close)
	hk := newHook(t, 500, 500, 500, 500)
	emu.AddCallback(Callback{Description: "x", URL: hk.URL + "/?id=", ObjectID: 1, Type: "Contact", Level: "Owner"})
	edit := func(n int) {
		c := w.Contacts()[0]
		w.UpdateContact(c.ID, sandbox.UI(0), func(c *sandbox.Contact) { c.Phone = "1" })
		waitFor(t, "delivery", func() bool { return len(emu.Deliveries()) == n })
	}
	edit(1)
	mu.Lock()
	now = now.Add(73 * time.Hour)
	mu.Unlock()
	edit(2)
	waitFor(t, "callback disabled after three days of failures", func() bool { return emu.Callbacks()[0].Inactive })
	c := w.Contacts()[0]
	w.UpdateContact(c.ID, sandbox.UI(0), func(c *sandbox.Contact) { c.Phone = "2" })
	emu.Close()
	if n := len(emu.Deliveries()); n != 2 {
		t.Errorf("deliveries after disabling = %d", n)
	}
}

func TestDeliverySuppressionSkipAndLevels(t *testing.T) {
	h := newHarness(t, Settings{})
	hk := newHook(t)
	queues := h.world.Queues()
	h.register("Ticket", "Owner", 1, hk.URL+"/owner?recordId=", true)
	h.register("Ticket", "Board", queues[0].ID, hk.URL+"/board?recordId=", false)
	h.register("Time", "Owner", 1, hk.URL+"/time?recordId=", false)
	all, _ := h.world.QueryTickets(sandbox.TicketQuery{})
	var onBoard, offBoard sandbox.Ticket
	for _, tk := range all {
		if tk.QueueID == queues[0].ID {
			onBoard = tk
		} else {
			offBoard = tk
		}
	}
	// An API write by the registering member: suppressed on the Owner
	// callback (self-suppressed), delivered on the Board one (not).
	if r := h.call("PATCH", fmt.Sprintf("/service/tickets/%d", onBoard.ID), `[{"op":"replace","path":"summary","value":"api"}]`); r.status != 200 {
		t.Fatal(r.status)
	}
	co := h.world.Companies()[0]
	create := fmt.Sprintf(`{"summary":"quiet","company":{"id":%d},"skipCallback":true}`, co.ID)
	if r := h.call("POST", "/service/tickets", create); r.status != 201 {
		t.Fatal(r.status, string(r.body))
	}
	h.world.UpdateTicket(offBoard.ID, sandbox.UI(h.world.Members()[2].ID), func(*sandbox.Ticket) error { return nil })
	te := fmt.Sprintf(`{"chargeToId":%d,"chargeToType":"ServiceTicket","timeStart":"2026-03-01T09:00:00Z","actualHours":0.5}`, offBoard.ID)
	if r := h.call("POST", "/time/entries", te); r.status != 201 {
		t.Fatal(r.status, string(r.body))
	}
	h.world.DeleteTicket(offBoard.ID, sandbox.UI(0))
	waitFor(t, "deliveries", func() bool { return len(hk.deliveries()) >= 4 })
	h.emu.Close()
	got := map[string][]string{}
	for _, d := range hk.deliveries() {
		var b struct{ Action, Type string }
		json.Unmarshal(d.body, &b)
		route := d.url[:strings.Index(d.url, "?")]
		got[route] = append(got[route], b.Type+" "+b.Action)
		slices.Sort(got[route]) // deliveries run concurrently
	}
	want := map[string][]string{"/board": {"ticket updated"}, "/owner": {"ticket deleted", "ticket updated"}, "/time": {"time added"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("deliveries = %v, want %v", got, want)
	}
}

func TestDeliveryDroppedByFaults(t *testing.T) {
	h := newHarness(t, Settings{})
	hk := newHook(t)
	h.register("Contact", "Owner", 1, hk.URL+"/?recordId=", true)
	h.emu.Faults().Set(sandbox.FaultSettings{DropWebhooks: 1})
	c := h.world.Contacts()[0]
	h.world.UpdateContact(c.ID, sandbox.UI(0), func(c *sandbox.Contact) { c.Phone = "9" })
	h.emu.Close()
	recs := h.emu.Deliveries()
	if len(recs) != 1 || !recs[0].Dropped || hk.calls.Load() != 0 {
		t.Errorf("records = %+v, hook calls = %d", recs, hk.calls.Load())
	}
}
