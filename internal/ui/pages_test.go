package ui

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

func TestPagesShowTheStore(t *testing.T) {
	f := newFixture(t, Options{})
	f.reconcile(t)
	tk := f.firstTicket(t)
	f.seedTrails(t, tk.ExternalID)
	base := f.srv.URL + "/ui"
	pages := []struct {
		path string
		want []string
	}{
		{"/", []string{"Acme MSP (connectwise)", `<span class="badge green">green</span>`, "Configuration", "Callbacks",
			"ok: last verified callback", "Sync: tickets", "Write-back outbox", "1 writes gave up (dead)", "Smoke test", "never run"}},
		{"/configuration", []string{"env: UI_TEST_CALLBACK_SECRET", "Priority 9 - Nonexistent", "token=&lt;secret&gt;", "Last plan"}},
		{"/users", []string{"helpdesk users", "unmapped", "API user</span> Horizon's own"}},
		{"/picklists", []string{"Priority 1 - Critical", "Priority 9 - Nonexistent", "1 missing", "Refresh now"}},
		{"/widgets", []string{`<span class="badge green">up</span>`, `<span class="badge red">down</span>`,
			"refuses to be framed by " + f.psaURL + ": X-Frame-Options SAMEORIGIN", "Manage Hosted API"}},
		{"/callbacks", []string{"ok", "signature mismatch", "fetch failed: connectwise: get ticket: HTTP 503", "rejected: signature mismatch"}},
		{"/sync-runs", []string{"callback", tk.ExternalID, "backfill"}},
		{"/sync-runs?ticket=" + tk.ExternalID, []string{"callback"}},
		{"/callback-log", []string{"signature mismatch", "not json", "&lt;secret&gt;"}},
		{"/callback-log?result=failed", []string{"HTTP 503", "signature mismatch"}},
		{"/callback-log?entity=ticket&result=failed", []string{"HTTP 503"}},
		{"/writes", []string{"member not found", "Called the customer back", "dead"}},
		{"/tickets/" + tk.ExternalID, []string{tk.Summary, "Force sync", "HTTP 503", "Called the customer back",
			"jane.doe@acme-msp.com", "Replaced the &lt;b&gt;switch&lt;/b&gt;", "member 7002 (not mapped)", "internal"}},
	}
	if tk.Number != "" && tk.Number != tk.ExternalID {
		pages = append(pages, struct {
			path string
			want []string
		}{"/tickets/" + url.PathEscape(tk.Number), []string{tk.Summary}})
	}
	for _, p := range pages {
		code, body := get(t, f.srv.Client(), base+p.path)
		if code != http.StatusOK {
			t.Errorf("%s: HTTP %d\n%s", p.path, code, body)
			continue
		}
		for _, w := range p.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %q", p.path, w)
			}
		}
		for _, secret := range append([]string{callbackSecret, "w1dget-t0ken"}, secretValues(f.env)...) {
			if strings.Contains(body, secret) {
				t.Errorf("%s shows a secret", p.path)
			}
		}
	}
	if _, body := get(t, f.srv.Client(), base+"/callback-log?entity=ticket&result=failed"); strings.Contains(body, "signature mismatch") {
		t.Error("the entity filter lets through a delivery of no entity")
	}
	code, body := get(t, f.srv.Client(), base+"/sync-runs?since=yesterday")
	if code != http.StatusOK || !strings.Contains(body, `since &#34;yesterday&#34;: want a duration`) {
		t.Errorf("bad filter: HTTP %d\n%s", code, body)
	}
	if code, _ := get(t, f.srv.Client(), base+"/tickets/999999"); code != http.StatusNotFound {
		t.Errorf("unknown ticket: HTTP %d", code)
	}
}

// secretValues are the credentials the sandbox accepts.
func secretValues(env map[string]string) []string {
	var out []string
	for _, v := range env {
		if len(v) >= 8 {
			out = append(out, v)
		}
	}
	return out
}

func TestPaging(t *testing.T) {
	f := newFixture(t, Options{PageSize: 2})
	id := f.firstTicketInPSA()
	for range 5 {
		f.acct.Syncer.SyncTicket(t.Context(), id, "manual")
	}
	seen := map[string]bool{}
	next := f.srv.URL + "/ui/sync-runs?trigger=manual"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		_, body := get(t, f.srv.Client(), next)
		for _, m := range regexp.MustCompile(`<tr><td>(\d+)</td>`).FindAllStringSubmatch(body, -1) {
			if seen[m[1]] {
				t.Errorf("run %s on two pages", m[1])
			}
			seen[m[1]] = true
		}
		next = ""
		if m := regexp.MustCompile(`href="(\?[^"]+)" rel="next"`).FindStringSubmatch(body); m != nil {
			next = f.srv.URL + "/ui/sync-runs" + strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if len(seen) != 5 {
		t.Errorf("saw %d runs over the pages, want 5", len(seen))
	}
}

func TestActions(t *testing.T) {
	f := newFixture(t, Options{})
	c := f.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	_, page := get(t, c, f.srv.URL+"/ui/picklists")
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no CSRF field on the page")
	}
	post := func(path string, form url.Values, hdr map[string]string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/ui"+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	ok := url.Values{"csrf": {m[1]}}
	cases := []struct {
		name, path string
		form       url.Values
		hdr        map[string]string
		status     int
		msg        string
	}{
		{"no token", "/picklists/refresh", nil, nil, http.StatusForbidden, ""},
		{"wrong token", "/picklists/refresh", url.Values{"csrf": {"00"}}, nil, http.StatusForbidden, ""},
		{"cross-site", "/picklists/refresh", ok, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden, ""},
		{"foreign origin", "/picklists/refresh", ok, map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden, ""},
		{"refresh", "/picklists/refresh", ok, nil, http.StatusSeeOther, "Picklist database refreshed"},
		{"check widgets", "/widgets/check", ok, nil, http.StatusSeeOther, "Checked 2 widgets: 1 up."},
		{"force sync", "/tickets/" + f.firstTicketInPSA() + "/sync", ok, nil, http.StatusSeeOther, "1 created"},
		{"force sync of nothing", "/tickets/999999/sync", ok, nil, http.StatusSeeOther, "Neither the PSA nor Horizon has a ticket 999999."},
		{"GET is not an action", "/picklists/refresh", nil, nil, http.StatusMethodNotAllowed, ""},
	}
	for _, tc := range cases {
		var res *http.Response
		if tc.name == "GET is not an action" {
			r, err := c.Get(f.srv.URL + "/ui" + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			r.Body.Close()
			res = r
		} else {
			res = post(tc.path, tc.form, tc.hdr)
		}
		if res.StatusCode != tc.status {
			t.Errorf("%s: HTTP %d, want %d", tc.name, res.StatusCode, tc.status)
			continue
		}
		if loc := res.Header.Get("Location"); tc.msg != "" {
			u, _ := url.Parse(loc)
			if got := u.Query().Get("msg"); !strings.Contains(got, tc.msg) {
				t.Errorf("%s: message %q, want %q", tc.name, got, tc.msg)
			}
		}
	}
	checks, _ := f.acct.Store.WidgetChecks(t.Context(), f.acct.Scope)
	for _, c := range checks {
		if c.Name == "ticket" && c.LastError != "refuses to be framed by "+f.psaURL+": X-Frame-Options SAMEORIGIN" {
			t.Errorf("ticket widget: %q", c.LastError)
		}
	}
}

// firstTicketInPSA is the ID of a ticket the sandbox has (the fixture's
// store is empty until a reconcile).
func (f *fixture) firstTicketInPSA() string {
	for page, err := range f.acct.Provider.Tickets(t0ctx(), helpdeskQuery()) {
		if err == nil && len(page) > 0 {
			return page[0].ExternalID
		}
		break
	}
	return "1"
}

func TestAdminToken(t *testing.T) {
	f := newFixture(t, Options{Token: "s3cret-admin"})
	c := f.srv.Client()
	code, body := get(t, c, f.srv.URL+"/ui/callbacks")
	if code != http.StatusUnauthorized || !strings.Contains(body, "HORIZON_ADMIN_TOKEN") || strings.Contains(body, "Webhook") {
		t.Fatalf("without the token: HTTP %d\n%s", code, body)
	}
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/ui/callbacks", nil)
	req.Header.Set("Authorization", "Bearer s3cret-admin")
	res, err := c.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("bearer token: %v %v", err, res.Status)
	}
	res.Body.Close()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err = c.PostForm(f.srv.URL+"/ui/login", url.Values{"token": {"wrong"}, "next": {"/ui/callbacks"}})
	if err != nil || res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong token: %v %v", err, res.Status)
	}
	res, err = c.PostForm(f.srv.URL+"/ui/login", url.Values{"token": {"s3cret-admin"}, "next": {"//evil.example/"}})
	if err != nil || res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/ui/" {
		t.Fatalf("login: %v %v %q", err, res.Status, res.Header.Get("Location"))
	}
	ck := res.Cookies()
	if len(ck) != 1 || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookie %+v", ck)
	}
}

// TestCallbacksPageWhenThePSAIsDown: registrations the PSA cannot show are
// unknown, never missing, and the verdict says why.
func TestCallbacksPageWhenThePSAIsDown(t *testing.T) {
	f := newFixture(t, Options{PSATimeout: time.Second})
	f.reconcile(t)
	f.seedTrails(t, f.firstTicket(t).ExternalID)
	f.psa.Close()
	code, body := get(t, f.srv.Client(), f.srv.URL+"/ui/callbacks")
	if code != http.StatusOK {
		t.Fatalf("HTTP %d\n%s", code, body)
	}
	for _, want := range []string{`<span class="badge red">unknown</span> callbacks arrive, but the PSA&#39;s webhooks cannot be read`,
		`<span class="badge grey">unknown</span>`, "Whether the wanted ones exist is <strong>unknown</strong>"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, ">missing<") {
		t.Error("a registration is shown as missing while the PSA cannot be read")
	}
}
