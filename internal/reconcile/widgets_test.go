package reconcile

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/store"
)

const cwOrigin = "https://na.myconnectwise.net"

func cwConfig(widgets ...config.Widget) *config.Config {
	return &config.Config{Helpdesk: config.Helpdesk{Provider: "connectwise",
		ConnectWise: &config.ConnectWise{Site: "na"}}, Widgets: widgets}
}

func TestCheckWidgetFraming(t *testing.T) {
	type hdr = map[string][]string
	cases := []struct {
		name   string
		header hdr
		ctype  string
		status int
		body   string
		expect string
		want   string // "" means up
	}{
		{"no framing headers", nil, "", 0, "", "", ""},
		{"XFO DENY", hdr{"X-Frame-Options": {"DENY"}}, "", 0, "", "", "refuses to be framed by " + cwOrigin + ": X-Frame-Options DENY"},
		{"XFO deny, any case", hdr{"X-Frame-Options": {"deny"}}, "", 0, "", "", "X-Frame-Options DENY"},
		{"XFO SAMEORIGIN", hdr{"X-Frame-Options": {"SAMEORIGIN"}}, "", 0, "", "", ": X-Frame-Options SAMEORIGIN"},
		{"XFO ALLOW-FROM is ignored by browsers", hdr{"X-Frame-Options": {"ALLOW-FROM " + cwOrigin}}, "", 0, "", "", ""},
		{"XFO conflicting values", hdr{"X-Frame-Options": {"DENY", "SAMEORIGIN"}}, "", 0, "", "", "(conflicting values)"},
		{"CSP none", hdr{"Content-Security-Policy": {"frame-ancestors 'none'"}}, "", 0, "", "", ": Content-Security-Policy frame-ancestors 'none'"},
		{"CSP self", hdr{"Content-Security-Policy": {"default-src 'self'; frame-ancestors 'self'"}}, "", 0, "", "", "frame-ancestors 'self'"},
		{"CSP empty list", hdr{"Content-Security-Policy": {"frame-ancestors;"}}, "", 0, "", "", "no ancestor allowed"},
		{"CSP the PSA's origin", hdr{"Content-Security-Policy": {"frame-ancestors 'self' " + cwOrigin}}, "", 0, "", "", ""},
		{"CSP wildcard host", hdr{"Content-Security-Policy": {"frame-ancestors https://*.myconnectwise.net"}}, "", 0, "", "", ""},
		{"CSP another region", hdr{"Content-Security-Policy": {"frame-ancestors https://eu.myconnectwise.net"}}, "", 0, "", "", "frame-ancestors https://eu.myconnectwise.net"},
		{"CSP another port", hdr{"Content-Security-Policy": {"frame-ancestors https://na.myconnectwise.net:8443"}}, "", 0, "", "", "refuses"},
		{"CSP star", hdr{"Content-Security-Policy": {"frame-ancestors *"}}, "", 0, "", "", ""},
		{"CSP scheme https:", hdr{"Content-Security-Policy": {"frame-ancestors https:"}}, "", 0, "", "", ""},
		{"CSP http source upgrades", hdr{"Content-Security-Policy": {"frame-ancestors http://na.myconnectwise.net"}}, "", 0, "", "", ""},
		{"CSP host without scheme", hdr{"Content-Security-Policy": {"frame-ancestors na.myconnectwise.net"}}, "", 0, "", "", ""},
		{"CSP wins over XFO DENY", hdr{"Content-Security-Policy": {"frame-ancestors " + cwOrigin}, "X-Frame-Options": {"DENY"}}, "", 0, "", "", ""},
		{"CSP without frame-ancestors leaves XFO", hdr{"Content-Security-Policy": {"default-src 'self'"}, "X-Frame-Options": {"DENY"}}, "", 0, "", "", "X-Frame-Options DENY"},
		{"every CSP must allow", hdr{"Content-Security-Policy": {"frame-ancestors *", "frame-ancestors 'none'"}}, "", 0, "", "", "frame-ancestors 'none'"},
		{"policies joined by a comma", hdr{"Content-Security-Policy": {"frame-ancestors *, frame-ancestors 'self'"}}, "", 0, "", "", "frame-ancestors 'self'"},
		{"report-only does not enforce", hdr{"Content-Security-Policy-Report-Only": {"frame-ancestors 'none'"}}, "", 0, "", "", ""},
		{"HTTP 404", nil, "", http.StatusNotFound, "", "", "HTTP 404"},
		{"JSON is not a page", nil, "application/json", 0, "{}", "", `answered "application/json", not HTML`},
		{"expect present", nil, "", 0, "<h1>Horizon calendar</h1>", "Horizon calendar", ""},
		{"expect absent", nil, "", 0, "<h1>Sign in</h1>", "Horizon calendar", `expected text "Horizon calendar" not in the page`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				for k, vs := range c.header {
					for _, v := range vs {
						w.Header().Add(k, v)
					}
				}
				ct := c.ctype
				if ct == "" {
					ct = "text/html; charset=utf-8"
				}
				w.Header().Set("Content-Type", ct)
				if c.status != 0 {
					w.WriteHeader(c.status)
				}
				body := c.body
				if body == "" {
					body = "<!doctype html><title>widget</title>"
				}
				w.Write([]byte(body))
			}))
			defer srv.Close()
			wd := config.Widget{Name: "dash", URL: srv.URL + "/w", Expect: c.expect}
			r := &Reconciler{Config: cwConfig(wd)}
			got := r.CheckWidget(context.Background(), wd)
			if c.want == "" {
				if !got.Up || got.LastError != "" {
					t.Fatalf("down: %s", got.LastError)
				}
				return
			}
			if got.Up || !strings.Contains(got.LastError, c.want) {
				t.Fatalf("up %v, error %q; want down with %q", got.Up, got.LastError, c.want)
			}
		})
	}
}

// TestCheckWidgetFollowsRedirects: the iframe shows the page the
// redirects end at, so its headers decide.
func TestCheckWidgetFollowsRedirects(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/login", http.StatusFound) })
	mux.HandleFunc("/login", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<form>sign in</form>"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	wd := config.Widget{Name: "dash", URL: srv.URL + "/start"}
	got := (&Reconciler{Config: cwConfig(wd)}).CheckWidget(context.Background(), wd)
	if got.Up || !strings.Contains(got.LastError, "X-Frame-Options DENY") {
		t.Fatalf("up %v, error %q", got.Up, got.LastError)
	}
}

func TestPSAOrigin(t *testing.T) {
	cases := []struct {
		name string
		h    config.Helpdesk
		want string
	}{
		{"connectwise site", config.Helpdesk{ConnectWise: &config.ConnectWise{Site: "eu"}}, "https://eu.myconnectwise.net"},
		{"connectwise staging", config.Helpdesk{ConnectWise: &config.ConnectWise{Site: "staging"}}, "https://staging.connectwisedev.com"},
		{"connectwise on premise", config.Helpdesk{ConnectWise: &config.ConnectWise{BaseURL: "https://CW.example.com/v4_6_release/apis/3.0"}}, "https://cw.example.com"},
		{"autotask pinned zone", config.Helpdesk{Autotask: &config.Autotask{ZoneURL: "https://webservices5.autotask.net/ATServicesRest/"}}, "https://ww5.autotask.net"},
		{"autotask discovered zone", config.Helpdesk{Autotask: &config.Autotask{}}, "https://*.autotask.net"},
		{"autotask test server", config.Helpdesk{Autotask: &config.Autotask{BaseURL: "http://127.0.0.1:9000"}}, "http://127.0.0.1:9000"},
		{"zoho data centre", config.Helpdesk{ZohoDesk: &config.ZohoDesk{DataCenter: "au"}}, "https://desk.zoho.com.au"},
		{"zoho base URL", config.Helpdesk{ZohoDesk: &config.ZohoDesk{DataCenter: "us", BaseURL: "https://desk.example.com/api/v1"}}, "https://desk.example.com"},
		{"halo base URL", config.Helpdesk{HaloPSA: &config.HaloPSA{BaseURL: "https://acme.halopsa.com/"}}, "https://acme.halopsa.com"},
	}
	for _, c := range cases {
		if got := PSAOrigin(c.h); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// TestAnyAutotaskZone: without a pinned zone, only a source covering
// every zone's host lets the check pass.
func TestAnyAutotaskZone(t *testing.T) {
	page := "http://127.0.0.1:1"
	for src, want := range map[string]bool{
		"https://*.autotask.net": true, "*": true, "https:": true,
		"https://ww5.autotask.net": false, "'self'": false,
	} {
		if got := ancestorsAllow([]string{src}, anyAutotaskZone, page); got != want {
			t.Errorf("frame-ancestors %s: allows %v, want %v", src, got, want)
		}
	}
}

func TestFileWidgets(t *testing.T) {
	cfg := cwConfig(config.Widget{Name: "ticket", URL: "https://w.example/t"}, config.Widget{Name: "dash", URL: "https://w.example/d2"})
	stored := []store.WidgetCheck{
		{Name: "dash", URL: "https://w.example/d", Up: true}, // URL changed since
		{Name: "old", URL: "https://w.example/o", Up: true},  // removed from the file
		{Name: "ticket", URL: "https://w.example/t", Up: true},
	}
	got := FileWidgets(cfg, stored)
	if len(got) != 2 || got[0].Name != "ticket" || !got[0].Up || got[1].Name != "dash" || got[1].Up || !got[1].CheckedAt.IsZero() {
		t.Fatalf("%+v", got)
	}
}
