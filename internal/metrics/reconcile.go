package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// ReconcileFailure holds what the daemon says about failing reconcile
// passes: whether the failure needs a human, and how long it has lasted.
type ReconcileFailure struct {
	// NeedsHuman is 1 while the last pass failed for a reason retrying
	// cannot fix (the PSA rejected the credentials or refused access), 0
	// otherwise (the last pass succeeded, or failed for a reason that
	// passes: rate limit, outage, timeout, database).
	NeedsHuman prometheus.Gauge
	// Consecutive counts the failed passes since the last success.
	Consecutive prometheus.Gauge
}

func newReconcileFailure(f promauto.Factory) *ReconcileFailure {
	return &ReconcileFailure{
		NeedsHuman: f.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "reconcile_failure_needs_human",
			Help: "1 when the last reconcile pass failed because the PSA rejected the credentials or refused access " +
				"(a human must act; retried only at the reconcile interval), 0 when it succeeded or failed for a reason " +
				"that passes (rate limit, outage; retried with backoff)."}),
		Consecutive: f.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "reconcile_consecutive_failures",
			Help: "Reconcile passes that failed in a row since the last successful one."}),
	}
}
