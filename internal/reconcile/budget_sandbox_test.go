package reconcile_test

import (
	"context"
	"testing"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	"github.com/horizon/reconciler/internal/reconcile"
)

// Every backfill a plan announces carries its cost; the Zoho Desk plan
// reads the credits left from the answers' headers and prices time
// entries by the tickets in the window (one list each), never as 0.
func TestPlanShowsBackfillCost(t *testing.T) {
	for _, provider := range helpdesk.Providers {
		t.Run(provider, func(t *testing.T) {
			w := sandbox.Generate(sandbox.GenOptions{Tickets: 40, Seed: 7})
			e := newEnv(t, provider, bodyFor(provider, w))
			plan, err := e.rec.Plan(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			backfills := 0
			for _, c := range plan.Changes {
				if c.Action != reconcile.ActionBackfill {
					continue
				}
				backfills++
				if c.Cost == nil || c.Cost.Text == "" || c.Cost.Budget.Name == "" {
					t.Fatalf("%s: backfill without a cost: %+v", c.Target, c.Cost)
				}
				if c.Cost.Requests == 0 || c.Cost.Records == 0 && c.Cost.RecordsFrom == reconcile.CountUnknown {
					t.Errorf("%s: an unknown count shown as 0: %+v", c.Target, c.Cost)
				}
				if provider != helpdesk.ZohoDesk || c.Target != string(helpdesk.EntityTimeEntries) {
					continue
				}
				if c.Cost.RecordsFrom != reconcile.CountFromTickets || c.Cost.Requests <= 23 || c.Cost.Units != 3*c.Cost.Requests {
					t.Errorf("zoho time entries cost %+v; want a list per ticket of the window at 3 credits", c.Cost)
				}
				if c.Cost.Budget.Remaining <= 0 || c.Cost.Budget.Remaining > 4100 {
					t.Errorf("zoho credits left = %d; want what the headers said (under 4,100)", c.Cost.Budget.Remaining)
				}
			}
			if backfills == 0 {
				t.Fatal("the first plan announces no backfill")
			}
		})
	}
}
