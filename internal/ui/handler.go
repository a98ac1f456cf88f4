package ui

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/horizon/reconciler/internal/account"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/reconcile"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// DefaultBase is the path the pages are served under.
const DefaultBase = "/ui"

// DefaultPageSize is how many rows a list page shows.
const DefaultPageSize = 50

// Source is what the pages read besides the store: the running account
// and what the daemon knows about it.
type Source interface {
	// Account returns the account of the last good config; nil before
	// there is one.
	Account() *account.Account
	// State returns what the daemon knows of the account now.
	State() State
}

// State is the daemon's view of its account.
type State struct {
	ConfigPath string
	// ConfigValid is false when the newest file is invalid (the daemon
	// runs on the last good one); ConfigProblems lists why.
	ConfigValid    bool
	ConfigProblems []string
	// LastReconcile is when the last pass ended, LastSuccess the last
	// pass that applied without failures, LastError why the last pass
	// failed ("" when it did not).
	LastReconcile time.Time
	LastSuccess   time.Time
	LastError     string
	// LastPlan is the last pass's plan (nil before the first).
	LastPlan *reconcile.Plan
	// ReconcileInterval is the time between passes.
	ReconcileInterval time.Duration
}

// SmokeResult is the outcome of the last smoke test.
type SmokeResult struct {
	At     time.Time
	OK     bool
	Detail string
}

// Options configure a Handler.
type Options struct {
	// Base is the path prefix (default /ui).
	Base   string
	Source Source
	// Token, when set, is required to see any page (HORIZON_ADMIN_TOKEN).
	Token helpdesk.Secret
	// Smoke returns the last smoke test; nil or ok=false means none
	// has run.
	Smoke func(ctx context.Context) (r SmokeResult, ok bool, err error)
	// PageSize is the rows per list page (default DefaultPageSize).
	PageSize int
	Logger   *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// PSATimeout bounds live reads of the PSA a page makes (webhooks,
	// the API user); default 10s.
	PSATimeout time.Duration

	// fleet is set by (*Fleet).Pages: the pages are one account of
	// many, and share the fleet's token, sign-in and CSRF token.
	fleet *Fleet
}

// Handler serves the pages.
type Handler struct {
	o     Options
	mux   *http.ServeMux
	pages map[string]*template.Template
	csrf  string
	log   *slog.Logger

	apiUserMu sync.Mutex
	apiUser   apiUserCache
}

// New builds the handler.
func New(o Options) (*Handler, error) {
	if o.Source == nil {
		return nil, errors.New("ui: Source is required")
	}
	if o.Base == "" {
		o.Base = DefaultBase
	}
	o.Base = "/" + strings.Trim(o.Base, "/")
	if o.PageSize <= 0 {
		o.PageSize = DefaultPageSize
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.PSATimeout <= 0 {
		o.PSATimeout = 10 * time.Second
	}
	pages, err := parsedPages()
	if err != nil {
		return nil, err
	}
	csrf := ""
	if o.fleet != nil {
		o.Token, csrf = o.fleet.o.Token, o.fleet.csrf
	} else if csrf, err = newCSRFToken(); err != nil {
		return nil, err
	}
	h := &Handler{o: o, pages: pages, csrf: csrf, log: o.Logger}
	h.routes()
	return h, nil
}

func newCSRFToken() (string, error) {
	tok := make([]byte, 32)
	if _, err := rand.Read(tok); err != nil {
		return "", fmt.Errorf("ui: csrf token: %w", err)
	}
	return hex.EncodeToString(tok), nil
}

// signInBase is where the admin token is posted and which paths its
// cookie covers: the fleet's base when the pages are one account of
// many, so that one sign-in opens every account.
func (h *Handler) signInBase() string {
	if h.o.fleet != nil {
		return h.o.fleet.o.Base
	}
	return h.o.Base
}

func (h *Handler) now() time.Time {
	if h.o.Now != nil {
		return h.o.Now().UTC()
	}
	return time.Now().UTC()
}

// Base returns the path prefix the pages are served under.
func (h *Handler) Base() string { return h.o.Base }

func (h *Handler) routes() {
	b := h.o.Base
	mux := http.NewServeMux()
	handleAssets(mux, b)
	mux.HandleFunc("GET "+b+"/{$}", h.page("overview", h.overview))
	mux.HandleFunc("GET "+b+"/configuration", h.page("configuration", h.configuration))
	mux.HandleFunc("GET "+b+"/users", h.page("users", h.users))
	mux.HandleFunc("GET "+b+"/picklists", h.page("picklists", h.picklists))
	mux.HandleFunc("POST "+b+"/picklists/refresh", h.action(h.refreshPicklists))
	mux.HandleFunc("GET "+b+"/widgets", h.page("widgets", h.widgets))
	mux.HandleFunc("POST "+b+"/widgets/check", h.action(h.checkWidgets))
	mux.HandleFunc("GET "+b+"/callbacks", h.page("callbacks", h.callbacks))
	mux.HandleFunc("GET "+b+"/sync-runs", h.page("syncruns", h.syncRuns))
	mux.HandleFunc("GET "+b+"/callback-log", h.page("callbacklog", h.callbackLog))
	mux.HandleFunc("GET "+b+"/writes", h.page("writes", h.writes))
	mux.HandleFunc("GET "+b+"/tickets", h.findTicket)
	mux.HandleFunc("GET "+b+"/tickets/{id}", h.page("ticket", h.ticket))
	mux.HandleFunc("POST "+b+"/tickets/{id}/sync", h.action(h.syncTicket))
	mux.HandleFunc("POST "+b+"/login", h.login)
	mux.HandleFunc("GET "+b, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, b+"/", http.StatusMovedPermanently)
	})
	h.mux = mux
}

// ServeHTTP applies the security headers and the admin token, then
// routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	guard(w, r, h.o.Token, h.o.Base, h.mux, h.loginPage)
}

// guard applies the security headers and the admin token (the sign-in
// page and the stylesheet excepted), then routes.
func guard(w http.ResponseWriter, r *http.Request, token helpdesk.Secret, base string, mux *http.ServeMux,
	loginPage func(w http.ResponseWriter, r *http.Request, problem string)) {
	securityHeaders(w)
	if !authorized(token, r) && r.URL.Path != base+"/login" && !strings.HasPrefix(r.URL.Path, base+"/assets/") {
		loginPage(w, r, "")
		return
	}
	mux.ServeHTTP(w, r)
}

// handleAssets serves the embedded stylesheet and icon under base.
func handleAssets(mux *http.ServeMux, base string) {
	assets, _ := fs.Sub(assetFS, "assets")
	mux.Handle("GET "+base+"/assets/", http.StripPrefix(base+"/assets/", http.FileServerFS(assets)))
}

func securityHeaders(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
}

// tokenCookie carries the admin token after login.
const tokenCookie = "horizon_admin"

func authorized(token helpdesk.Secret, r *http.Request) bool {
	if token == "" {
		return true
	}
	want := []byte(token.Reveal())
	if c, err := r.Cookie(tokenCookie); err == nil && subtle.ConstantTimeCompare([]byte(c.Value), want) == 1 {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), want) == 1
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request, problem string) {
	h.render(w, r, http.StatusUnauthorized, "login", "Sign in", loginData{Problem: problem, Next: r.URL.Path, Action: h.signInBase() + "/login"})
}

// loginData is the sign-in page's: Action is where the form posts.
type loginData struct{ Problem, Next, Action string }

// login checks the token from the form and keeps it in a cookie scoped to
// the pages.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	signIn(w, r, h.o.Token, h.signInBase(), func(problem string) { h.loginPage(w, r, problem) })
}

// signIn checks the posted token and keeps it in a cookie covering base,
// then goes back to the page asked for (only a page under base);
// refused calls it with the problem to show.
func signIn(w http.ResponseWriter, r *http.Request, token helpdesk.Secret, base string, refused func(problem string)) {
	if !sameOrigin(r) {
		http.Error(w, "cross-site request refused", http.StatusForbidden)
		return
	}
	tok := r.PostFormValue("token")
	if token == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(token.Reveal())) != 1 {
		refused("That token is not the admin token (HORIZON_ADMIN_TOKEN).")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: tok, Path: base, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	next := r.PostFormValue("next")
	if !strings.HasPrefix(next, base+"/") || strings.HasPrefix(next, "//") {
		next = base + "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// sameOrigin refuses requests a browser marks as coming from another
// site (Sec-Fetch-Site, else Origin against Host).
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	return true
}

// pageFunc builds a page's data; an error is shown on the page.
type pageFunc func(r *http.Request) (title string, data any, err error)

// page renders a page from its data. A notFound error answers 404 with
// the page still rendered (its data says what is missing).
func (h *Handler) page(name string, f pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		title, data, err := f(r)
		status := http.StatusOK
		var nf notFound
		switch {
		case errors.As(err, &nf):
			status = http.StatusNotFound
		case err != nil:
			h.log.WarnContext(r.Context(), "status page", "page", name, "err", err)
			h.render(w, r, http.StatusInternalServerError, "error", "Error", err.Error())
			return
		}
		h.render(w, r, status, name, title, data)
	}
}

// notFound marks a page whose subject does not exist.
type notFound struct{ what string }

func (e notFound) Error() string { return e.what + " not found" }

// actionFunc does what a button asks and returns the page to go back to
// and the message to show there.
type actionFunc func(r *http.Request) (back, message string, err error)

// action checks the CSRF token, runs f and redirects back (POST, then
// redirect, then GET: a reload never repeats the action).
func (h *Handler) action(f actionFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(h.csrf)) != 1 {
			http.Error(w, "missing or wrong CSRF token: reload the page and try again", http.StatusForbidden)
			return
		}
		back, msg, err := f(r)
		if err != nil {
			h.log.WarnContext(r.Context(), "status page action", "path", r.URL.Path, "err", err)
			msg = "Failed: " + err.Error()
		}
		http.Redirect(w, r, back+"?msg="+url.QueryEscape(msg), http.StatusSeeOther)
	}
}

// account returns the current account, or an error a page shows.
func (h *Handler) account() (*account.Account, error) {
	a := h.o.Source.Account()
	if a == nil {
		return nil, errors.New("no valid configuration loaded yet")
	}
	return a, nil
}
