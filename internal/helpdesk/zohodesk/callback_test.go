package zohodesk_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/zohodesk"
)

func callbackClient(t testing.TB) *zohodesk.Client {
	c, err := zohodesk.New(zohodesk.Config{OrgID: "2389290", ClientID: "c", ClientSecret: "s", RefreshToken: "r"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestVerifyCallback checks the URL token Horizon registered: Zoho signs
// nothing, so the "signature" is the secret carried in the URL, compared
// in constant time; the body is not covered (records are re-fetched).
func TestVerifyCallback(t *testing.T) {
	c := callbackClient(t)
	body := fixture(t, "delivery_ticket_update.json")
	tampered := append([]byte(nil), body...)
	tampered[len(tampered)-3] = ' '
	cases := []struct {
		name   string
		target string
		body   []byte
		secret helpdesk.Secret
		status int // 0: accepted
	}{
		{"good token", "/callbacks/zohodesk?token=" + callbackSecret.Reveal(), body, callbackSecret, 0},
		{"good token as path segment", "/callbacks/zohodesk/" + callbackSecret.Reveal(), body, callbackSecret, 0},
		{"tampered body still verifies (not covered)", "/callbacks/zohodesk?token=" + callbackSecret.Reveal(), tampered, callbackSecret, 0},
		{"wrong secret", "/callbacks/zohodesk?token=" + callbackSecret.Reveal(), body, "another-secret", 401},
		{"wrong token", "/callbacks/zohodesk?token=guess", body, callbackSecret, 401},
		{"missing token", "/callbacks/zohodesk", body, callbackSecret, 401},
		{"no secret configured", "/callbacks/zohodesk?token=", body, "", 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", tc.target, nil)
			err := c.VerifyCallback(context.Background(), r, tc.body, tc.secret)
			var ce *helpdesk.CallbackError
			switch {
			case tc.status == 0 && err != nil:
				t.Fatalf("rejected: %v", err)
			case tc.status != 0 && (!errors.As(err, &ce) || ce.Status != tc.status):
				t.Fatalf("err = %v, want status %d", err, tc.status)
			}
		})
	}
}

func TestParseCallbackFixtures(t *testing.T) {
	c := callbackClient(t)
	evs, err := c.ParseCallback(nil, fixture(t, "delivery_ticket_update.json"))
	if err != nil || len(evs) != 1 {
		t.Fatalf("ParseCallback = %+v, %v", evs, err)
	}
	ev := evs[0]
	if ev.Entity != helpdesk.EntityTickets || ev.Action != helpdesk.ActionUpdated || ev.ExternalID != "1892000000143237" ||
		!ev.OccurredAt.Equal(time.UnixMilli(1714558530000)) || ev.Ticket == nil || ev.Ticket.Status.Name != "On Hold" ||
		ev.DeliveryID == "" {
		t.Fatalf("event = %+v", ev)
	}
	evs, err = c.ParseCallback(nil, fixture(t, "delivery_batch.json"))
	if err != nil || len(evs) != 2 {
		t.Fatalf("batch = %+v, %v (the agent presence event is skipped)", evs, err)
	}
	if evs[1].Entity != helpdesk.EntityNotes || evs[1].TicketID != "1892000000143240" || evs[0].Action != helpdesk.ActionCreated ||
		evs[0].DeliveryID == evs[1].DeliveryID {
		t.Fatalf("batch events = %+v", evs)
	}
}

func TestParseCallbackMalformed(t *testing.T) {
	c := callbackClient(t)
	for name, body := range map[string]string{
		"empty":           "",
		"not json":        "token=abc",
		"truncated":       `[{"eventType":"Ticket_Add","payload":{"id":"1"`,
		"no event type":   `[{"payload":{"id":"1"}}]`,
		"payload no id":   `[{"eventType":"Ticket_Add","payload":{}}]`,
		"element not obj": `[1,2]`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.ParseCallback(nil, []byte(body))
			var ce *helpdesk.CallbackError
			if !errors.As(err, &ce) || ce.Status != 400 {
				t.Fatalf("err = %v, want a 400 CallbackError", err)
			}
		})
	}
}

func FuzzParseCallback(f *testing.F) {
	for _, name := range []string{"delivery_ticket_update.json", "delivery_batch.json", "ticket.json", "error_422.json"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`[{"eventType":"TimeEntry_Add","eventTime":12,"payload":{"id":1,"parent":{"id":"2"}}}]`))
	f.Add([]byte(`{"eventType":"Ticket_Delete","payload":{"id":"9"}}`))
	c := callbackClient(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := c.ParseCallback(nil, body)
		if err == nil {
			for _, ev := range evs {
				if ev.ExternalID == "" || ev.DeliveryID == "" {
					t.Fatalf("event without id: %+v", ev)
				}
			}
		}
	})
}
