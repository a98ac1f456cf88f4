package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Budget holds what Horizon spends of the PSA's API allowance.
type Budget struct {
	// RequestsByEntity counts requests by provider and the entity of the
	// sync run that made them ("other" outside a run: plans, writes,
	// webhooks). Bounded: entities are a fixed set.
	RequestsByEntity *prometheus.CounterVec
	// Remaining is what is left of the allowance as the PSA last reported
	// it (Zoho Desk credits today, Autotask requests this hour).
	Remaining *prometheus.GaugeVec
	// Paused counts the seconds backfills were held back at the reserve.
	Paused *prometheus.CounterVec
}

func newBudget(f promauto.Factory) *Budget {
	return &Budget{
		RequestsByEntity: f.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "psa_requests_by_entity_total",
			Help: "HTTP requests to the PSA by provider and the entity of the sync run that made them (\"other\" outside sync runs)."}, []string{"provider", "entity"}),
		Remaining: f.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "psa_budget_remaining",
			Help: "What is left of the PSA's API allowance as it last reported it (Zoho Desk credits today, Autotask requests this hour)."}, []string{"provider"}),
		Paused: f.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "psa_budget_paused_seconds_total",
			Help: "Seconds backfills were held back to leave the reserve of the PSA's API allowance (sync.budgetReserve)."}, []string{"provider"}),
	}
}
