// Package metrics defines every Prometheus collector Horizon exports, in one
// place, registered on an injected Registerer. The names are a contract
// (see the README's metrics section and deploy/prometheus rules): keep
// them stable. Labels are bounded: provider, entity, kind, result, op,
// code, trigger, widget — never a ticket or user ID.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

const namespace = "horizon"

// Metrics holds every collector.
type Metrics struct {
	ReconcileTotal         *prometheus.CounterVec   // result
	ReconcileDuration      prometheus.Histogram     //
	ReconcileLastSuccess   prometheus.Gauge         //
	ConfigValid            prometheus.Gauge         //
	ConfigInfo             *prometheus.GaugeVec     // provider, hash
	DriftItems             *prometheus.GaugeVec     // kind
	UsersUnmapped          prometheus.Gauge         //
	CallbacksReceived      *prometheus.CounterVec   // provider, event, result
	CallbackLastReceived   *prometheus.GaugeVec     // provider
	SyncRuns               *prometheus.CounterVec   // entity, trigger, result
	SyncDuration           *prometheus.HistogramVec // entity
	SyncLastSuccess        *prometheus.GaugeVec     // entity
	SyncLastChange         *prometheus.GaugeVec     // entity
	SyncedObjects          *prometheus.CounterVec   // entity, op
	PSARequests            *prometheus.CounterVec   // provider, op, code
	PSARequestDuration     *prometheus.HistogramVec // provider, op
	PSARateLimited         *prometheus.CounterVec   // provider
	OutboxPending          prometheus.Gauge         //
	OutboxOldestAge        prometheus.Gauge         //
	OutboxWrites           *prometheus.CounterVec   // kind, result
	WidgetUp               *prometheus.GaugeVec     // widget
	CallbackStaleThreshold prometheus.Gauge         //
	Leader                 prometheus.Gauge         //
	ReconcileFailure       *ReconcileFailure
	Writeback              *Writeback // write-back deliveries
	Budget                 *Budget
	Smoke                  *Smoke // the smoke test
}

// New registers every collector on reg and returns them. Pass
// prometheus.NewRegistry() in tests.
func New(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		ReconcileTotal: f.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "reconcile_total",
			Help: "Reconcile passes by result (success, error, invalid_config)."}, []string{"result"}),
		ReconcileDuration: f.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "reconcile_duration_seconds",
			Help: "Duration of reconcile passes.", Buckets: prometheus.ExponentialBuckets(0.05, 2, 12)}),
		ReconcileLastSuccess: f.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "reconcile_last_success_timestamp_seconds",
			Help: "Unix time of the last successful reconcile pass."}),
		ConfigValid: f.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "config_valid",
			Help: "1 when the last load of horizon.yaml was valid, 0 when the daemon runs on the last good file."}),
		ConfigInfo: f.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "config_info",
			Help: "Always 1, labelled with the provider and hash of the config in force."}, []string{"provider", "hash"}),
		DriftItems: f.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "drift_items",
			Help: "Differences between horizon.yaml and the PSA or store found by the last reconcile, by kind."}, []string{"kind"}),
		UsersUnmapped: f.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "helpdesk_users_unmapped",
			Help: "Active helpdesk users with no Horizon user mapped."}),
		CallbacksReceived: f.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "callbacks_received_total",
			Help: "Inbound webhook deliveries by provider, event and result."}, []string{"provider", "event", "result"}),
		CallbackLastReceived: f.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "callback_last_received_timestamp_seconds",
			Help: "Unix time of the last verified callback from the provider."}, []string{"provider"}),
		SyncRuns: f.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "sync_runs_total",
			Help: "Sync runs by entity, trigger and result."}, []string{"entity", "trigger", "result"}),
		SyncDuration: f.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "sync_duration_seconds",
			Help: "Duration of sync runs.", Buckets: prometheus.ExponentialBuckets(0.01, 3, 12)}, []string{"entity"}),
		SyncLastSuccess: f.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "sync_last_success_timestamp_seconds",
			Help: "Unix time of the last successful sync run of the entity."}, []string{"entity"}),
		SyncLastChange: f.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "sync_last_change_timestamp_seconds",
			Help: "Unix time at which a polling sync last found a changed record of the entity (for callback staleness alerts)."}, []string{"entity"}),
		SyncedObjects: f.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "synced_objects_total",
			Help: "Records written to the store by entity and op (created, updated, unchanged, failed)."}, []string{"entity", "op"}),
		PSARequests: f.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "psa_requests_total",
			Help: "HTTP requests to the PSA by provider, operation and status code (\"error\" when no response)."}, []string{"provider", "op", "code"}),
		PSARequestDuration: f.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "psa_request_duration_seconds",
			Help: "Duration of HTTP requests to the PSA.", Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 10)}, []string{"provider", "op"}),
		PSARateLimited: f.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "psa_rate_limited_total",
			Help: "Responses from the PSA that asked Horizon to slow down (429)."}, []string{"provider"}),
		OutboxPending: f.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "outbox_pending",
			Help: "Writes to the PSA waiting in the outbox."}),
		OutboxOldestAge: f.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "outbox_oldest_age_seconds",
			Help: "Age of the oldest pending outbox write."}),
		OutboxWrites: f.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "outbox_writes_total",
			Help: "Outbox write attempts by kind and result (done, retry, dead)."}, []string{"kind", "result"}),
		WidgetUp: f.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "widget_up",
			Help: "1 when the widget's embed URL answered 2xx with HTML at the last check."}, []string{"widget"}),
		CallbackStaleThreshold: f.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "callback_stale_after_seconds",
			Help: "callbacks.staleAfter from horizon.yaml, so alerts can compare callback age against it."}),
		Leader: f.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "leader",
			Help: "1 when this replica holds the account's leadership lease."}),
		ReconcileFailure: newReconcileFailure(f),
		Writeback:        NewWriteback(reg),
		Budget:           newBudget(f),
		Smoke:            newSmoke(f),
	}
}

// NewPSA returns only the PSA request collectors, for provider clients
// built outside the daemon (tests, one-shot commands). reg may be nil.
func NewPSA(reg prometheus.Registerer) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	return New(reg)
}
