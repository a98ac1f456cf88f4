package ui

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// DefaultSummaryMaxAge is how old an account's verdict on the accounts
// overview may be before it is judged again.
const DefaultSummaryMaxAge = 15 * time.Second

// FleetAccount is one account of the accounts overview.
type FleetAccount struct {
	Name     string
	Provider string
	// Pages are the account's pages, built with (*Fleet).Pages once per
	// account (verdicts are kept per Pages: build them again only when
	// the account is rebuilt); nil when the account is not running.
	Pages *Handler
	// Problem says why the account is not running (an invalid file, a
	// name another file uses, …): the account is shown red with it.
	Problem string
}

// FleetOptions configure a Fleet.
type FleetOptions struct {
	// Base is the path prefix (default /ui): the accounts overview is at
	// Base/, each account's pages at Base/accounts/NAME/.
	Base string
	// Token, when set, is required to see any page, every account's
	// included (HORIZON_ADMIN_TOKEN). One sign-in opens them all.
	Token helpdesk.Secret
	// Accounts returns the accounts as they are now; it is called on
	// every request and must be safe for concurrent use.
	Accounts func() []FleetAccount
	// PageSize is the accounts per overview page (default
	// DefaultPageSize).
	PageSize int
	// SummaryMaxAge is how old an account's verdict on the overview may
	// be (default DefaultSummaryMaxAge; negative: judged on every view).
	// An account's own pages are always judged afresh.
	SummaryMaxAge time.Duration
	// Parallel is how many accounts are judged at once (default 4).
	Parallel int
	Logger   *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Fleet serves the pages of many accounts: an accounts overview at
// Base/ and each account's pages under Base/accounts/NAME/. The token,
// the sign-in and the CSRF token are shared by every account.
type Fleet struct {
	o     FleetOptions
	mux   *http.ServeMux
	pages map[string]*template.Template
	csrf  string
	log   *slog.Logger

	mu      sync.Mutex
	cache   map[*Handler]verdict
	running bool          // Run is keeping the verdicts current
	wake    chan struct{} // asks Run to judge stale verdicts
}

// NewFleet builds the accounts overview.
func NewFleet(o FleetOptions) (*Fleet, error) {
	if o.Accounts == nil {
		return nil, errors.New("ui: FleetOptions.Accounts is required")
	}
	if o.Base == "" {
		o.Base = DefaultBase
	}
	o.Base = "/" + strings.Trim(o.Base, "/")
	if o.PageSize <= 0 {
		o.PageSize = DefaultPageSize
	}
	if o.SummaryMaxAge == 0 {
		o.SummaryMaxAge = DefaultSummaryMaxAge
	}
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	pages, err := parsedPages()
	if err != nil {
		return nil, err
	}
	csrf, err := newCSRFToken()
	if err != nil {
		return nil, err
	}
	f := &Fleet{o: o, pages: pages, csrf: csrf, log: o.Logger, cache: map[*Handler]verdict{},
		wake: make(chan struct{}, 1)}
	f.routes()
	return f, nil
}

// Base returns the path prefix the accounts overview is served under.
func (f *Fleet) Base() string { return f.o.Base }

// AccountBase returns the path prefix of one account's pages.
func (f *Fleet) AccountBase(name string) string { return f.o.Base + "/accounts/" + name }

// Pages builds one account's pages for this fleet: served under
// AccountBase(name), guarded by the fleet's token and sign-in, with the
// fleet's CSRF token, and a way back to the accounts overview. o.Base
// and o.Token are ignored.
func (f *Fleet) Pages(name string, o Options) (*Handler, error) {
	if name == "" || name != url.PathEscape(name) {
		return nil, fmt.Errorf("ui: account name %q cannot be a path segment", name)
	}
	o.Base, o.fleet = f.AccountBase(name), f
	return New(o)
}

func (f *Fleet) now() time.Time {
	if f.o.Now != nil {
		return f.o.Now().UTC()
	}
	return time.Now().UTC()
}

func (f *Fleet) routes() {
	b := f.o.Base
	mux := http.NewServeMux()
	handleAssets(mux, b)
	mux.HandleFunc("GET "+b+"/{$}", f.overview)
	mux.HandleFunc("POST "+b+"/login", f.login)
	mux.HandleFunc(b+"/accounts/{name}", f.account)
	mux.HandleFunc(b+"/accounts/{name}/", f.account)
	mux.Handle("GET "+b+"/accounts/{$}", http.RedirectHandler(b+"/", http.StatusFound))
	mux.Handle("GET "+b, http.RedirectHandler(b+"/", http.StatusMovedPermanently))
	f.mux = mux
}

// ServeHTTP applies the security headers and the admin token, then
// routes.
func (f *Fleet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	guard(w, r, f.o.Token, f.o.Base, f.mux, f.loginPage)
}

func (f *Fleet) loginPage(w http.ResponseWriter, r *http.Request, problem string) {
	f.render(w, r, http.StatusUnauthorized, "login", "Sign in", "-", loginData{Problem: problem, Next: r.URL.Path, Action: f.o.Base + "/login"})
}

func (f *Fleet) login(w http.ResponseWriter, r *http.Request) {
	signIn(w, r, f.o.Token, f.o.Base, func(problem string) { f.loginPage(w, r, problem) })
}

// fleetNav is the navigation of the fleet's own pages.
var fleetNav = []navItem{{"", "Accounts"}}

func (f *Fleet) render(w http.ResponseWriter, r *http.Request, status int, name, title, current string, data any) {
	v := view{Title: title, Base: f.o.Base, Current: current, Nav: fleetNav, CSRF: f.csrf, Data: data, Now: f.now()}
	writePage(w, r, f.log, f.pages[name], status, name, v)
}

// account routes a request to the account's pages, or says why it
// cannot.
func (f *Fleet) account(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	accts := f.o.Accounts()
	// A name two files use is listed twice, the running account and the
	// file refused for reusing its name: the address leads to the first.
	i := slices.IndexFunc(accts, func(a FleetAccount) bool { return a.Name == name && a.Pages != nil })
	if i < 0 {
		i = slices.IndexFunc(accts, func(a FleetAccount) bool { return a.Name == name })
	}
	if i < 0 {
		f.render(w, r, http.StatusNotFound, "account", "No account "+name, "-",
			accountData{Name: name, Accounts: f.links(accts)})
		return
	}
	a := accts[i]
	switch {
	case a.Pages == nil:
		if a.Problem == "" {
			a.Problem = "the account is not running"
		}
		f.render(w, r, http.StatusServiceUnavailable, "account", "Account "+name, "-",
			accountData{Name: name, Provider: a.Provider, Problem: a.Problem, Accounts: f.links(accts)})
	case a.Pages.o.fleet != f || a.Pages.Base() != f.AccountBase(name):
		// A wiring mistake, not the user's: say so instead of serving
		// pages whose links and tokens would not work here.
		f.log.ErrorContext(r.Context(), "status pages not built by this fleet", "account", name, "base", a.Pages.Base())
		f.render(w, r, http.StatusInternalServerError, "error", "Error", "-",
			fmt.Sprintf("the pages of account %s were not built for %s (use Fleet.Pages)", name, f.AccountBase(name)))
	default:
		a.Pages.ServeHTTP(w, r)
	}
}

// accountLink is a link to one account's pages.
type accountLink struct{ Name, Link string }

// accountData is the page of an account that is not running or does not
// exist.
type accountData struct {
	Name, Provider, Problem string
	Accounts                []accountLink
}

func (f *Fleet) links(accts []FleetAccount) []accountLink {
	out := make([]accountLink, 0, len(accts))
	for _, a := range accts {
		out = append(out, accountLink{Name: a.Name, Link: f.accountLink(a.Name)})
	}
	slices.SortFunc(out, func(x, y accountLink) int { return strings.Compare(x.Name, y.Name) })
	return slices.CompactFunc(out, func(x, y accountLink) bool { return x.Name == y.Name })
}

// accountLink is the address of an account's overview page ("" for a
// name no address can carry).
func (f *Fleet) accountLink(name string) string {
	if name == "" {
		return ""
	}
	return f.o.Base + "/accounts/" + url.PathEscape(name) + "/"
}

// fleetRow is one account on the accounts overview.
type fleetRow struct {
	Name, Provider, Link string
	// Base is the account's pages' base, which Area links are under.
	Base     string
	Level    string
	Problem  string
	Running  bool
	Summary  Summary
	NotGreen []Area
}

// levelCount is how many accounts have a level, with the link that
// lists only those.
type levelCount struct {
	Level   string
	N       int
	Link    string
	Current bool
}

type fleetData struct {
	Total  int
	Counts []levelCount
	Level  string // the level the list is filtered to ("" for all)
	All    string // the link to the unfiltered list
	Rows   []fleetRow
	Page   int
	Pages  int
	Prev   string
	Next   string
	// Oldest is when the oldest verdict on the page was made.
	Oldest  time.Time
	Problem string
}

func (f *Fleet) overview(w http.ResponseWriter, r *http.Request) {
	accts := f.o.Accounts()
	sums := f.summaries(r.Context(), accts)
	rows := make([]fleetRow, len(accts))
	for i, a := range accts {
		row := fleetRow{Name: a.Name, Provider: a.Provider, Link: f.accountLink(a.Name), Problem: a.Problem, Running: a.Pages != nil}
		if a.Pages != nil {
			row.Summary, row.Level, row.NotGreen = sums[i], sums[i].Level, sums[i].NotGreen()
			row.Base = a.Pages.Base()
		}
		if a.Problem != "" || a.Pages == nil {
			row.Level = Red
		}
		rows[i] = row
	}
	slices.SortStableFunc(rows, func(x, y fleetRow) int {
		if d := levelRank(x.Level) - levelRank(y.Level); d != 0 {
			return d
		}
		return strings.Compare(x.Name, y.Name)
	})
	q := r.URL.Query()
	d := fleetData{Total: len(rows), Level: q.Get("level"), All: f.o.Base + "/"}
	n := map[string]int{}
	for _, row := range rows {
		n[row.Level]++
	}
	for _, lv := range []string{Red, Amber, Green} {
		d.Counts = append(d.Counts, levelCount{Level: lv, N: n[lv], Link: "?level=" + lv, Current: d.Level == lv})
	}
	switch d.Level {
	case "":
	case Red, Amber, Green:
		rows = slices.DeleteFunc(rows, func(x fleetRow) bool { return x.Level != d.Level })
	default:
		d.Problem = fmt.Sprintf("level %q: want red, amber or green", d.Level)
		d.Level = ""
	}
	d.Pages = max(1, (len(rows)+f.o.PageSize-1)/f.o.PageSize)
	d.Page = 1
	if p := q.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > d.Pages {
			d.Problem = strings.TrimPrefix(d.Problem+fmt.Sprintf("; page %q: want 1 to %d", p, d.Pages), "; ")
		} else {
			d.Page = n
		}
	}
	from := (d.Page - 1) * f.o.PageSize
	d.Rows = rows[from:min(len(rows), from+f.o.PageSize)]
	for _, row := range d.Rows {
		if row.Running && (d.Oldest.IsZero() || row.Summary.At.Before(d.Oldest)) {
			d.Oldest = row.Summary.At
		}
	}
	pageLink := func(p int) string {
		v := url.Values{}
		if d.Level != "" {
			v.Set("level", d.Level)
		}
		v.Set("page", strconv.Itoa(p))
		return "?" + v.Encode()
	}
	if d.Page > 1 {
		d.Prev = pageLink(d.Page - 1)
	}
	if d.Page < d.Pages {
		d.Next = pageLink(d.Page + 1)
	}
	f.render(w, r, http.StatusOK, "accounts", "Accounts", "", d)
}

// staleShown bounds, in SummaryMaxAges, how old a verdict a view shows
// while Run judges the account again: an older one (nobody looked for a
// while, or Run is behind) is judged while the browser waits rather than
// shown out of date.
const staleShown = 4

// summaries returns the verdicts of the running accounts (index-aligned
// with accts; the zero Summary for an account without pages). A verdict
// younger than SummaryMaxAge is reused. While Run runs, one up to
// staleShown times older is shown as it is and Run judges the account
// again in the background, so that a view of a thousand accounts does not
// wait for them; otherwise the view judges the account itself.
func (f *Fleet) summaries(ctx context.Context, accts []FleetAccount) []Summary {
	out := make([]Summary, len(accts))
	now := f.now()
	var judge []int
	stale := false
	f.mu.Lock()
	for i, a := range accts {
		if a.Pages == nil {
			continue
		}
		v, ok := f.cache[a.Pages]
		switch {
		case ok && f.fresh(v, now):
			out[i] = v.s
		case ok && f.running && f.o.SummaryMaxAge > 0 && now.Sub(v.at) < staleShown*f.o.SummaryMaxAge:
			out[i], stale = v.s, true
		default:
			judge = append(judge, i)
		}
	}
	f.mu.Unlock()
	f.judge(ctx, accts, judge, out)
	if stale {
		select {
		case f.wake <- struct{}{}:
		default: // Run has been asked already
		}
	}
	f.prune(accts)
	return out
}

// verdict is a kept Summary and when, by the fleet's clock, it was made.
type verdict struct {
	s  Summary
	at time.Time
}

func (f *Fleet) fresh(v verdict, now time.Time) bool {
	return f.o.SummaryMaxAge > 0 && now.Sub(v.at) < f.o.SummaryMaxAge
}

// judge judges the accounts at idx, Parallel at a time, into out and the
// cache.
func (f *Fleet) judge(ctx context.Context, accts []FleetAccount, idx []int, out []Summary) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(f.o.Parallel, len(idx)) {
		wg.Go(func() {
			for i := range next {
				at := f.now()
				s := accts[i].Pages.Summary(ctx)
				out[i] = s
				if ctx.Err() != nil {
					continue // judged by a view or a Run that ended: not a verdict to keep
				}
				f.mu.Lock()
				f.cache[accts[i].Pages] = verdict{s: s, at: at}
				f.mu.Unlock()
			}
		})
	}
	for _, i := range idx {
		next <- i
	}
	close(next)
	wg.Wait()
}

// prune forgets the verdicts of accounts no longer listed, so that a
// removed account's pages are not held on to.
func (f *Fleet) prune(accts []FleetAccount) {
	listed := make(map[*Handler]bool, len(accts))
	for _, a := range accts {
		listed[a.Pages] = true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for h := range f.cache {
		if !listed[h] {
			delete(f.cache, h)
		}
	}
}

// Run keeps the accounts overview's verdicts current until ctx ends: it
// judges every account once, then again each account whose verdict a
// view found older than SummaryMaxAge. Without Run the overview judges
// them while the browser waits (about 0.7 ms an account on SQLite).
func (f *Fleet) Run(ctx context.Context) {
	f.mu.Lock()
	f.running = true
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.running = false
		f.mu.Unlock()
	}()
	for {
		accts := f.o.Accounts()
		out := make([]Summary, len(accts))
		now := f.now()
		var idx []int
		f.mu.Lock()
		for i, a := range accts {
			if v, ok := f.cache[a.Pages]; a.Pages != nil && (!ok || !f.fresh(v, now)) {
				idx = append(idx, i)
			}
		}
		f.mu.Unlock()
		f.judge(ctx, accts, idx, out)
		f.prune(accts)
		select {
		case <-ctx.Done():
			return
		case <-f.wake:
		}
	}
}
