package daemon

import (
	"net/http"
	"path/filepath"
	"strings"
	"sync"

	"github.com/horizon/reconciler/internal/ui"
)

// accountPages builds and keeps each account's status pages, served
// under /ui/accounts/{account}.
type accountPages struct {
	d     *Daemon
	fleet *ui.Fleet
	mu    sync.Mutex
	h     map[string]*ui.Handler
}

func (p *accountPages) get(name string) (*ui.Handler, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if h := p.h[name]; h != nil {
		return h, nil
	}
	src := source{get: func() *runner { return p.d.runnerFor(name) }}
	h, err := p.fleet.Pages(name, ui.Options{Source: src, Logger: p.d.log.With("account", name), Smoke: src.lastSmoke})
	if err != nil {
		return nil, err
	}
	p.h[name] = h
	return h, nil
}

// fleetPages serves the accounts overview at /ui/ and each account's
// pages under /ui/accounts/{account}/. The overview's verdicts are kept
// current until the daemon stops.
func (d *Daemon) fleetPages() (http.Handler, error) {
	pages := &accountPages{d: d, h: map[string]*ui.Handler{}}
	fleet, err := ui.NewFleet(ui.FleetOptions{Token: d.o.AdminToken, Logger: d.log,
		Accounts: func() []ui.FleetAccount { return d.uiAccounts(pages) }})
	if err != nil {
		return nil, err
	}
	pages.fleet = fleet
	go fleet.Run(d.runCtx)
	return fleet, nil
}

// uiAccounts lists the running accounts and the files no account runs
// from (named by the file, with why).
func (d *Daemon) uiAccounts(pages *accountPages) []ui.FleetAccount {
	var out []ui.FleetAccount
	for _, r := range d.accounts() {
		cfg, _ := r.current()
		a := ui.FleetAccount{Name: cfg.Account.Name, Provider: string(cfg.Helpdesk.Provider)}
		h, err := pages.get(cfg.Account.Name)
		if err != nil {
			a.Problem = err.Error()
		}
		a.Pages = h
		out = append(out, a)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for file, why := range d.problems {
		out = append(out, ui.FleetAccount{Name: strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)), Problem: why})
	}
	return out
}
