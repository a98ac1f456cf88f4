package connectwise

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestToTicketFromDocExample(t *testing.T) {
	got, err := toTicket(readFixture(t, "ticket.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := helpdesk.Ticket{ExternalID: "4711", Summary: "Printer offline on 3rd floor",
		Status: helpdesk.Ref{ID: "16", Name: "New"}, Priority: helpdesk.Ref{ID: "4", Name: "Priority 3 - Normal"},
		Type: helpdesk.Ref{ID: "14", Name: "Hardware"}, Queue: helpdesk.Ref{ID: "1", Name: "Help Desk"},
		CompanyID: "250", ContactID: "48", AssigneeID: "155",
		CreatedAt: time.Date(2025, 3, 4, 9, 58, 12, 0, time.UTC), UpdatedAt: time.Date(2025, 3, 4, 10, 15, 0, 0, time.UTC)}
	got.Raw = nil
	if !equalJSON(t, got, want) {
		t.Errorf("ticket:\n got %+v\nwant %+v", got, want)
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2022-07-02T04:20:41Z", time.Date(2022, 7, 2, 4, 20, 41, 0, time.UTC)},
		{"2022-07-02T04:20:41.123Z", time.Date(2022, 7, 2, 4, 20, 41, 123e6, time.UTC)},
		{"2022-07-02T04:20:41", time.Date(2022, 7, 2, 4, 20, 41, 0, time.UTC)},
		{"2022-07-02T06:20:41+02:00", time.Date(2022, 7, 2, 4, 20, 41, 0, time.UTC)},
		{"", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseTime(tt.in)
			if err != nil || !got.Equal(tt.want) {
				t.Errorf("parseTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
	if _, err := parseTime("yesterday"); err == nil {
		t.Error("parseTime accepted garbage")
	}
}

func TestParseCallbackFixtures(t *testing.T) {
	tests := []struct {
		file string
		want helpdesk.CallbackEvent
	}{
		{"callback_ticket_updated.json", helpdesk.CallbackEvent{DeliveryID: "0f1c6a8e-3c2b-4a59-9b3e-5d2f8a7c1e44",
			Entity: helpdesk.EntityTickets, Action: helpdesk.ActionUpdated, ExternalID: "4711", Actor: "jdoe",
			OccurredAt: time.Date(2025, 3, 4, 10, 20, 0, 0, time.UTC)}},
		{"callback_contact_deleted.json", helpdesk.CallbackEvent{DeliveryID: "824d99d2-33c0-4c56-9ded-d99d895a90e3",
			Entity: helpdesk.EntityContacts, Action: helpdesk.ActionDeleted, ExternalID: "57962", Actor: "Aurasell"}},
		{"callback_time_added.json", helpdesk.CallbackEvent{DeliveryID: "5b2d9e1f-7a3c-4e8b-b1d2-9c0a4f6e8d21",
			Entity: helpdesk.EntityTimeEntries, Action: helpdesk.ActionCreated, ExternalID: "9901", TicketID: "4711",
			Actor: "jdoe", OccurredAt: time.Date(2025, 3, 4, 10, 31, 0, 0, time.UTC)}},
	}
	c := &Client{}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			evs, err := c.ParseCallback(nil, readFixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 {
				t.Fatalf("got %d events, want 1", len(evs))
			}
			got := evs[0]
			ticket := got.Ticket
			got.Ticket = nil
			if !equalJSON(t, got, tt.want) {
				t.Errorf("event:\n got %+v\nwant %+v", got, tt.want)
			}
			if tt.want.Entity == helpdesk.EntityTickets {
				if ticket == nil || ticket.Status.ID != "17" || ticket.Summary != "Printer offline (toner)" {
					t.Errorf("ticket from Entity = %+v", ticket)
				}
			} else if ticket != nil {
				t.Errorf("non-ticket event carries a ticket")
			}
		})
	}
}

func TestParseCallbackMalformed(t *testing.T) {
	tests := map[string]string{
		"not json":        `{"Action":`,
		"array":           `[1,2]`,
		"unknown type":    `{"Action":"updated","Type":"spaceship","ID":1}`,
		"unknown action":  `{"Action":"exploded","Type":"ticket","ID":1}`,
		"no id":           `{"Action":"updated","Type":"ticket"}`,
		"entity a number": `{"Action":"updated","Type":"ticket","ID":1,"Entity":42}`,
		"entity not json": `{"Action":"updated","Type":"ticket","ID":1,"Entity":"{nope"}`,
		"id not a number": `{"Action":"updated","Type":"ticket","ID":"x"}`,
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := parseDelivery([]byte(body))
			var ce *helpdesk.CallbackError
			if !errors.As(err, &ce) || ce.Status != 400 {
				t.Errorf("err = %v, want a 400 CallbackError", err)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	c := &Client{cfg: Config{PublicKey: "pubkey-123", PrivateKey: "privkey-456", ClientID: "client-789"}}
	tests := []struct {
		file, want string
	}{
		{"error_invalid_object.json", "InvalidObject: ticket object is invalid (summary: Summary is required.)"},
		{"error_ssl_required.json", "Security: SSL is required."},
		{"error_rate_limited.json", "ConnectWiseAPI: Too many requests. Please try again in 30 seconds."},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			if got := c.errorMessage(400, readFixture(t, tt.file)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if got := c.errorMessage(502, []byte("<html>bad gateway privkey-456</html>")); got != "<html>bad gateway <secret></html>" {
		t.Errorf("non-JSON body: got %q", got)
	}
}

func TestParseLinksDocExample(t *testing.T) {
	h := `<https://staging.connectwisedev.com/v2017_3/apis/3.0/company/companies?pageSize=50&page=2>; rel="next", ` +
		`<https://staging.connectwisedev.com/v2017_3/apis/3.0/company/companies?pageSize=50&page=4>; rel="last"`
	got := parseLinks(h)
	if got["next"] != "https://staging.connectwisedev.com/v2017_3/apis/3.0/company/companies?pageSize=50&page=2" ||
		got["last"] == "" || len(got) != 2 {
		t.Errorf("parseLinks = %v", got)
	}
	if len(parseLinks("")) != 0 || len(parseLinks("garbage")) != 0 {
		t.Error("empty or garbage Link header produced links")
	}
}

func TestConditions(t *testing.T) {
	s := listSpec{since: time.Date(2024, 5, 1, 10, 0, 0, 999e6, time.FixedZone("CEST", 7200)),
		conds: []string{`chargeToType="ServiceTicket"`}}
	want := `lastUpdated > [2024-05-01T08:00:00Z] AND chargeToType="ServiceTicket"`
	if got := s.conditions(); got != want {
		t.Errorf("conditions = %q, want %q", got, want)
	}
	if got := (listSpec{}).conditions(); got != "" {
		t.Errorf("no since: %q", got)
	}
}

func TestCompanyInfoFixture(t *testing.T) {
	var info companyInfo
	if err := json.Unmarshal(readFixture(t, "companyinfo.json"), &info); err != nil {
		t.Fatal(err)
	}
	if normCodebase(info.Codebase) != "v2017_3/" {
		t.Errorf("codebase = %q", info.Codebase)
	}
}

func TestCallbackRegistrationFixture(t *testing.T) {
	var cb callbackWire
	if err := json.Unmarshal(readFixture(t, "callback_registration.json"), &cb); err != nil {
		t.Fatal(err)
	}
	w, ok := toWebhook(cb)
	if !ok || w.ID != "312" || w.Key != "ticket" || w.Managed || w.URL != "https://sync.example.com/hooks/cw" || !w.Active {
		t.Errorf("webhook = %+v, %v", w, ok)
	}
}

func TestCallbackURLRoundTrip(t *testing.T) {
	for _, base := range []string{"https://h.example/callbacks/connectwise", "https://h.example/cb?acct=acme"} {
		u := callbackURL(base, "s3cr3t&=")
		clean, token := splitCallbackURL(u)
		if clean != base || token != "s3cr3t&=" {
			t.Errorf("%s: round trip gave %q, %q (registered %q)", base, clean, token, u)
		}
	}
}
