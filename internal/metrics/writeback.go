package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Writeback holds the write-back collectors. The outbox backlog gauges
// (OutboxPending, OutboxOldestAge) and OutboxWrites stay on Metrics.
type Writeback struct {
	Total    *prometheus.CounterVec   // provider, op, result
	Duration *prometheus.HistogramVec // op
}

// NewWriteback registers the write-back collectors on reg.
func NewWriteback(reg prometheus.Registerer) *Writeback {
	f := promauto.With(reg)
	return &Writeback{
		Total: f.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "writeback_total",
			Help: "Write-back delivery attempts by provider, op (ticket.create, ticket.update, note.create, timeEntry.create) and result (done, retry, failed, dead, unknown)."},
			[]string{"provider", "op", "result"}),
		Duration: f.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "writeback_duration_seconds",
			Help: "Duration of write-back delivery attempts, from claim to the PSA's answer.", Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 10)},
			[]string{"op"}),
	}
}
