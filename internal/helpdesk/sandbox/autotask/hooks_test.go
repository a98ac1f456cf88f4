package autotask

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// sink records webhook deliveries and answers with a settable status.
type sink struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []delivered
	status int
}

type delivered struct {
	path, sig string
	body      []byte
}

func newSink(t *testing.T) *sink {
	s := &sink{status: 200}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.got = append(s.got, delivered{path: r.URL.Path, sig: r.Header.Get("X-Hook-Signature"), body: b})
		st := s.status
		s.mu.Unlock()
		w.WriteHeader(st)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sink) all() []delivered {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]delivered(nil), s.got...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fieldID finds a field's id in the fieldID picklist, as a client would.
func (r *rig) fieldID(entity, name string) string {
	r.t.Helper()
	_, out := r.call("GET", root+entity+"/entityInformation/fields", "")
	for _, f := range out["fields"].([]any) {
		m := f.(map[string]any)
		if m["name"] != "fieldID" {
			continue
		}
		for _, v := range m["picklistValues"].([]any) {
			pv := v.(map[string]any)
			if pv["label"] == name {
				return pv["value"].(string)
			}
		}
	}
	r.t.Fatalf("no field %s in %s", name, entity)
	return ""
}

// register creates a ticket webhook subscribed to status changes.
func (r *rig) register(url, secret string, exclude ...int64) int64 {
	r.t.Helper()
	st, out := r.call("POST", root+"TicketWebhooks", `{"IsActive":true,"Name":"test","WebhookUrl":"`+url+
		`","DeactivationUrl":"`+url+`/off","SecretKey":"`+secret+`","IsSubscribedToCreateEvents":true,`+
		`"IsSubscribedToUpdateEvents":true,"IsSubscribedToDeleteEvents":true}`)
	if st != 200 {
		r.t.Fatalf("create webhook = %d %v", st, out)
	}
	id := int64(out["itemId"].(float64))
	_, item := r.call("GET", root+"TicketWebhooks/"+itoa(id), "")
	if item["item"].(map[string]any)["isReady"] != false {
		r.t.Fatal("a webhook without fields must not be ready")
	}
	if _, has := item["item"].(map[string]any)["secretKey"]; has {
		r.t.Fatal("the secret key must not be read back")
	}
	status := r.fieldID("TicketWebhookFields", "status")
	number := r.fieldID("TicketWebhookFields", "ticketNumber")
	for _, b := range []string{`{"FieldID":` + status + `,"IsSubscribedField":true,"WebhookID":` + itoa(id) + `}`,
		`{"FieldID":` + number + `,"IsDisplayAlwaysField":true}`} {
		if st, out := r.call("POST", root+"TicketWebhooks/"+itoa(id)+"/Fields", b); st != 200 {
			r.t.Fatalf("add field = %d %v", st, out)
		}
	}
	for _, res := range exclude {
		if st, out := r.call("POST", root+"TicketWebhooks/"+itoa(id)+"/ExcludedResources", `{"ResourceID":`+itoa(res)+`}`); st != 200 {
			r.t.Fatalf("exclude = %d %v", st, out)
		}
	}
	return id
}

func (r *rig) setStatus(id, by int64, name string) {
	r.t.Helper()
	queues := r.world.Queues() // read before the edit: World edits must not read the World
	_, err := r.world.UpdateTicket(id, sandbox.UI(by), func(t *sandbox.Ticket) error {
		for _, q := range queues {
			for _, s := range q.Statuses {
				if q.ID == t.QueueID && s.Name == name {
					t.StatusID = s.ID
				}
			}
		}
		return nil
	})
	if err != nil {
		r.t.Fatal(err)
	}
}

func TestDeliverySignedAndShaped(t *testing.T) {
	r := newRig(t, Settings{})
	s := newSink(t)
	r.register(s.srv.URL+"/cb", "hook-secret-1")
	tk := r.ticket()
	agent := r.world.Members()[3].ID
	r.setStatus(tk.ID, agent, "Completed")
	waitFor(t, "delivery", func() bool { return len(s.all()) == 1 })
	d := s.all()[0]
	m := hmac.New(sha1.New, []byte("hook-secret-1"))
	m.Write(d.body)
	if want := "sha1=" + base64.StdEncoding.EncodeToString(m.Sum(nil)); d.sig != want {
		t.Fatalf("signature = %q, want %q", d.sig, want)
	}
	var p struct {
		Action, Guid, EntityType, EventTime string
		ID                                  int64 `json:"Id"`
		Fields                              map[string]string
		SequenceNumber, PersonID            int64
	}
	if err := json.Unmarshal(d.body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Action != "Update" || p.EntityType != "Ticket" || p.ID != tk.ID || p.PersonID != agent ||
		p.Fields["Status"] != "5" || p.Fields["TicketNumber"] == "" || p.SequenceNumber != 1 || p.Guid == "" {
		t.Fatalf("payload = %s", d.body)
	}
	if _, err := time.Parse(time.RFC3339, p.EventTime); err != nil {
		t.Fatalf("EventTime %q: %v", p.EventTime, err)
	}
}

// An update that touches no subscribed field is not delivered [D];
// changes by an excluded resource are not delivered [K].
func TestDeliveryFiltering(t *testing.T) {
	r := newRig(t, Settings{})
	s := newSink(t)
	excluded := r.world.Members()[4].ID
	r.register(s.srv.URL+"/cb", "k", excluded)
	tk := r.ticket()
	agent := r.world.Members()[3].ID
	r.world.UpdateTicket(tk.ID, sandbox.UI(agent), func(t *sandbox.Ticket) error { t.Description = "only text"; return nil })
	r.setStatus(tk.ID, excluded, "Completed")
	r.setStatus(tk.ID, agent, "In Progress")
	waitFor(t, "delivery", func() bool { return len(s.all()) >= 1 })
	waitFor(t, "settle", func() bool { return len(r.emu.Deliveries()) == len(s.all()) })
	if got := s.all(); len(got) != 1 || !strings.Contains(string(got[0].body), `"Status":"7"`) {
		t.Fatalf("deliveries = %d: %s", len(got), got[0].body)
	}
}

// Deliveries retry 5 times in all; after DisableAfter failed deliveries
// the webhook is deactivated and its DeactivationUrl told [D].
func TestDeliveryRetryAndDeactivation(t *testing.T) {
	r := newRig(t, Settings{DisableAfter: 2})
	s := newSink(t)
	s.status = 503
	id := r.register(s.srv.URL+"/cb", "k")
	tk := r.ticket()
	agent := r.world.Members()[3].ID
	r.setStatus(tk.ID, agent, "Completed")
	r.setStatus(tk.ID, agent, "In Progress")
	waitFor(t, "deactivation", func() bool {
		for _, d := range s.all() {
			if d.path == "/cb/off" {
				return true
			}
		}
		return false
	})
	attempts := 0
	for _, d := range s.all() {
		if d.path == "/cb" {
			attempts++
		}
	}
	if attempts != 10 {
		t.Fatalf("attempts = %d, want 2 deliveries × 5 tries", attempts)
	}
	_, item := r.call("GET", root+"TicketWebhooks/"+itoa(id), "")
	if item["item"].(map[string]any)["isActive"] != false {
		t.Fatalf("webhook still active: %v", item)
	}
	r.setStatus(tk.ID, agent, "Completed")
	time.Sleep(20 * time.Millisecond) // nothing must arrive: the hook is inactive
	for _, d := range s.all()[len(s.all())-1:] {
		if d.path != "/cb/off" {
			t.Fatalf("delivered to an inactive webhook: %s", d.path)
		}
	}
}

func TestDeliveryDedupAndDrop(t *testing.T) {
	r := newRig(t, Settings{})
	s := newSink(t)
	r.register(s.srv.URL+"/cb", "k")
	r.register(s.srv.URL+"/cb", "k2")
	tk := r.ticket()
	r.setStatus(tk.ID, r.world.Members()[3].ID, "Completed")
	waitFor(t, "delivery", func() bool { return len(r.emu.Deliveries()) == 1 })
	if n := len(s.all()); n != 1 {
		t.Fatalf("deliveries = %d, want one per entity and URL", n)
	}
	r.f.Set(sandbox.FaultSettings{DropWebhooks: 1})
	r.setStatus(tk.ID, r.world.Members()[3].ID, "In Progress")
	waitFor(t, "drop record", func() bool { return len(r.emu.Deliveries()) == 2 })
	if d := r.emu.Deliveries()[1]; !d.Dropped || len(s.all()) != 1 {
		t.Fatalf("dropped delivery = %+v", d)
	}
}

func TestWebhookChildren(t *testing.T) {
	r := newRig(t, Settings{})
	id := r.register("https://h.example/cb", "k")
	base := root + "TicketWebhooks/" + itoa(id)
	cases := []struct {
		method, path, body string
		status             int
	}{
		{"POST", base + "/Fields", `{"FieldID":9999,"IsSubscribedField":true}`, 500},
		{"POST", base + "/Fields", `{"FieldID":` + r.fieldID("TicketWebhookFields", "status") + `}`, 500},
		{"POST", base + "/Fields", `{"IsSubscribedField":true}`, 500},
		{"POST", base + "/ExcludedResources", `{"ResourceID":1}`, 500},
		{"POST", base + "/ExcludedResources", `{"ResourceID":` + itoa(r.emu.APIResourceID()) + `,"WebhookID":1}`, 500},
		{"DELETE", base + "/Fields/1", ``, 500},
		{"DELETE", root + "TicketWebhooks/1", ``, 500},
		{"POST", root + "TicketWebhooks", `{"WebhookUrl":"https://h.example"}`, 500},
		{"POST", root + "TicketWebhooks", `{"WebhookUrl":"nope","DeactivationUrl":"https://h.example"}`, 500},
		{"POST", root + "TicketWebhooks", `{"WebhookUrl":"https://h.example","DeactivationUrl":"https://h.example","SecretKey":"` + strings.Repeat("k", 65) + `"}`, 400},
		{"POST", root + "TicketWebhooks", `{"WebhookUrl":"https://h.example","DeactivationUrl":"https://h.example","Name":"` + strings.Repeat("n", 51) + `"}`, 400},
	}
	for _, tc := range cases {
		if st, out := r.call(tc.method, tc.path, tc.body); st != tc.status || errorsOf(out) == "" {
			t.Errorf("%s %s %s = %d %v, want %d", tc.method, tc.path, tc.body, st, out, tc.status)
		}
	}
	_, out := r.call("GET", base+"/Fields", "")
	if len(items(out)) != 2 {
		t.Fatalf("fields = %v", out)
	}
	fid := itoa(int64(items(out)[0]["id"].(float64)))
	if st, _ := r.call("DELETE", base+"/Fields/"+fid, ""); st != 200 {
		t.Fatalf("delete field = %d", st)
	}
	_, out = r.call("POST", root+"TicketWebhooks/query", `{"filter":[{"op":"eq","field":"name","value":"test"}]}`)
	if len(items(out)) != 1 {
		t.Fatalf("query webhooks = %v", out)
	}
	if st, _ := r.call("POST", root+"TicketWebhooks/query", `{"filter":[{"op":"eq","field":"secretKey","value":"k"}]}`); st != 400 {
		t.Fatalf("querying by secret = %d, want 400", st)
	}
	if st, _ := r.call("DELETE", root+"TicketWebhooks/"+itoa(id), ""); st != 200 {
		t.Fatalf("delete = %d", st)
	}
}

// Changes made through the API are delivered too, naming the API user,
// unless it is excluded.
func TestDeliveryOfAPIChanges(t *testing.T) {
	r := newRig(t, Settings{})
	s := newSink(t)
	r.register(s.srv.URL+"/cb", "k")
	tk := r.ticket()
	if st, out := r.call("PATCH", root+"Tickets", `{"id":`+itoa(tk.ID)+`,"status":5}`); st != 200 {
		t.Fatalf("patch = %d %v", st, out)
	}
	waitFor(t, "delivery", func() bool { return len(s.all()) == 1 })
	if body := string(s.all()[0].body); !strings.Contains(body, `"PersonID":`+itoa(r.emu.APIResourceID())) {
		t.Fatalf("delivery = %s", body)
	}
}
