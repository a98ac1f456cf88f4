package connectwise

import (
	"context"
	"fmt"
	"net/url"

	"github.com/horizon/reconciler/internal/helpdesk"
)

var _ helpdesk.CostModel = (*Client)(nil)

// Budget implements helpdesk.CostModel. ConnectWise publishes no quota
// (trouble is expected above roughly 1,000 requests a minute [D]): the
// budget is the client's rate, and nothing is known to be left.
func (c *Client) Budget(context.Context) (helpdesk.Budget, error) {
	rate := c.cfg.RatePerSecond
	if rate <= 0 {
		rate = DefaultRatePerSecond
	}
	return helpdesk.Budget{Name: "ConnectWise: no published quota", Unit: "requests", Remaining: -1,
		RatePerSecond: rate}, nil
}

// SyncCost implements helpdesk.CostModel: every entity is one listing in
// pages of 1,000 (time entries are listed directly, not per ticket).
// Forward-only paging answers every page with a next link, and a first
// page shorter than asked cannot be told from one the server capped: a
// list of under 1,000 records costs a second, empty, page.
func (c *Client) SyncCost(e helpdesk.Entity, records, _ int) (helpdesk.Cost, bool) {
	if records < 0 {
		return helpdesk.Cost{}, false
	}
	switch e {
	case helpdesk.EntityTickets, helpdesk.EntityContacts, helpdesk.EntityCompanies,
		helpdesk.EntityTimeEntries, helpdesk.EntityMembers:
		n := helpdesk.PagedCost(records, MaxPageSize)
		if c.cfg.Paging == ForwardOnly && records > 0 && records < MaxPageSize {
			n = 2
		}
		return helpdesk.Cost{Requests: n, Units: n}, true
	}
	return helpdesk.Cost{}, false
}

var _ helpdesk.Counter = (*Client)(nil)

// Count implements helpdesk.Counter for tickets: GET /service/tickets/count
// with the listing's conditions answers {"count":N} [K]. Other entities
// are not counted (ErrUnsupported).
func (c *Client) Count(ctx context.Context, e helpdesk.Entity, q helpdesk.Query) (int, error) {
	if e != helpdesk.EntityTickets {
		return 0, fmt.Errorf("connectwise: count %s: %w", e, helpdesk.ErrUnsupported)
	}
	v := url.Values{}
	if cond := (listSpec{since: q.Since}).conditions(); cond != "" {
		v.Set("conditions", cond)
	}
	var out struct {
		Count *int `json:"count"`
	}
	if _, err := c.get(ctx, "count tickets", "/service/tickets/count", v, &out); err != nil {
		return 0, fmt.Errorf("connectwise: count tickets: %w", err)
	}
	if out.Count == nil || *out.Count < 0 {
		return 0, fmt.Errorf("connectwise: count tickets: the answer has no count")
	}
	return *out.Count, nil
}
