package zohodesk

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// Credit costs per call [3P R8]: a single GET costs 1 credit, a list or
// search 3 or more. The estimate takes the floor; the header
// X-Rate-Limit-Request-Weight-v3 tells the real weight of each call.
const (
	listCredits = 3
	// remainingHeader is what is left of the org's daily credits.
	remainingHeader = "X-Rate-Limit-Remaining-v3"
)

var (
	_ helpdesk.CostModel = (*Client)(nil)
	_ helpdesk.Counter   = (*Client)(nil)
)

// remainingCredits reads the remaining-credits header of a response.
func remainingCredits(h http.Header) (int, bool) {
	v := strings.TrimSpace(h.Get(remainingHeader))
	if v == "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// Budget implements helpdesk.CostModel: credits per day, what is left as
// the last response said. The daily allowance depends on the edition and
// the number of agents, which the API does not tell: Limit stays 0.
func (c *Client) Budget(context.Context) (helpdesk.Budget, error) {
	return helpdesk.Budget{Name: "Zoho Desk credits per day", Unit: "credits", Period: 24 * time.Hour,
		Remaining: c.reserve.Remaining(), RatePerSecond: c.rate()}, nil
}

// rate is the client's sending rate, or the default when the limiter is
// off (the real PSA's pace, for estimates).
func (c *Client) rate() float64 {
	if r := c.cfg.Tuning.RatePerSecond; r > 0 {
		return r
	}
	return defaultRatePerSecond
}

// SyncCost implements helpdesk.CostModel from the page sizes: searches
// of 100 tickets or 99 contacts and accounts, agents listed twice (active
// and disabled) in pages of 200, and time entries
// read ticket by ticket (one list per ticket in the window, after the
// ticket search).
func (c *Client) SyncCost(e helpdesk.Entity, records, tickets int) (helpdesk.Cost, bool) {
	var req int
	if records < 0 && e != helpdesk.EntityTimeEntries {
		return helpdesk.Cost{}, false
	}
	switch e {
	case helpdesk.EntityTickets:
		req = helpdesk.PagedCost(records, ticketPage) + 1 // + departments, for queue names
	case helpdesk.EntityContacts, helpdesk.EntityCompanies:
		req = helpdesk.PagedCost(records, contactPage)
	case helpdesk.EntityMembers:
		req = 2 * helpdesk.PagedCost(records/2, agentPage)
	case helpdesk.EntityTimeEntries:
		if tickets < 0 {
			return helpdesk.Cost{}, false
		}
		req = helpdesk.PagedCost(tickets, ticketPage) + tickets
	default:
		return helpdesk.Cost{}, false
	}
	return helpdesk.Cost{Requests: req, Units: req * listCredits}, true
}

// countPaths are the searches that answer a count with their page.
var countPaths = map[helpdesk.Entity]string{
	helpdesk.EntityTickets:   "/tickets/search",
	helpdesk.EntityContacts:  "/contacts/search",
	helpdesk.EntityCompanies: "/accounts/search",
}

// Count implements helpdesk.Counter with one search of limit 1: Zoho's
// search answers carry the number of matches [3P R8 / C-code R5].
func (c *Client) Count(ctx context.Context, e helpdesk.Entity, q helpdesk.Query) (int, error) {
	path, ok := countPaths[e]
	if !ok {
		return 0, fmt.Errorf("zohodesk: count %s: %w", e, helpdesk.ErrUnsupported)
	}
	w := c.newWindow("count "+string(e), path, q.Since, 1)
	v := url.Values{}
	v.Set("modifiedTimeRange", formatTime(w.lower)+","+formatTime(w.upper))
	v.Set("from", "0")
	v.Set("limit", "1")
	var out struct {
		Count *json.Number `json:"count"`
	}
	resp, err := c.call(ctx, request{op: "count " + string(e), method: http.MethodGet, path: path, query: v}, &out)
	if err != nil {
		return 0, fmt.Errorf("zohodesk: count %s: %w", e, err)
	}
	if resp.Status == http.StatusNoContent {
		return 0, nil
	}
	if out.Count == nil {
		return 0, fmt.Errorf("zohodesk: count %s: the search answer has no count", e)
	}
	n, err := strconv.Atoi(out.Count.String())
	if err != nil || n < 0 {
		return 0, fmt.Errorf("zohodesk: count %s: count %q is not a number", e, out.Count.String())
	}
	return n, nil
}
