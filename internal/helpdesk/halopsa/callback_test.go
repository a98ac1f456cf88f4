package halopsa_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/halopsa"
)

func parserClient(t testing.TB) *halopsa.Client {
	t.Helper()
	c, err := halopsa.New(halopsa.Config{BaseURL: "https://acme.halopsa.com", ClientID: "id", ClientSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// basic builds the header Halo sends for Basic authentication, computed
// here independently of the client: base64("user:password").
func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestVerifyCallback(t *testing.T) {
	const secret = "cb-secret-123"
	body := readFixture(t, "webhook_full.json")
	cases := []struct {
		name   string
		header string
		secret helpdesk.Secret
		body   []byte
		reason string // "" means accepted
	}{
		{"known good", basic("horizon", secret), secret, body, ""},
		{"tampered body still authenticates (Halo signs nothing)", basic("horizon", secret), secret, append([]byte("x"), body...), ""},
		{"wrong secret", basic("horizon", "other"), secret, body, "credential mismatch"},
		{"wrong user", basic("admin", secret), secret, body, "credential mismatch"},
		{"secret as user", basic(secret, "horizon"), secret, body, "credential mismatch"},
		{"missing header", "", secret, body, "missing authorization header"},
		{"bearer instead of basic", "Bearer " + secret, secret, body, "authorization is not basic"},
		{"garbled basic", "Basic !!!not-base64", secret, body, "authorization is not basic"},
		{"no secret configured", basic("horizon", ""), "", body, "no callback secret configured"},
	}
	c := parserClient(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/callbacks/halopsa", nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			err := c.VerifyCallback(context.Background(), r, tc.body, tc.secret)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			var ce *helpdesk.CallbackError
			if !errors.As(err, &ce) || ce.Status != 401 || ce.Reason != tc.reason {
				t.Fatalf("err %v, want 401 %q", err, tc.reason)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatal("the rejection leaks the secret")
			}
		})
	}
}

func TestParseCallbackFixtures(t *testing.T) {
	c := parserClient(t)
	full := parseFixture(t, c, "webhook_full.json")
	if len(full) != 1 {
		t.Fatalf("%d events", len(full))
	}
	ev := full[0]
	if ev.DeliveryID != "8e25bc7b-e07e-4102-9398-5d6647e1e79d" || ev.Entity != helpdesk.EntityTickets ||
		ev.Action != helpdesk.ActionUpdated || ev.ExternalID != "4242" || ev.TicketID != "4242" || ev.Actor != "4" ||
		!ev.OccurredAt.Equal(ts("2024-05-01T10:15:30.1234567Z")) || ev.Ticket == nil || !ev.Ticket.Closed ||
		ev.Ticket.Queue.ID != "5" || ev.Ticket.Status.ID != "9" {
		t.Fatalf("full payload %+v (ticket %+v)", ev, ev.Ticket)
	}
	only := parseFixture(t, c, "webhook_event_only.json")[0]
	if only.Entity != helpdesk.EntityTickets || only.Action != helpdesk.ActionCreated || only.ExternalID != "4250" ||
		only.Ticket != nil || only.Actor != "" || !only.OccurredAt.IsZero() {
		t.Fatalf("event-only payload %+v", only)
	}
	act := parseFixture(t, c, "webhook_action.json")[0]
	if act.Entity != helpdesk.EntityTimeEntries || act.Action != helpdesk.ActionCreated || act.ExternalID != "9001" ||
		act.TicketID != "4242" || act.Actor != "7" || act.Ticket != nil {
		t.Fatalf("action payload %+v", act)
	}
	batch := parseFixture(t, c, "webhook_batch.json")
	if len(batch) != 2 || batch[0].Action != helpdesk.ActionCreated || batch[0].ExternalID != "4251" ||
		batch[1].Action != helpdesk.ActionUpdated || batch[1].ExternalID != "4242" || batch[0].DeliveryID == batch[1].DeliveryID {
		t.Fatalf("batch %+v", batch)
	}
}

func parseFixture(t *testing.T, c *halopsa.Client, name string) []helpdesk.CallbackEvent {
	t.Helper()
	evs, err := c.ParseCallback(http.Header{}, readFixture(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return evs
}

func TestParseCallbackMalformed(t *testing.T) {
	c := parserClient(t)
	for _, body := range []string{
		``, `   `, `not json`, `{"event":`, `[]`, `[1]`, `"ticket"`, `42`, `null`, `{}`,
		`{"event":"Ticket Updated"}`,
		`{"event":"Ticket Updated","object_id":{}}`,
		`{"event":"Action Added","action":[1]}`,
		`{"event":"Action Added","action":{"id":1}}`,
		`{"event":"Ticket Updated","ticket":"4242"}`,
		`[{"event":"Ticket Updated","object_id":1},{"event":""}]`,
	} {
		_, err := c.ParseCallback(http.Header{}, []byte(body))
		var ce *helpdesk.CallbackError
		if !errors.As(err, &ce) || ce.Status != 400 {
			t.Errorf("body %q: err %v, want a 400 CallbackError", body, err)
		}
	}
}

// FuzzParseCallback: any body either parses into events with delivery IDs
// and entities, or is a 400; it never panics.
func FuzzParseCallback(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "webhook_*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`[{"event":"Action Added","object_id":"7","action":{"id":"8","timetaken":"1.5"}}]`))
	c := parserClient(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := c.ParseCallback(http.Header{}, body)
		if err != nil {
			var ce *helpdesk.CallbackError
			if !errors.As(err, &ce) || ce.Status != 400 {
				t.Fatalf("error %v is not a 400 CallbackError", err)
			}
			return
		}
		for _, ev := range evs {
			if ev.DeliveryID == "" || ev.Entity == "" || ev.Action == "" || (ev.ExternalID == "" && ev.TicketID == "") {
				t.Fatalf("incomplete event %+v", ev)
			}
		}
	})
}
