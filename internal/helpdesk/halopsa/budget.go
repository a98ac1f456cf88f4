package halopsa

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// quotedLimit is the rate hosted Halo is quoted to allow: about 450
// requests per 5 minutes per tenant [3P, unconfirmed]. Halo sends no
// count of what is left.
const quotedLimit, quotedPeriod = 450, 5 * time.Minute

var (
	_ helpdesk.CostModel = (*Client)(nil)
	_ helpdesk.Counter   = (*Client)(nil)
)

// Budget implements helpdesk.CostModel: Halo's rate limit; what is left
// is never known (Remaining -1).
func (c *Client) Budget(context.Context) (helpdesk.Budget, error) {
	rate := c.cfg.RatePerSecond
	if rate <= 0 {
		rate = DefaultRatePerSecond
	}
	return helpdesk.Budget{Name: "HaloPSA rate limit", Unit: "requests", Period: quotedPeriod, Limit: quotedLimit,
		Remaining: -1, RatePerSecond: rate}, nil
}

// SyncCost implements helpdesk.CostModel from the page size (Halo caps
// pages at 100): tickets are listed with their details, agents in one
// unpaged answer, and time entries read ticket by ticket (GET /Actions
// per ticket in the window, after the ticket listing).
func (c *Client) SyncCost(e helpdesk.Entity, records, tickets int) (helpdesk.Cost, bool) {
	size := c.cfg.MaxPageSize
	var req int
	if records < 0 && e != helpdesk.EntityTimeEntries && e != helpdesk.EntityMembers {
		return helpdesk.Cost{}, false
	}
	switch e {
	case helpdesk.EntityTickets, helpdesk.EntityContacts, helpdesk.EntityCompanies:
		req = helpdesk.PagedCost(records, size)
	case helpdesk.EntityMembers:
		req = 1
	case helpdesk.EntityTimeEntries:
		if tickets < 0 {
			return helpdesk.Cost{}, false
		}
		req = helpdesk.PagedCost(tickets, size) + tickets
	default:
		return helpdesk.Cost{}, false
	}
	return helpdesk.Cost{Requests: req, Units: req}, true
}

// Count implements helpdesk.Counter with a first page of one record:
// Halo's paged answer carries record_count, the number of matches
// [C-code].
func (c *Client) Count(ctx context.Context, e helpdesk.Entity, q helpdesk.Query) (int, error) {
	var l list
	switch e {
	case helpdesk.EntityTickets:
		v := url.Values{"order": {"id"}, "orderdesc": {"false"}}
		if !q.Since.IsZero() {
			v.Set("lastupdatefromdate", formatTime(q.Since.Truncate(time.Second)))
		}
		l = list{op: "count tickets", path: "/Tickets", key: "tickets", query: v}
	case helpdesk.EntityContacts:
		l = list{op: "count contacts", path: "/Users", key: "users",
			query: url.Values{"includeactive": {"true"}, "includeinactive": {"true"}}}
	case helpdesk.EntityCompanies:
		l = list{op: "count companies", path: "/Client", key: "clients",
			query: url.Values{"includeactive": {"true"}, "includeinactive": {"true"}}}
	default:
		return 0, fmt.Errorf("halopsa: count %s: %w", e, helpdesk.ErrUnsupported)
	}
	l.size = 1
	p, err := c.fetchPage(ctx, l, 1)
	if err != nil {
		return 0, fmt.Errorf("halopsa: %s: %w", l.op, err)
	}
	if !p.counted {
		return 0, fmt.Errorf("halopsa: %s: the answer has no record_count", l.op)
	}
	return p.recordCount, nil
}
