package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// navItem is one link of the navigation bar.
type navItem struct {
	Name, Title string
}

var nav = []navItem{
	{"", "Overview"}, {"configuration", "Configuration"}, {"users", "Users"}, {"picklists", "Picklists"},
	{"widgets", "Widgets"}, {"callbacks", "Callbacks"}, {"sync-runs", "Sync runs"},
	{"callback-log", "Callback log"}, {"writes", "Writes"},
}

// view is what every page template receives.
type view struct {
	Title    string
	Base     string
	Current  string // the nav item of this page
	Nav      []navItem
	CSRF     string
	Account  string
	Provider string
	Message  string // the outcome of the last action
	Now      time.Time
	Data     any
	// Fleet is the accounts overview's base when these pages are one
	// account of many ("" otherwise): the pages show a way back to it.
	Fleet string
}

var pageNav = map[string]string{
	"overview": "", "configuration": "configuration", "users": "users", "picklists": "picklists",
	"widgets": "widgets", "callbacks": "callbacks", "syncruns": "sync-runs", "callbacklog": "callback-log",
	"writes": "writes", "ticket": "-", "error": "-", "login": "-",
}

// parsedPages parses the templates once: every account's pages share
// them (the base is in each page's view).
var parsedPages = sync.OnceValues(parsePages)

func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"stamp": stamp,
		"ago":   ago,
		"dur":   func(d time.Duration) string { return d.Round(time.Millisecond).String() },
		"join":  strings.Join,
		"json":  prettyJSON,
		"lower": strings.ToLower,
		"dict":  dict,
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("ui: parse layout: %w", err)
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, f)
		if err != nil {
			return nil, fmt.Errorf("ui: parse %s: %w", f, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// render writes a page of the account.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	v := view{Title: title, Base: h.o.Base, Current: pageNav[name], Nav: nav, CSRF: h.csrf, Data: data,
		Message: r.URL.Query().Get("msg"), Now: h.now()}
	if a := h.o.Source.Account(); a != nil {
		v.Account, v.Provider = a.Scope.Account, a.Scope.Provider
		if dn := a.Config.Account.DisplayName; dn != "" {
			v.Account = dn
		}
	}
	if h.o.fleet != nil {
		v.Fleet = h.o.fleet.o.Base
	}
	writePage(w, r, h.log, h.pages[name], status, name, v)
}

// writePage renders a page into a buffer first, so that a template error
// never sends half a page.
func writePage(w http.ResponseWriter, r *http.Request, log *slog.Logger, t *template.Template, status int, name string, v view) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		log.ErrorContext(r.Context(), "render status page", "page", name, "err", err)
		http.Error(w, "cannot render the page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// ago says how long before now t was, coarsely.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "in the future (clock skew?)"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm ago", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// prettyJSON indents JSON; anything else is shown as text.
func prettyJSON(b []byte) string {
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") == nil {
		return out.String()
	}
	return strings.ToValidUTF8(string(b), "?")
}

// dict builds a map from key, value pairs, for passing several values
// to a shared template.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: odd number of arguments")
	}
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}
