package reconcile

import (
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

func TestCostWords(t *testing.T) {
	zoho := helpdesk.Budget{Name: "Zoho Desk credits per day", Unit: "credits", Period: 24 * time.Hour,
		Remaining: 4100, RatePerSecond: 2}
	autotask := helpdesk.Budget{Name: "Autotask requests per hour", Unit: "requests", Period: time.Hour,
		Limit: 10000, Remaining: 9000, RatePerSecond: 2}
	for _, c := range []struct {
		name    string
		est     CostEstimate
		tickets int
		want    string
	}{
		{"zoho time entries of a 5,000-ticket window", CostEstimate{Records: -1, RecordsFrom: CountFromTickets,
			Requests: 5051, Units: 15153, Seconds: 2526, OverReserve: true, Budget: zoho}, 5000,
			"entries read ticket by ticket: 5,000 tickets ≈ 5,051 requests ≈ 15,153 credits ≈ 43 min; " +
				"budget: Zoho Desk credits per day (4,100 left, sent at 2/s); more than is left above the 20% reserve: " +
				"the backfill will pause until the allowance comes back"},
		{"autotask counted", CostEstimate{Records: 12000, RecordsFrom: CountFromPSA, Requests: 25, Units: 25, Seconds: 13,
			Budget: autotask}, -1,
			"12,000 records ≈ 25 requests ≈ 13 s; budget: Autotask requests per hour (10,000 per 1 h, 9,000 left, sent at 2/s)"},
		{"from the store", CostEstimate{Records: 800, RecordsFrom: CountFromStore, Requests: 2, Units: 2, Seconds: 1,
			Budget: autotask}, -1,
			"800 records (as many as the store holds) ≈ 2 requests ≈ 1 s; budget: Autotask requests per hour (10,000 per 1 h, 9,000 left, sent at 2/s)"},
		{"unknown is said, never 0", CostEstimate{Records: -1, RecordsFrom: CountUnknown, Requests: -1, Units: -1, Seconds: -1,
			Budget: helpdesk.Budget{Name: "ConnectWise: no published quota", Remaining: -1}}, -1,
			"records unknown (no cheap count at the PSA, none in the store) ≈ requests unknown; budget: ConnectWise: no published quota"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.est.words(c.tickets, 0.2); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestFmtDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		12 * time.Second: "12 s", 42 * time.Minute: "42 min", 84 * time.Minute: "1.4 h", 3 * time.Hour: "3 h", 72 * time.Hour: "3.0 d",
	} {
		if got := fmtDuration(d); got != want {
			t.Errorf("fmtDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
