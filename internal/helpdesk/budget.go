package helpdesk

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"time"
)

// Budget is the API allowance a PSA grants an account, as far as the
// client knows it. Plans show it next to what a backfill will cost.
type Budget struct {
	// Name says what is counted and per what, in the PSA's words:
	// "Autotask requests per hour", "Zoho Desk credits per day".
	Name string `json:"name"`
	// Unit is what one allowance unit is: "requests" or "credits".
	Unit string `json:"unit"`
	// Period is the allowance's window (an hour, a day); zero when the
	// PSA publishes no allowance, only a rate.
	Period time.Duration `json:"-"`
	// Limit is the allowance per Period; zero when unknown.
	Limit int `json:"limit,omitempty"`
	// Remaining is what is left of the current Period, as the PSA last
	// reported it; -1 when the client has not read it.
	Remaining int `json:"remaining"`
	// RatePerSecond is the rate the client sends at (its limiter), which
	// bounds how fast a backfill goes; zero when unlimited.
	RatePerSecond float64 `json:"ratePerSecond,omitempty"`
}

// MarshalJSON writes Period in seconds (periodSeconds).
func (b Budget) MarshalJSON() ([]byte, error) {
	type plain Budget
	return json.Marshal(struct {
		plain
		PeriodSeconds int64 `json:"periodSeconds,omitempty"`
	}{plain(b), int64(b.Period / time.Second)})
}

// Cost is what syncing some records takes.
type Cost struct {
	// Requests is the number of API requests.
	Requests int `json:"requests"`
	// Units is the cost in the budget's unit (Zoho Desk credits; the
	// requests again where one request is one unit).
	Units int `json:"units"`
}

// CostModel is implemented by providers that can say what a sync will cost
// before it runs, so that a plan can show it without knowing the PSA.
type CostModel interface {
	// Budget reports the account's allowance. It reads what is left
	// cheaply (a usage endpoint, or the headers of the last response) and
	// never fails a plan for it: Remaining is -1 when unknown.
	Budget(ctx context.Context) (Budget, error)
	// SyncCost is the cost of syncing records records of e, from the
	// client's page sizes; tickets is the number of tickets in the same
	// window, for entities read ticket by ticket. Either is -1 when
	// unknown; ok is false when the cost depends on an unknown count.
	SyncCost(e Entity, records, tickets int) (c Cost, ok bool)
}

// Counter is implemented by providers that can count the records a query
// selects with one cheap request (a count endpoint or a first page's
// total). ErrUnsupported for an entity it cannot count.
type Counter interface {
	Count(ctx context.Context, e Entity, q Query) (int, error)
}

// PagedCost is the cost of listing records in pages of size, at least one
// request (the one that finds the list empty or short).
func PagedCost(records, size int) int {
	if size <= 0 {
		return records
	}
	return records/size + 1
}

// Meter counts the requests made on behalf of one sync run and the time
// they were held back to leave the budget's reserve. The sync engine puts
// one in the context of a run; the transport and the clients add to it.
type Meter struct {
	// Paced is true for runs that must leave the reserve (backfills).
	Paced    bool
	Entity   Entity
	requests atomic.Int64
	paused   atomic.Int64
}

// AddRequest counts one request sent.
func (m *Meter) AddRequest() { m.requests.Add(1) }

// AddPause counts time held back at the reserve.
func (m *Meter) AddPause(d time.Duration) { m.paused.Add(int64(d)) }

// Requests returns the requests counted so far.
func (m *Meter) Requests() int { return int(m.requests.Load()) }

// Paused returns the time held back so far.
func (m *Meter) Paused() time.Duration { return time.Duration(m.paused.Load()) }

type meterKey struct{}

// WithMeter returns a context whose requests m counts.
func WithMeter(ctx context.Context, m *Meter) context.Context {
	return context.WithValue(ctx, meterKey{}, m)
}

// MeterFrom returns the context's meter, nil when there is none.
func MeterFrom(ctx context.Context) *Meter {
	m, _ := ctx.Value(meterKey{}).(*Meter)
	return m
}
