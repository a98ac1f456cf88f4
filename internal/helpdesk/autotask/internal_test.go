package autotask

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/horizon/reconciler/internal/helpdesk"
)

func TestCleanZoneURL(t *testing.T) {
	cases := []struct{ in, want string }{
		{"https://webservices5.autotask.net/ATServicesRest/", "https://webservices5.autotask.net/ATServicesRest/V1.0"},
		{"https://webservices5.autotask.net//ATServicesRest/", "https://webservices5.autotask.net/ATServicesRest/V1.0"},
		{"https://webservices5.autotask.net/ATServicesRest//", "https://webservices5.autotask.net/ATServicesRest/V1.0"},
		{"https://webservices14.autotask.net/atservicesrest/v1.0/", "https://webservices14.autotask.net/atservicesrest/v1.0"},
		{" https://webservices2.autotask.net/ATServicesRest ", "https://webservices2.autotask.net/ATServicesRest/V1.0"},
	}
	for _, tc := range cases {
		got, err := cleanZoneURL(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("cleanZoneURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "webservices5.autotask.net/ATServicesRest/", "ftp://x/ATServicesRest"} {
		if _, err := cleanZoneURL(bad); err == nil {
			t.Errorf("cleanZoneURL(%q) accepted", bad)
		}
	}
}

func TestRebase(t *testing.T) {
	got, err := rebase("https://webservices5.autotask.net/ATServicesRest/V1.0", "http://127.0.0.1:8080")
	if err != nil || got != "http://127.0.0.1:8080/ATServicesRest/V1.0" {
		t.Fatalf("rebase = %q, %v", got, err)
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2019, 9, 23, 11, 0, 0, 0, time.UTC)
	for _, s := range []string{"2019-09-23T11:00:00.000Z", "2019-09-23T11:00:00Z", "2019-09-23T11:00:00",
		"2019-09-23T11:00:00.000", "2019-09-23T07:00:00-04:00", "2019-09-23 11:00:00"} {
		got, err := parseTime(s)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("parseTime(%q) = %v, %v", s, got, err)
		}
	}
	if got, err := parseTime("2019-09-23"); err != nil || !got.Equal(time.Date(2019, 9, 23, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("date only = %v, %v", got, err)
	}
	if _, err := parseTime("23/09/2019"); err == nil {
		t.Error("accepted a non-ISO date")
	}
	// Sent as milliseconds and Z, in UTC, whatever the caller's zone.
	ny, _ := time.LoadLocation("America/New_York")
	if got := formatTime(time.Date(2025, 3, 9, 1, 30, 0, 5e6, ny)); got != "2025-03-09T06:30:00.005Z" {
		t.Errorf("formatTime = %q", got)
	}
}

func TestFlexInt(t *testing.T) {
	cases := map[string]flexInt{`5`: {5, true}, `"5"`: {5, true}, `null`: {}, `""`: {}, `5.0`: {5, true},
		`29682885`: {29682885, true}, `" 42 "`: {42, true}, `9007199254740993`: {9007199254740993, true}}
	for in, want := range cases {
		var got flexInt
		if err := got.UnmarshalJSON([]byte(in)); err != nil || got != want {
			t.Errorf("flexInt(%s) = %+v, %v", in, got, err)
		}
	}
	for _, bad := range []string{`"x"`, `5.5`, `true`, `{}`} {
		var got flexInt
		if err := got.UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("flexInt(%s) accepted", bad)
		}
	}
}

func TestNormField(t *testing.T) {
	for _, pair := range [][2]string{{"Assigned Resource", "assignedResourceID"}, {"AssignedResourceID", "assignedResourceID"},
		{"Queue", "queueID"}, {"Status", "status"}, {"Ticket Number", "ticketNumber"}, {"TicketID", "ticketID"}} {
		if normField(pair[0]) != normField(pair[1]) {
			t.Errorf("normField(%q) = %q, normField(%q) = %q", pair[0], normField(pair[0]), pair[1], normField(pair[1]))
		}
	}
}

func TestWantedFields(t *testing.T) {
	k, _ := kindByKey("notes")
	ids := map[string]int64{normField("Title"): 3, normField("Ticket"): 9, normField("Description"): 4}
	got := wantedFields(k, ids)
	if len(got) != 3 || !got[2].display || got[2].id != 9 {
		t.Fatalf("wanted = %+v", got)
	}
	// None of the preferred fields offered: the lowest id is subscribed.
	got = wantedFields(k, map[string]int64{"zeta": 12, "alpha": 7})
	if len(got) != 1 || got[0].id != 7 || !got[0].subscribed {
		t.Fatalf("fallback = %+v", got)
	}
}

func TestPacedRate(t *testing.T) {
	base := rate.Limit(2)
	cases := []struct {
		th   Threshold
		want rate.Limit
	}{
		{Threshold{}, base},
		{Threshold{Limit: 10000, Used: 4999, WindowMinutes: 60}, base},
		{Threshold{Limit: 10000, Used: 9000, WindowMinutes: 60}, rate.Limit(1000.0 / 3600)},
		{Threshold{Limit: 10000, Used: 12000, WindowMinutes: 60}, rate.Limit(minRate)},
		{Threshold{Limit: 100000, Used: 60000, WindowMinutes: 60}, base},
	}
	for _, tc := range cases {
		if got := pacedRate(base, tc.th); got != tc.want {
			t.Errorf("pacedRate(%+v) = %v, want %v", tc.th, got, tc.want)
		}
	}
}

func TestResolveStaysOnHost(t *testing.T) {
	root := "https://webservices5.autotask.net/ATServicesRest/V1.0"
	if _, err := resolve(root, "https://evil.example/ATServicesRest/V1.0/Tickets/query/next?x"); err == nil {
		t.Fatal("followed a next page URL to another host")
	}
	if got, err := resolve(root, "https://WebServices5.autotask.net/ATServicesRest/V1.0/Tickets/query/next?x"); err != nil || got == "" {
		t.Fatalf("same host refused: %v", err)
	}
	if got, _ := resolve(root, "Tickets/query"); got != root+"/Tickets/query" {
		t.Fatalf("relative = %q", got)
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		status int
		body   string
		want   error
	}{
		{500, `{"errors":["Missing Required Field: title"]}`, helpdesk.ErrInvalid},
		{500, `{"errors":["The thread limit has been reached"]}`, helpdesk.ErrRateLimited},
		{500, `{"errors":["API threshold exceeded"]}`, helpdesk.ErrRateLimited},
		{500, `<html>500</html>`, nil},
		{503, `{"errors":["down for maintenance"]}`, nil},
		{400, `{"errors":["bad"]}`, nil},
	}
	for _, tc := range cases {
		if got := classify(tc.status, http.Header{}, []byte(tc.body)); !errors.Is(got, tc.want) && got != tc.want {
			t.Errorf("classify(%d, %s) = %v, want %v", tc.status, tc.body, got, tc.want)
		}
	}
}

func TestHookName(t *testing.T) {
	n := hookName("Acme  Managed Services, Inc.", "companies", "0123abcd")
	if len(n) > nameMax || !strings.HasPrefix(n, "horizon ") || !strings.HasSuffix(n, " companies [0123abcd]") {
		t.Fatalf("hookName = %q", n)
	}
	if n := hookName("", "notes", "0123abcd"); n != "horizon notes [0123abcd]" {
		t.Fatalf("hookName = %q", n)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, cfg := range []Config{{}, {Username: "u"}, {Username: "u", Secret: "s"},
		{Username: "u", Secret: "s", IntegrationCode: "c", BaseURL: "not a url"},
		{Username: "u", Secret: "s", IntegrationCode: "c", ZoneURL: "webservices5/x"}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		} else if strings.Contains(err.Error(), "<secret>") {
			t.Errorf("error shows a secret placeholder: %v", err)
		}
	}
}

// TestPacerWaitIsNotSent: the pacer's "would exceed context deadline" is
// helpdesk.ErrNotSent, so that nothing classes it as an invalid request.
func TestPacerWaitIsNotSent(t *testing.T) {
	p := newPacer(0.01, 1, -1)
	p.lim.Allow() // spend the burst
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := p.wait(ctx); !errors.Is(err, helpdesk.ErrNotSent) {
		t.Fatalf("pacer wait: %v, want ErrNotSent", err)
	}
}
