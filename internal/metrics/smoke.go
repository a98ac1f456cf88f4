package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Smoke holds the smoke test's collectors.
type Smoke struct {
	LastRun      prometheus.Gauge         //
	Success      prometheus.Gauge         //
	StepDuration *prometheus.HistogramVec // step
	Runs         *prometheus.CounterVec   // result
}

func newSmoke(f promauto.Factory) *Smoke {
	return &Smoke{
		LastRun: f.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "smoke_last_run_timestamp_seconds",
			Help: "Unix time at which the last smoke test ended."}),
		Success: f.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "smoke_success",
			Help: "1 when the last smoke test passed every step, 0 when a step failed."}),
		StepDuration: f.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "smoke_step_duration_seconds",
			Help:    "Duration of the smoke test's steps (connect, create, callback, status, note, assign, time, cleanup).",
			Buckets: prometheus.ExponentialBuckets(0.05, 2.5, 10)}, []string{"step"}),
		Runs: f.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "smoke_runs_total",
			Help: "Smoke tests by result (passed, failed)."}, []string{"result"}),
	}
}
