package reconcile

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// Where a backfill's record count comes from.
const (
	CountFromPSA     = "psa"     // a count endpoint or a first page's total
	CountFromStore   = "store"   // what the store already holds
	CountFromTickets = "tickets" // read ticket by ticket: the tickets in the window
	CountUnknown     = "unknown"
)

// CostEstimate is what a backfill will cost the PSA's API budget, as far as
// it can be known before it runs. Unknown numbers are -1, never 0.
type CostEstimate struct {
	// Records is the number of records to read, from RecordsFrom.
	Records     int    `json:"records"`
	RecordsFrom string `json:"recordsFrom"`
	// Requests and Units (the budget's unit: credits for Zoho Desk) the
	// backfill takes.
	Requests int `json:"requests"`
	Units    int `json:"units"`
	// Budget is the allowance it draws on.
	Budget helpdesk.Budget `json:"budget"`
	// Seconds is the estimated duration at the client's rate.
	Seconds int `json:"durationSeconds"`
	// OverReserve is true when the backfill needs more than is left above
	// the reserve: it will pause until the allowance comes back.
	OverReserve bool `json:"overReserve,omitempty"`
	// Text is the estimate in words, as the text plan prints it.
	Text string `json:"text"`
}

// coster estimates backfills for one plan, asking the PSA at most once
// for its budget and once per entity for a count.
type coster struct {
	r      *Reconciler
	model  helpdesk.CostModel
	budget *helpdesk.Budget
	counts map[helpdesk.Entity]int
}

func (r *Reconciler) newCoster() *coster {
	m, ok := r.Provider.(helpdesk.CostModel)
	if !ok {
		return nil
	}
	return &coster{r: r, model: m, counts: map[helpdesk.Entity]int{}}
}

// estimate is the cost of backfilling e from since (zero: all records).
func (c *coster) estimate(ctx context.Context, e helpdesk.Entity, since time.Time) *CostEstimate {
	if c == nil {
		return nil
	}
	b := c.getBudget(ctx)
	est := &CostEstimate{Records: -1, RecordsFrom: CountUnknown, Requests: -1, Units: -1, Seconds: -1, Budget: b}
	est.Records, est.RecordsFrom = c.count(ctx, e, since)
	tickets := -1
	if e == helpdesk.EntityTimeEntries {
		if n, from := c.count(ctx, helpdesk.EntityTickets, since); from != CountUnknown {
			tickets = n
		}
	}
	if cost, ok := c.model.SyncCost(e, est.Records, tickets); ok {
		est.Requests, est.Units = cost.Requests, cost.Units
		if est.Records < 0 && e == helpdesk.EntityTimeEntries {
			est.RecordsFrom = CountFromTickets // entries read ticket by ticket
		}
	}
	if est.Requests >= 0 && b.RatePerSecond > 0 {
		est.Seconds = int(math.Ceil(float64(est.Requests) / b.RatePerSecond))
	}
	if est.Units >= 0 && b.Remaining >= 0 {
		floor := 0
		if b.Limit > 0 {
			floor = int(float64(b.Limit) * c.r.Config.Sync.ReserveFraction())
		}
		est.OverReserve = est.Units > b.Remaining-floor
	}
	est.Text = est.words(tickets, c.r.Config.Sync.ReserveFraction())
	return est
}

func (c *coster) getBudget(ctx context.Context) helpdesk.Budget {
	if c.budget == nil {
		b, err := c.model.Budget(ctx)
		if err != nil {
			c.r.logger().DebugContext(ctx, "plan: read the PSA's API budget", "err", err)
			b.Remaining = -1
		}
		c.budget = &b
	}
	return *c.budget
}

// count is the number of records of e updated since: the PSA's count when
// it offers one cheaply, else the store's (when it holds any), else
// unknown.
func (c *coster) count(ctx context.Context, e helpdesk.Entity, since time.Time) (int, string) {
	if n, ok := c.counts[e]; ok {
		if n < 0 {
			return -1, CountUnknown
		}
		return n, CountFromPSA
	}
	if counter, ok := c.r.Provider.(helpdesk.Counter); ok {
		n, err := counter.Count(ctx, e, helpdesk.Query{Since: since})
		if err == nil {
			c.counts[e] = n
			return n, CountFromPSA
		}
		if !errors.Is(err, helpdesk.ErrUnsupported) {
			c.r.logger().DebugContext(ctx, "plan: count records", "entity", e, "err", err)
		}
	}
	c.counts[e] = -1
	if n, err := c.r.Store.Count(ctx, c.r.Scope(), e); err == nil && n > 0 {
		return n, CountFromStore
	}
	return -1, CountUnknown
}

// words renders the estimate: "5,000 tickets in the window ≈ 5,051
// requests ≈ 15,153 credits of Zoho Desk credits per day (4,100 left) ≈
// 43 min".
func (est *CostEstimate) words(tickets int, reserve float64) string {
	var parts []string
	switch est.RecordsFrom {
	case CountFromPSA:
		parts = append(parts, fmt.Sprintf("%s records", num(est.Records)))
	case CountFromStore:
		parts = append(parts, fmt.Sprintf("%s records (as many as the store holds)", num(est.Records)))
	case CountFromTickets:
		parts = append(parts, fmt.Sprintf("entries read ticket by ticket: %s tickets", num(tickets)))
	default:
		parts = append(parts, "records unknown (no cheap count at the PSA, none in the store)")
	}
	if est.Requests < 0 {
		parts = append(parts, "requests unknown")
	} else {
		parts = append(parts, num(est.Requests)+" "+plural(est.Requests, "request", "requests"))
		if est.Budget.Unit != "" && est.Budget.Unit != "requests" {
			parts = append(parts, num(est.Units)+" "+est.Budget.Unit)
		}
		if est.Seconds >= 0 {
			parts = append(parts, fmtDuration(time.Duration(est.Seconds)*time.Second))
		}
	}
	line := strings.Join(parts, " ≈ ") + "; budget: " + describeBudget(est.Budget)
	if est.OverReserve {
		line += fmt.Sprintf("; more than is left above the %d%% reserve: the backfill will pause until the allowance comes back",
			int(math.Round(reserve*100)))
	}
	return line
}

// describeBudget names the budget, its limit and what is left of it.
func describeBudget(b helpdesk.Budget) string {
	var in []string
	if b.Limit > 0 {
		in = append(in, fmt.Sprintf("%s per %s", num(b.Limit), fmtDuration(b.Period)))
	}
	if b.Remaining >= 0 {
		in = append(in, num(b.Remaining)+" left")
	}
	if b.RatePerSecond > 0 {
		in = append(in, fmt.Sprintf("sent at %s/s", strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", b.RatePerSecond), "0"), ".")))
	}
	if len(in) == 0 {
		return b.Name
	}
	return b.Name + " (" + strings.Join(in, ", ") + ")"
}

// num prints n with thousands separators: 15,000.
func num(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + num(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// fmtDuration prints a rough duration: 45 s, 42 min, 3.5 h, 2 d.
func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(math.Ceil(d.Minutes())))
	case d < 48*time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%d h", int(d.Hours()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	}
	return fmt.Sprintf("%.1f d", d.Hours()/24)
}
