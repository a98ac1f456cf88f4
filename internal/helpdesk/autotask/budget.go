package autotask

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

var (
	_ helpdesk.CostModel = (*Client)(nil)
	_ helpdesk.Counter   = (*Client)(nil)
)

// countable maps an entity to its Autotask entity and the query that
// selects what a sync since a time reads (the filters of the listings).
var countable = map[helpdesk.Entity]struct{ name, field string }{
	helpdesk.EntityTickets:     {"Tickets", "lastActivityDate"},
	helpdesk.EntityContacts:    {"Contacts", "lastActivityDate"},
	helpdesk.EntityCompanies:   {"Companies", "lastActivityDate"},
	helpdesk.EntityTimeEntries: {"TimeEntries", "lastModifiedDateTime"},
	helpdesk.EntityMembers:     {"Resources", ""},
}

// Budget implements helpdesk.CostModel: the tenant's requests per hour
// and what is left of them, read from GET /ThresholdInformation (one
// request, which also re-tunes the limiter).
func (c *Client) Budget(ctx context.Context) (helpdesk.Budget, error) {
	b := helpdesk.Budget{Name: "Autotask requests per hour", Unit: "requests", Period: time.Hour,
		Limit: 10000, Remaining: -1, RatePerSecond: c.cfg.RatePerSecond}
	if b.RatePerSecond <= 0 {
		b.RatePerSecond = DefaultRatePerSecond
	}
	t, err := c.Threshold(ctx)
	if err != nil {
		return b, err
	}
	if t.Limit > 0 {
		b.Limit, b.Remaining = t.Limit, max(t.Limit-t.Used, 0)
	}
	b.Period = time.Duration(t.WindowMinutes) * time.Minute
	return b, nil
}

// SyncCost implements helpdesk.CostModel: every entity is one query in
// pages of 500 (time entries are queried directly, not per ticket).
func (c *Client) SyncCost(e helpdesk.Entity, records, _ int) (helpdesk.Cost, bool) {
	if _, ok := countable[e]; !ok || records < 0 {
		return helpdesk.Cost{}, false
	}
	n := helpdesk.PagedCost(records, MaxPageSize)
	return helpdesk.Cost{Requests: n, Units: n}, true
}

// Count implements helpdesk.Counter: POST /{Entity}/query/count with the
// listing's filter answers {"queryCount":N} [K].
func (c *Client) Count(ctx context.Context, e helpdesk.Entity, q helpdesk.Query) (int, error) {
	ent, ok := countable[e]
	if !ok {
		return 0, fmt.Errorf("autotask: count %s: %w", e, helpdesk.ErrUnsupported)
	}
	filter := matchAll()
	if ent.field != "" {
		filter = since(ent.field, q.Since)
	}
	var out struct {
		QueryCount *flexInt `json:"queryCount"`
	}
	err := c.call(ctx, request{op: opCount, method: http.MethodPost, path: ent.name + "/query/count",
		body: queryBody{Filter: filter, MaxRecords: MaxPageSize}}, &out)
	if err != nil {
		return 0, fmt.Errorf("autotask: count %s: %w", ent.name, err)
	}
	if out.QueryCount == nil || out.QueryCount.V < 0 {
		return 0, fmt.Errorf("autotask: count %s: the answer has no queryCount", ent.name)
	}
	return int(out.QueryCount.V), nil
}

// observeThreshold tells the reserve what the threshold leaves.
func (c *Client) observeThreshold(t Threshold) {
	if t.Limit > 0 {
		c.reserve.Observe(max(t.Limit-t.Used, 0), t.Limit)
		if c.cfg.Metrics != nil {
			c.cfg.Metrics.Budget.Remaining.WithLabelValues(helpdesk.Autotask).Set(float64(max(t.Limit-t.Used, 0)))
		}
	}
}
