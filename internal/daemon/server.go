package daemon

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/horizon/reconciler/internal/api"
)

// routes is the daemon's HTTP surface. Callbacks and the write API name
// the account in their path (/callbacks/{account}/{provider},
// /api/v1/accounts/{account}/...); a daemon of one account file also
// answers the paths without it.
func (d *Daemon) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherers{d}, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", d.readyz)
	// Every answer to a PSA is timed, "no such account" and "starting"
	// included: that is what the PSA waits for.
	timed := func(f http.HandlerFunc) http.Handler {
		return promhttp.InstrumentHandlerDuration(d.fm.CallbackAnswer, f)
	}
	mux.Handle("/callbacks/{account}/{provider}", timed(func(w http.ResponseWriter, r *http.Request) {
		d.callbacks(w, r, r.PathValue("account"))
	}))
	mux.Handle("/callbacks/{provider}", timed(func(w http.ResponseWriter, r *http.Request) { d.callbacks(w, r, "") }))
	mux.HandleFunc("/api/v1/accounts/{account}/{rest...}", d.accountAPI)
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		rn := d.runnerFor("")
		if rn == nil {
			apiNoAccount(w, d)
			return
		}
		rn.api().ServeHTTP(w, r)
	})
	return mux
}

// gatherers serves the process's collectors and every account's (each
// labelled with its account).
type gatherers struct{ d *Daemon }

func (g gatherers) Gather() ([]*dto.MetricFamily, error) {
	gs := prometheus.Gatherers{g.d.o.Registry}
	g.d.mu.Lock()
	for _, r := range g.d.runners {
		if r.reg != nil {
			gs = append(gs, r.reg)
		}
	}
	g.d.mu.Unlock()
	return gs.Gather()
}

// readyz is 200 when the replica can take callbacks: an account is in
// force and every account's callback receiver is in place, the store
// answered within the lease TTL, and the HTTP server serves. It never depends on a PSA: a PSA outage or a first backfill
// must not take the callback endpoint off the network (PSA health is in
// the metrics and alerts), and one invalid account file must not take
// the others' callbacks off it either.
func (d *Daemon) readyz(w http.ResponseWriter, _ *http.Request) {
	if why := d.notReady(time.Now()); why != "" {
		http.Error(w, "not ready: "+why, http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ready\n")
}

// notReady says why the replica is not ready, or "" when it is.
func (d *Daemon) notReady(now time.Time) string {
	seen := d.storeSeen.Load()
	accounts := d.accounts()
	for _, r := range accounts {
		if r.handler.Load() == nil {
			// Its receiver is not in place yet: a callback now would be
			// answered 503 and wait for the PSA's retry.
			cfg, _ := r.current()
			return "account " + cfg.Account.Name + " is starting"
		}
	}
	switch {
	case len(accounts) == 0:
		return "no config loaded"
	case !d.serving.Load():
		return "HTTP server not serving"
	case seen == 0:
		return "the store has not answered yet"
	case now.Sub(time.Unix(0, seen)) > d.o.LeaseTTL:
		return fmt.Sprintf("the store has not answered for %s", now.Sub(time.Unix(0, seen)).Round(time.Second))
	}
	return ""
}

// callbacks hands a delivery to its account's receiver.
func (d *Daemon) callbacks(w http.ResponseWriter, r *http.Request, name string) {
	rn := d.runnerFor(name)
	if rn == nil {
		d.unknownAccount(w, name, "/callbacks/{account}/{provider}")
		return
	}
	rc := rn.handler.Load()
	if rc == nil {
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	}
	rc.ServeHTTP(w, r)
}

// unknownAccount answers 404 for a path naming no account this process
// runs (or none, when it runs several).
func (d *Daemon) unknownAccount(w http.ResponseWriter, name, pattern string) {
	if name == "" {
		http.Error(w, "this reconciler runs several accounts: name one, "+pattern, http.StatusNotFound)
		return
	}
	http.Error(w, fmt.Sprintf("no account %q here", clip(name, 64)), http.StatusNotFound)
}

// accountAPI serves /api/v1/accounts/{account}/... with the account's
// own write API (its own token), as if called at /api/v1/....
func (d *Daemon) accountAPI(w http.ResponseWriter, r *http.Request) {
	rn := d.runnerFor(r.PathValue("account"))
	if rn == nil {
		api.NotFound(w, fmt.Sprintf("no account %q here", clip(r.PathValue("account"), 64)))
		return
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/api/v1/" + r.PathValue("rest")
	r2.URL.RawPath = ""
	rn.api().ServeHTTP(w, r2)
}

func apiNoAccount(w http.ResponseWriter, d *Daemon) {
	api.NotFound(w, "this reconciler runs several accounts: name one, /api/v1/accounts/{account}/...")
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}
