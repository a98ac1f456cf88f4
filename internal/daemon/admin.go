package daemon

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/horizon/reconciler/internal/account"
	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/reconcile"
	"github.com/horizon/reconciler/internal/smoke"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/ui"
)

// board keeps what the status pages show of the daemon's own work: the
// newest file's validity and the last reconcile pass.
type board struct {
	mu sync.Mutex
	st ui.State
}

func (b *board) update(f func(*ui.State)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f(&b.st)
}

func (b *board) configValid(path string, interval time.Duration) {
	b.update(func(s *ui.State) {
		s.ConfigPath, s.ConfigValid, s.ConfigProblems, s.ReconcileInterval = path, true, nil, interval
	})
}

func (b *board) configInvalid(err error, diags []config.Diagnostic) {
	b.update(func(s *ui.State) {
		s.ConfigValid, s.ConfigProblems = false, nil
		if err != nil {
			s.ConfigProblems = append(s.ConfigProblems, err.Error())
		}
		for _, d := range diags {
			s.ConfigProblems = append(s.ConfigProblems, d.String())
		}
	})
}

// passed records a pass: its plan (nil when it could not plan) and error.
func (b *board) passed(p *reconcile.Plan, err error) {
	now := time.Now().UTC()
	b.update(func(s *ui.State) {
		s.LastReconcile, s.LastError = now, ""
		if p != nil {
			s.LastPlan = p
		}
		if err != nil {
			s.LastError = err.Error()
			return
		}
		s.LastSuccess = now
	})
}

// source adapts an account's runner to the status pages. It looks the
// runner up on every use: a renamed account is a new runner.
type source struct{ get func() *runner }

func (s source) Account() *account.Account {
	r := s.get()
	if r == nil {
		return nil
	}
	_, a := r.current()
	return a
}

// lastSmoke reads the last finished smoke test from the sync run log,
// where every run records itself (trigger smoke); one still running is
// not a verdict yet.
func (s source) lastSmoke(ctx context.Context) (ui.SmokeResult, bool, error) {
	a := s.Account()
	if a == nil {
		return ui.SmokeResult{}, false, nil
	}
	runs, err := a.Store.SyncRuns(ctx, a.Scope, store.SyncRunFilter{Trigger: smoke.Trigger, Limit: 5})
	if err != nil {
		return ui.SmokeResult{}, false, err
	}
	for _, run := range runs {
		if !run.FinishedAt.IsZero() {
			return ui.SmokeResult{At: run.FinishedAt, OK: run.Failed == 0 && run.Error == "", Detail: run.Error}, true, nil
		}
	}
	return ui.SmokeResult{}, false, nil
}

func (s source) State() ui.State {
	r := s.get()
	if r == nil {
		return ui.State{}
	}
	r.board.mu.Lock()
	defer r.board.mu.Unlock()
	st := r.board.st
	st.ConfigProblems = append([]string(nil), st.ConfigProblems...)
	return st
}

// adminEnabled reports whether the status pages are to be served.
func (d *Daemon) adminEnabled() bool {
	return d.o.AdminListener != nil || (d.o.AdminListen != "" && d.o.AdminListen != "off")
}

// listenAdmin opens the admin listener and builds the status pages.
func (d *Daemon) listenAdmin() (*http.Server, net.Listener, error) {
	h, err := d.statusPages()
	if err != nil {
		return nil, nil, err
	}
	ln := d.o.AdminListener
	if ln == nil {
		if ln, err = net.Listen("tcp", d.o.AdminListen); err != nil {
			return nil, nil, fmt.Errorf("listen on %s (HORIZON_ADMIN_ADDR): %w", d.o.AdminListen, err)
		}
	}
	mux := http.NewServeMux()
	mux.Handle(ui.DefaultBase+"/", h)
	mux.Handle("GET /{$}", http.RedirectHandler(ui.DefaultBase+"/", http.StatusFound))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 2 * time.Minute} // a forced sync or refresh may take a while
	return srv, ln, nil
}

// admin opens the status pages' server, or returns nil when they are off.
func (d *Daemon) admin() (*http.Server, net.Listener, error) {
	if !d.adminEnabled() {
		return nil, nil, nil
	}
	return d.listenAdmin()
}

// statusPages builds the pages: one account's at /ui/, or, for several,
// the accounts overview at /ui/ and each account's pages under
// /ui/accounts/{account}/.
func (d *Daemon) statusPages() (http.Handler, error) {
	if !d.multi {
		src := source{get: func() *runner { return d.runnerFor("") }}
		return ui.New(ui.Options{Source: src, Token: d.o.AdminToken, Logger: d.log, Smoke: src.lastSmoke})
	}
	return d.fleetPages()
}
