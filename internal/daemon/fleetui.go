package daemon

import (
	"fmt"
	"html"
	"net/http"
	"strings"
	"sync"

	"github.com/horizon/reconciler/internal/ui"
)

// accountPages builds and keeps each account's status pages, served
// under /ui/accounts/{account}.
type accountPages struct {
	d  *Daemon
	mu sync.Mutex
	h  map[string]*ui.Handler
}

func (p *accountPages) get(name string) (*ui.Handler, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if h := p.h[name]; h != nil {
		return h, nil
	}
	src := source{get: func() *runner { return p.d.runnerFor(name) }}
	h, err := ui.New(ui.Options{Base: ui.DefaultBase + "/accounts/" + name, Source: src, Token: p.d.o.AdminToken,
		Logger: p.d.log.With("account", name), Smoke: src.lastSmoke})
	if err != nil {
		return nil, err
	}
	p.h[name] = h
	return h, nil
}

func (d *Daemon) fleetPages() (http.Handler, error) {
	pages := &accountPages{d: d, h: map[string]*ui.Handler{}}
	mux := http.NewServeMux()
	mux.HandleFunc(ui.DefaultBase+"/accounts/{account}/", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("account")
		if d.runnerFor(name) == nil {
			http.NotFound(w, r)
			return
		}
		h, err := pages.get(name)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		h.ServeHTTP(w, r)
	})
	mux.HandleFunc(ui.DefaultBase+"/", func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		b.WriteString("<!doctype html><title>Accounts</title><h1>Accounts</h1><ul>")
		for _, rn := range d.accounts() {
			cfg, _ := rn.current()
			fmt.Fprintf(&b, `<li><a href="%s/accounts/%s/">%s</a> (%s)</li>`, ui.DefaultBase, html.EscapeString(cfg.Account.Name),
				html.EscapeString(cfg.Account.Name), cfg.Helpdesk.Provider)
		}
		b.WriteString("</ul>")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, b.String())
	})
	return mux, nil
}
