package autotask_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/autotask"
)

// A backfill in a tenant whose hourly threshold is nearly spent (by other
// integrations) pauses at the reserve, re-reads the threshold after the
// pause, and resumes once usage has fallen; a plan's budget and counts
// come from ThresholdInformation and query/count.
func TestBackfillPausesAtThresholdReserve(t *testing.T) {
	const pause = 30 * time.Minute
	e := newEnv(t, envOpts{tickets: 60})
	want, _ := drain(t, e.client.Tickets(ctx(t), helpdesk.Query{}))

	cfg := e.cfg
	cfg.BudgetReserve, cfg.ReservePause, cfg.ThresholdCheckEvery = 0.2, pause, 1
	c, err := autotask.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var pauses atomic.Int32
	c.Transport().SetSleep(func(ctx context.Context, d time.Duration) error {
		if d == pause {
			pauses.Add(1)
			e.emu.SetUsage(100) // the rolling hour moved on
		}
		return ctx.Err()
	})
	e.emu.SetUsage(8500) // 1,500 of 10,000 left: under the 2,000 reserve
	b, err := c.Budget(ctx(t))
	if err != nil || b.Limit != 10000 || b.Remaining > 1500 || b.Remaining < 1400 {
		t.Fatalf("budget = %+v, %v; want 10,000 per hour, about 1,500 left", b, err)
	}
	n, err := c.Count(ctx(t), helpdesk.EntityTickets, helpdesk.Query{})
	if err != nil || n != len(want) {
		t.Fatalf("count = %d, %v; want %d", n, err, len(want))
	}

	m := &helpdesk.Meter{Entity: helpdesk.EntityTickets, Paced: true}
	got, _ := drain(t, c.Tickets(helpdesk.WithMeter(ctx(t), m), helpdesk.Query{}))
	if len(got) != len(want) {
		t.Errorf("backfill read %d tickets, want %d", len(got), len(want))
	}
	if pauses.Load() != 1 {
		t.Errorf("paused %d times, want 1", pauses.Load())
	}
	if m.Requests() == 0 {
		t.Error("the run's meter counted no requests")
	}
}
