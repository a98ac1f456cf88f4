package ui

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/reconcile"
	"github.com/horizon/reconciler/internal/store"
)

// fleetFixture serves several fixture accounts through one Fleet.
type fleetFixture struct {
	fl    *Fleet
	srv   *httptest.Server
	mu    sync.Mutex
	accts []FleetAccount
	by    map[string]*fixture
}

func newFleetFixture(t testing.TB, o FleetOptions) *fleetFixture {
	t.Helper()
	ff := &fleetFixture{by: map[string]*fixture{}}
	o.Accounts = func() []FleetAccount {
		ff.mu.Lock()
		defer ff.mu.Unlock()
		return slices.Clone(ff.accts)
	}
	if o.Logger == nil {
		o.Logger = quiet
	}
	var err error
	if ff.fl, err = NewFleet(o); err != nil {
		t.Fatal(err)
	}
	ff.srv = httptest.NewServer(ff.fl)
	t.Cleanup(ff.srv.Close)
	return ff
}

// add builds a fixture account served by the fleet; o.Smoke may be set.
func (ff *fleetFixture) add(t testing.TB, name string, o Options) *fixture {
	t.Helper()
	o.fleet = ff.fl
	f := newNamedFixture(t, name, strings.ToUpper(name[:1])+name[1:]+" MSP", o)
	ff.mu.Lock()
	ff.accts = append(ff.accts, FleetAccount{Name: name, Provider: "connectwise", Pages: f.h})
	ff.by[name] = f
	ff.mu.Unlock()
	return f
}

func (ff *fleetFixture) addProblem(name, problem string) {
	ff.mu.Lock()
	ff.accts = append(ff.accts, FleetAccount{Name: name, Provider: "autotask", Problem: problem})
	ff.mu.Unlock()
}

func smokePassed(context.Context) (SmokeResult, bool, error) {
	return SmokeResult{At: time.Now().UTC(), OK: true}, true, nil
}

// verifiedCallback records a verified callback received just now.
func (f *fixture) verifiedCallback(t testing.TB) {
	t.Helper()
	if _, _, err := f.acct.Store.InsertCallbacks(t.Context(), f.acct.Scope, []store.CallbackRecord{{ReceivedAt: time.Now().UTC(),
		Provider: "connectwise", Event: "ticket.updated", DeliveryID: "v-1", ExternalIDs: []string{"1"}, Verified: true,
		Result: store.CallbackProcessed}}); err != nil {
		t.Fatal(err)
	}
}

// threeAccounts builds a green, an amber and a red account and one that
// is not running.
func threeAccounts(t *testing.T, o FleetOptions) *fleetFixture {
	ff := newFleetFixture(t, o)
	green := ff.add(t, "green", Options{Smoke: smokePassed})
	green.reconcile(t)
	green.verifiedCallback(t)
	green.src.state.LastPlan = &reconcile.Plan{} // no drift
	amber := ff.add(t, "amber", Options{})
	amber.reconcile(t) // drift warnings, and no smoke test yet
	amber.verifiedCallback(t)
	red := ff.add(t, "red", Options{})
	red.reconcile(t)
	red.seedTrails(t, red.firstTicket(t).ExternalID) // a dead write
	ff.addProblem("broken", "accounts/broken.yaml:3:9: helpdesk.provider: must be one of connectwise, autotask, zohodesk, halopsa")
	return ff
}

var (
	fleetRowRE = regexp.MustCompile(`(?s)<tr>\s*<td><span class="badge (\w+)">\w+</span></td>\s*<td><a href="([^"]+)">([^<]+)</a></td>(.*?)</tr>`)
	overallRE  = regexp.MustCompile(`Overall: <span class="badge (\w+)">`)
)

func TestFleetOverview(t *testing.T) {
	ff := threeAccounts(t, FleetOptions{})
	code, body := get(t, ff.srv.Client(), ff.srv.URL+"/ui/")
	if code != http.StatusOK {
		t.Fatalf("HTTP %d\n%s", code, body)
	}
	rows := fleetRowRE.FindAllStringSubmatch(body, -1)
	var got []string
	for _, r := range rows {
		got = append(got, r[3]+":"+r[1])
	}
	want := []string{"broken:red", "red:red", "amber:amber", "green:green"}
	if !slices.Equal(got, want) {
		t.Fatalf("rows %v, want %v (red first, then by name)", got, want)
	}
	for _, w := range []string{"4 accounts", `<span class="badge red">2 red</span>`, `<span class="badge amber">1 amber</span>`,
		`<span class="badge green">1 green</span>`, "Not running: accounts/broken.yaml:3:9: helpdesk.provider",
		`<a href="/ui/accounts/red/writes">Write-back outbox</a>: 1 writes gave up (dead)`, "1 dead",
		`<a href="/ui/accounts/amber/">Smoke test</a>: never run`} {
		if !strings.Contains(body, w) {
			t.Errorf("overview lacks %q", w)
		}
	}
	// The verdict of each row is the account's own overview's.
	for _, r := range rows[1:] {
		link, name, level := html.UnescapeString(r[2]), r[3], r[1]
		if link != "/ui/accounts/"+name+"/" {
			t.Errorf("%s links to %s", name, link)
		}
		code, page := get(t, ff.srv.Client(), ff.srv.URL+link)
		m := overallRE.FindStringSubmatch(page)
		if code != http.StatusOK || m == nil || m[1] != level {
			t.Errorf("%s: its own overview (HTTP %d) says %v, the accounts overview %s", name, code, m, level)
		}
		if !strings.Contains(page, `<a href="/ui/">All accounts</a>`) {
			t.Errorf("%s: no way back to the accounts overview", name)
		}
	}
	if strings.Contains(rows[3][4], "<li>") {
		t.Errorf("the green account lists areas that are not green: %s", rows[3][4])
	}
	// Filtered to one level.
	_, body = get(t, ff.srv.Client(), ff.srv.URL+"/ui/?level=amber")
	if rows := fleetRowRE.FindAllStringSubmatch(body, -1); len(rows) != 1 || rows[0][3] != "amber" {
		t.Errorf("level=amber shows %d rows", len(rows))
	}
	if _, body = get(t, ff.srv.Client(), ff.srv.URL+"/ui/?level=purple"); !strings.Contains(body, `level &#34;purple&#34;: want red, amber or green`) {
		t.Error("a bad level filter is not reported")
	}
}

func TestFleetPaging(t *testing.T) {
	ff := newFleetFixture(t, FleetOptions{PageSize: 2})
	for _, n := range []string{"e", "d", "c", "b", "a"} {
		ff.addProblem(n, "invalid")
	}
	var seen []string
	next := "/ui/"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		_, body := get(t, ff.srv.Client(), ff.srv.URL+next)
		for _, r := range fleetRowRE.FindAllStringSubmatch(body, -1) {
			seen = append(seen, r[3])
		}
		next = ""
		if m := regexp.MustCompile(`href="(\?[^"]+)" rel="next"`).FindStringSubmatch(body); m != nil {
			next = "/ui/" + html.UnescapeString(m[1])
		}
	}
	if !slices.Equal(seen, []string{"a", "b", "c", "d", "e"}) {
		t.Errorf("pages showed %v", seen)
	}
	if code, body := get(t, ff.srv.Client(), ff.srv.URL+"/ui/?page=9"); code != http.StatusOK || !strings.Contains(body, `page &#34;9&#34;: want 1 to 3`) {
		t.Errorf("page out of range: HTTP %d", code)
	}
}

func TestFleetUnknownAndBrokenAccounts(t *testing.T) {
	ff := newFleetFixture(t, FleetOptions{})
	ff.add(t, "acme", Options{})
	ff.addProblem("broken", "account.name \"broken\" is also used by b.yaml")
	ff.addProblem("acme", "account.name \"acme\" is also used by acme.yaml") // a second file with the name
	code, body := get(t, ff.srv.Client(), ff.srv.URL+"/ui/accounts/nope/callbacks")
	if code != http.StatusNotFound || !strings.Contains(body, "There is no account named nope.") ||
		!strings.Contains(body, `<a href="/ui/accounts/acme/">acme</a>`) || !strings.Contains(body, `<a href="/ui/accounts/broken/">broken</a>`) {
		t.Errorf("unknown account: HTTP %d\n%s", code, body)
	}
	code, body = get(t, ff.srv.Client(), ff.srv.URL+"/ui/accounts/broken/")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "Account broken (autotask) is not running: account.name &#34;broken&#34; is also used by b.yaml") {
		t.Errorf("broken account: HTTP %d\n%s", code, body)
	}
	if code, body := get(t, ff.srv.Client(), ff.srv.URL+"/ui/accounts/acme/"); code != http.StatusOK || !strings.Contains(body, "Overall:") {
		t.Errorf("a name two files use does not lead to the running account: HTTP %d", code)
	}
	if _, body := get(t, ff.srv.Client(), ff.srv.URL+"/ui/accounts/nope/"); strings.Count(body, `<a href="/ui/accounts/acme/">`) != 1 {
		t.Error("the 404 page lists an account twice")
	}
	// Pages not built by the fleet are refused, not served with links
	// that lead nowhere.
	stray, err := New(Options{Source: &staticSource{}, Base: "/ui/accounts/stray", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ff.mu.Lock()
	ff.accts = append(ff.accts, FleetAccount{Name: "stray", Pages: stray})
	ff.mu.Unlock()
	if code, body := get(t, ff.srv.Client(), ff.srv.URL+"/ui/accounts/stray/"); code != http.StatusInternalServerError || !strings.Contains(body, "use Fleet.Pages") {
		t.Errorf("stray pages: HTTP %d\n%s", code, body)
	}
	if _, err := ff.fl.Pages("a/b", Options{Source: &staticSource{}}); err == nil {
		t.Error("a name with a slash is accepted")
	}
}

func TestFleetToken(t *testing.T) {
	ff := newFleetFixture(t, FleetOptions{Token: "s3cret-admin"})
	ff.add(t, "one", Options{})
	ff.add(t, "two", Options{})
	c := ff.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, p := range []string{"/ui/", "/ui/accounts/one/", "/ui/accounts/two/writes", "/ui/accounts/nope/"} {
		code, body := get(t, c, ff.srv.URL+p)
		if code != http.StatusUnauthorized || !strings.Contains(body, `action="/ui/login"`) || strings.Contains(body, "Write-back") {
			t.Errorf("%s without the token: HTTP %d", p, code)
		}
	}
	res, err := c.PostForm(ff.srv.URL+"/ui/login", url.Values{"token": {"s3cret-admin"}, "next": {"/ui/accounts/two/writes"}})
	if err != nil || res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/ui/accounts/two/writes" {
		t.Fatalf("login: %v %v", err, res)
	}
	ck := res.Cookies()
	if len(ck) != 1 || ck[0].Path != "/ui" || !ck[0].HttpOnly {
		t.Fatalf("cookie %+v: want one HTTP-only cookie for every account's pages", ck)
	}
	for _, p := range []string{"/ui/", "/ui/accounts/one/", "/ui/accounts/two/writes"} {
		req, _ := http.NewRequest(http.MethodGet, ff.srv.URL+p, nil)
		req.AddCookie(ck[0])
		res, err := c.Do(req)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Errorf("%s with the cookie: %v %v", p, err, res.Status)
		}
		res.Body.Close()
	}
	req, _ := http.NewRequest(http.MethodGet, ff.srv.URL+"/ui/accounts/one/users", nil)
	req.Header.Set("Authorization", "Bearer s3cret-admin")
	if res, err := c.Do(req); err != nil || res.StatusCode != http.StatusOK {
		t.Errorf("bearer token: %v %v", err, res.Status)
	}
}

// TestFleetCSRF: a CSRF token from one account's page works on another
// account's forms, and a missing one is refused there too.
func TestFleetCSRF(t *testing.T) {
	ff := newFleetFixture(t, FleetOptions{})
	ff.add(t, "one", Options{})
	ff.add(t, "two", Options{})
	c := ff.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	_, page := get(t, c, ff.srv.URL+"/ui/accounts/one/picklists")
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no CSRF field on the page")
	}
	for _, tc := range []struct {
		form   url.Values
		status int
	}{{url.Values{"csrf": {m[1]}}, http.StatusSeeOther}, {url.Values{}, http.StatusForbidden}, {url.Values{"csrf": {"00"}}, http.StatusForbidden}} {
		res, err := c.PostForm(ff.srv.URL+"/ui/accounts/two/widgets/check", tc.form)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.status {
			t.Errorf("csrf %v: HTTP %d, want %d", tc.form, res.StatusCode, tc.status)
		}
		if loc := res.Header.Get("Location"); tc.status == http.StatusSeeOther && !strings.HasPrefix(loc, "/ui/accounts/two/widgets?msg=Checked+2+widgets") {
			t.Errorf("after the action: %s", loc)
		}
	}
}

// TestBaseIsHonoured crawls every page, form and redirect of an account
// under a non-default base, alone and in a fleet with a non-default
// base, and fails on any address that leaves the base (other than the
// accounts overview).
func TestBaseIsHonoured(t *testing.T) {
	t.Run("alone", func(t *testing.T) {
		f := newFixture(t, Options{Base: "/ops/horizon", PageSize: 2}) // pagers too
		f.reconcile(t)
		f.seedTrails(t, f.firstTicket(t).ExternalID)
		crawl(t, f.srv, "/ops/horizon/", "/ops/horizon/", nil)
	})
	t.Run("fleet", func(t *testing.T) {
		ff := newFleetFixture(t, FleetOptions{Base: "/ops/helpdesk/"})
		f := ff.add(t, "acme", Options{})
		f.reconcile(t)
		f.seedTrails(t, f.firstTicket(t).ExternalID)
		ff.addProblem("broken", "invalid")
		crawl(t, ff.srv, "/ops/helpdesk/accounts/acme", "/ops/helpdesk/accounts/acme/", []string{"/ops/helpdesk/"})
		crawl(t, ff.srv, "/ops/helpdesk/", "/ops/helpdesk/", nil)
	})
}

var addrRE = regexp.MustCompile(`(?:href|action|src)="([^"]*)"`)

// crawl visits every page reachable from start whose address is under
// scope, posts every form it finds, and fails on any link, form action
// or redirect outside scope other than those in also.
func crawl(t *testing.T, srv *httptest.Server, start, scope string, also []string) {
	t.Helper()
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	allowed := func(u *url.URL) bool {
		return u.Host == "" && (strings.HasPrefix(u.Path, scope) || slices.Contains(also, u.Path))
	}
	base, _ := url.Parse(srv.URL)
	seen := map[string]bool{}
	queue := []string{start}
	check := func(from *url.URL, addr string) *url.URL {
		u, err := from.Parse(addr)
		if err != nil {
			t.Errorf("%s: bad address %q", from, addr)
			return nil
		}
		rel := &url.URL{Path: u.Path, RawQuery: u.RawQuery}
		if u.Host != base.Host || !allowed(rel) {
			t.Errorf("%s leads out of %s: %q", from.Path, scope, addr)
			return nil
		}
		return rel
	}
	posts := map[string]bool{}
	csrf := ""
	for len(queue) > 0 && len(seen) < 200 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		res, err := c.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		here, _ := base.Parse(p)
		if loc := res.Header.Get("Location"); loc != "" {
			if u := check(here, loc); u != nil {
				queue = append(queue, u.String())
			}
			continue
		}
		body := string(raw)
		if m := csrfField.FindStringSubmatch(body); m != nil {
			csrf = m[1]
		}
		for _, m := range addrRE.FindAllStringSubmatch(body, -1) {
			u := check(here, html.UnescapeString(m[1]))
			if u == nil || strings.Contains(u.Path, "/assets/") {
				continue
			}
			if strings.Contains(body, `method="post" action="`+m[1]+`"`) {
				posts[u.Path] = true
				continue
			}
			if !strings.HasPrefix(u.Path, scope) {
				continue // allowed, but not this crawl's
			}
			if strings.HasSuffix(u.Path, "/tickets") { // the find-a-ticket form
				u.RawQuery = "id=4711"
			}
			queue = append(queue, u.String())
		}
	}
	if len(seen) < 5 {
		t.Fatalf("crawled only %v", seen)
	}
	for p := range posts {
		res, err := c.PostForm(srv.URL+p, url.Values{"csrf": {csrf}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther {
			t.Errorf("POST %s: HTTP %d", p, res.StatusCode)
			continue
		}
		here, _ := base.Parse(p)
		check(here, res.Header.Get("Location"))
	}
	t.Logf("%s: crawled %d pages, posted %d forms", scope, len(seen), len(posts))
}

// TestFleetRun: with Run, a view shows a verdict older than
// SummaryMaxAge as it is, and Run judges the account again.
func TestFleetRun(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	ff := newFleetFixture(t, FleetOptions{SummaryMaxAge: time.Hour, Now: func() time.Time { return time.Unix(0, clock.Load()) }})
	f := ff.add(t, "acme", Options{})
	f.reconcile(t)
	f.verifiedCallback(t)
	level := func() string {
		_, body := get(t, ff.srv.Client(), ff.srv.URL+"/ui/")
		rows := fleetRowRE.FindAllStringSubmatch(body, -1)
		if len(rows) != 1 {
			t.Fatalf("%d rows", len(rows))
		}
		return rows[0][1]
	}
	if l := level(); l != Amber {
		t.Fatalf("level %s", l)
	}
	f.src.state.LastError = "plan: connectwise: HTTP 401" // the last pass failed
	if l := level(); l != Amber {
		t.Errorf("a fresh verdict was judged again: %s", l)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { ff.fl.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "Run to start", func() bool { ff.fl.mu.Lock(); defer ff.fl.mu.Unlock(); return ff.fl.running })
	clock.Add(int64(2 * time.Hour))
	if l := level(); l != Amber {
		t.Errorf("the view judged the stale verdict itself instead of showing it: %s", l)
	}
	waitFor(t, "Run to judge the account again", func() bool { return level() == Red })
	// A verdict far older than SummaryMaxAge (nobody looked for a while)
	// is judged by the view, not shown.
	f.src.state.LastError = ""
	clock.Add(int64(10 * time.Hour))
	if l := level(); l != Amber {
		t.Errorf("a verdict ten hours old was shown: %s", l)
	}
}

// waitFor polls cond until it holds, failing after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}
