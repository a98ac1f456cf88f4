package daemon

import (
	"io"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// routes is the daemon's HTTP surface.
func (d *Daemon) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.o.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", d.readyz)
	mux.HandleFunc("/callbacks/", d.callbacks)
	return mux
}

// readyz is 200 once the leader's first reconcile succeeded, or once a
// follower knows it follows; 503 before.
func (d *Daemon) readyz(w http.ResponseWriter, _ *http.Request) {
	if !d.ready.Load() {
		http.Error(w, "not ready: no successful reconcile yet", http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ready\n")
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
