package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Fleet is the process's own collectors when it runs many accounts
// (every other collector carries the account label).
type Fleet struct {
	Accounts    *prometheus.GaugeVec
	AccountsLed prometheus.Gauge
	Replicas    prometheus.Gauge
	// CallbackAnswer times every webhook's answer, all accounts together:
	// what the PSAs see (they give up after 5 to 10 s and retry).
	CallbackAnswer *prometheus.HistogramVec
}

// NewFleet registers the fleet collectors on reg.
func NewFleet(reg prometheus.Registerer) *Fleet {
	f := promauto.With(reg)
	return &Fleet{
		Accounts: f.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "accounts",
			Help: "Account files this process serves, by state: running, or not_running (invalid file, or an account.name another file already uses)."},
			[]string{"state"}),
		AccountsLed: f.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "accounts_led",
			Help: "Accounts whose lease this replica holds (it reconciles, syncs and writes back for them)."}),
		Replicas: f.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "replicas",
			Help: "Live replicas sharing the store's accounts, as this replica last counted them."}),
		CallbackAnswer: f.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "callback_answer_duration_seconds",
			Help:    "Time from a webhook's arrival to its answer, every account of the process together, by status code.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}},
			[]string{"code"}),
	}
}
