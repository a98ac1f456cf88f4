package daemon

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/horizon/reconciler/internal/api"
)

// routes is the daemon's HTTP surface.
func (d *Daemon) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.o.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", d.readyz)
	mux.HandleFunc("/callbacks/", d.callbacks)
	mux.Handle("/api/v1/", api.New(api.Options{Current: d.writeTarget, Logger: d.log}))
	return mux
}

// readyz is 200 when the replica can take callbacks: a config is in
// force, the store answered a lease request within the lease TTL, and
// the HTTP server serves. It never depends on the PSA: a PSA outage or a
// first backfill must not take the callback endpoint off the network
// (PSA health is in the metrics and alerts).
func (d *Daemon) readyz(w http.ResponseWriter, _ *http.Request) {
	if why := d.notReady(time.Now()); why != "" {
		http.Error(w, "not ready: "+why, http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ready\n")
}

// notReady says why the replica is not ready, or "" when it is.
func (d *Daemon) notReady(now time.Time) string {
	cfg, _ := d.current()
	seen := d.storeSeen.Load()
	switch {
	case cfg == nil:
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

// callbacks hands deliveries to the current receiver.
func (d *Daemon) callbacks(w http.ResponseWriter, r *http.Request) {
	rc := d.handler.Load()
	if rc == nil {
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	}
	rc.ServeHTTP(w, r)
}
