package autotask_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/autotask"
)

// sign computes the documented signature independently of the client:
// "sha1=" + base64(HMAC-SHA1(SecretKey, raw body)).
func sign(secret string, body []byte) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return "sha1=" + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func newParser(t *testing.T) *autotask.Client {
	t.Helper()
	c, err := autotask.New(autotask.Config{Username: "u@x.example", Secret: "s", IntegrationCode: "c"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fixtureBody(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerifyCallback(t *testing.T) {
	c := newParser(t)
	body := fixtureBody(t, "webhook_ticket_update.json")
	const secret = "s3cr3t-0123456789"
	good := sign(secret, body)
	cases := []struct {
		name   string
		header string
		body   []byte
		secret helpdesk.Secret
		reason string
	}{
		{"known good", good, body, secret, ""},
		{"algorithm in capitals", "SHA1=" + strings.TrimPrefix(good, "sha1="), body, secret, ""},
		{"tampered body", good, append([]byte(" "), body...), secret, "signature mismatch"},
		{"wrong secret", good, body, "another-secret", "signature mismatch"},
		{"missing header", "", body, secret, "missing X-Hook-Signature header"},
		{"no algorithm", strings.TrimPrefix(good, "sha1="), body, secret, "malformed"},
		{"sha256 claimed", "sha256=" + strings.TrimPrefix(good, "sha1="), body, secret, "malformed"},
		{"not base64", "sha1=!!!", body, secret, "malformed"},
		{"hex instead of base64", "sha1=" + strings.Repeat("ab", 20), body, secret, "signature mismatch"},
		{"no secret configured", good, body, "", "no webhook secret"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodPost, "https://horizon.example/callbacks/autotask", nil)
			if tc.header != "" {
				r.Header.Set("X-Hook-Signature", tc.header)
			}
			err := c.VerifyCallback(context.Background(), r, tc.body, tc.secret)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			var ce *helpdesk.CallbackError
			if !errors.As(err, &ce) || ce.Status != 401 || !strings.Contains(ce.Reason, tc.reason) {
				t.Fatalf("err = %v, want 401 %q", err, tc.reason)
			}
			if strings.Contains(err.Error(), string(tc.secret)) && tc.secret != "" || strings.Contains(err.Error(), good) {
				t.Fatalf("reason leaks the secret or signature: %v", err)
			}
		})
	}
}

// The documentation's example header has the shape the client reads.
func TestDocumentedSignatureShape(t *testing.T) {
	v := "sha1=UaDXFl2DRDu9dnINVkFle7y5uAE="
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(v, "sha1="))
	if err != nil || len(raw) != sha1.Size {
		t.Fatalf("the documented value is not base64 of a SHA-1 digest: %v", err)
	}
}

func TestParseCallback(t *testing.T) {
	c := newParser(t)
	cases := []struct {
		file string
		want []helpdesk.CallbackEvent
	}{
		{"webhook_ticket_update.json", []helpdesk.CallbackEvent{{
			DeliveryID: "d0046a73-76a0-41c4-a634-4b7fce7e43ec:42", Entity: helpdesk.EntityTickets,
			Action: helpdesk.ActionUpdated, ExternalID: "8801", Actor: "29682885",
			OccurredAt: time.Date(2025, 3, 4, 10, 31, 7, 0, time.UTC)}}},
		{"webhook_ticket_create_nango.json", []helpdesk.CallbackEvent{{
			DeliveryID: "3f2c1d0e-0000-4000-8000-00000000abcd:1", Entity: helpdesk.EntityTickets,
			Action: helpdesk.ActionCreated, ExternalID: "351181", Actor: "30691780",
			OccurredAt: time.Date(2025, 9, 15, 14, 57, 50, 0, time.UTC)}}},
		{"webhook_note_create.json", []helpdesk.CallbackEvent{{
			DeliveryID: "a1b2c3d4-1111-4222-8333-444455556666:7", Entity: helpdesk.EntityNotes,
			Action: helpdesk.ActionCreated, ExternalID: "774411", TicketID: "8801", Actor: "29682885",
			OccurredAt: time.Date(2025, 3, 4, 10, 40, 0, 0, time.UTC)}}},
		{"webhook_company_delete.json", []helpdesk.CallbackEvent{{
			DeliveryID: "b7e0b7e0-2222-4333-8444-555566667777:3", Entity: helpdesk.EntityCompanies,
			Action: helpdesk.ActionDeleted, ExternalID: "174",
			OccurredAt: time.Date(2025, 3, 5, 8, 0, 0, 0, time.UTC)}}},
		{"webhook_deactivated.json", nil},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			got, err := c.ParseCallback(http.Header{}, fixtureBody(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("events = %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("event = %+v\nwant    %+v", got[i], tc.want[i])
				}
			}
		})
	}
}

func TestParseCallbackMalformed(t *testing.T) {
	c := newParser(t)
	for _, body := range []string{``, `[]`, `{`, `"x"`, `{"Action":"Update","EntityType":"Ticket"}`,
		`{"Action":"Explode","EntityType":"Ticket","Id":1}`, `{"Action":"Update","EntityType":"Invoice","Id":1}`,
		`{"Action":"Update","EntityType":"Ticket","Id":"abc"}`, `{"Action":"Update","EntityType":"Ticket","Id":-3}`} {
		_, err := c.ParseCallback(http.Header{}, []byte(body))
		var ce *helpdesk.CallbackError
		if !errors.As(err, &ce) || ce.Status != 400 {
			t.Errorf("ParseCallback(%q) = %v, want a 400 CallbackError", body, err)
		}
	}
}

func FuzzParseCallback(f *testing.F) {
	files, _ := filepath.Glob("testdata/webhook_*.json")
	for _, name := range files {
		f.Add(fixtureBody(f, filepath.Base(name)))
	}
	f.Add([]byte(`{"Action":"Update","EntityType":"TicketNote","Id":1,"Fields":{"TicketID":{"x":1}}}`))
	c, err := autotask.New(autotask.Config{Username: "u@x.example", Secret: "s", IntegrationCode: "c"})
	if err != nil {
		f.Fatal(err)
	}
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
			if ev.ExternalID == "" || ev.Entity == "" || ev.Action == "" || ev.DeliveryID == "" {
				t.Fatalf("incomplete event %+v", ev)
			}
		}
	})
}
