package zohodesk_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	zdsandbox "github.com/horizon/reconciler/internal/helpdesk/sandbox/zohodesk"
)

// syncedEntries reads every time entry with ctx and returns how many.
func syncedEntries(t *testing.T, ctx context.Context, c helpdesk.Provider) int {
	t.Helper()
	n := 0
	for page, err := range c.TimeEntries(ctx, helpdesk.Query{}) {
		if err != nil {
			t.Fatalf("time entries: %v", err)
		}
		n += len(page)
	}
	return n
}

// A backfill of time entries (one list per ticket, 3 credits each) in an
// org with few credits left stops at the reserve, waits, and resumes once
// the credits are back; it never spends the reserve. Work outside a
// backfill is not held back.
func TestBackfillPausesAtCreditReserve(t *testing.T) {
	const daily, reserve, pause = 1000, 200, time.Hour
	var logs bytes.Buffer
	e := newEnv(t, envOpts{tickets: 120, zo: zdsandbox.Options{Credits: daily}})

	// the same sync with plenty of credits: what a full backfill reads
	want := syncedEntries(t, context.Background(), e.client(t))

	e.emu.SetCreditsUsed(daily - 260)
	cfg := e.config()
	cfg.BudgetReserve, cfg.Tuning.DailyCredits, cfg.Tuning.ReservePause = 0.2, daily, pause

	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	c := newClient(t, cfg)
	var mu sync.Mutex
	var leftAtPause []int
	c.SetSleep(func(_ context.Context, d time.Duration) error {
		if d == pause { // the reserve's pause, not a retry backoff
			mu.Lock()
			leftAtPause = append(leftAtPause, e.emu.CreditsLeft())
			mu.Unlock()
			e.emu.ResetCredits() // the day's reset
		}
		return nil
	})
	m := &helpdesk.Meter{Entity: helpdesk.EntityTimeEntries, Paced: true}
	got := syncedEntries(t, helpdesk.WithMeter(context.Background(), m), c)

	if got != want || want == 0 {
		t.Errorf("backfill read %d time entries, want %d", got, want)
	}
	if len(leftAtPause) != 1 {
		t.Fatalf("paused %d times, want 1", len(leftAtPause))
	}
	// the last call before the pause left more than the reserve; the
	// pause came before the next one could spend it (a list costs 3)
	if left := leftAtPause[0]; left > reserve || left <= reserve-3 {
		t.Errorf("paused with %d credits left, want just at the reserve of %d", left, reserve)
	}
	if m.Requests() < 120 {
		t.Errorf("meter counted %d requests, want at least one per ticket (120)", m.Requests())
	}
	for _, line := range []string{"psa budget at reserve; backfill paused", "psa budget pause over; backfill resumes"} {
		if !strings.Contains(logs.String(), line) || !strings.Contains(logs.String(), "level=INFO") {
			t.Errorf("log lacks %q at info:\n%s", line, logs.String())
		}
	}

	// not a backfill (a poll, a write, a plan): never held back, even at
	// the reserve
	e.emu.SetCreditsUsed(daily - reserve)
	leftAtPause = nil
	if _, err := c.Count(context.Background(), helpdesk.EntityTickets, helpdesk.Query{}); err != nil || len(leftAtPause) != 0 {
		t.Errorf("unpaced call at the reserve: %v, %d pauses; want no error, no pause", err, len(leftAtPause))
	}
}

// The plan's budget reads the remaining credits from the last answer's
// header, and counts tickets with one search.
func TestBudgetReadsRemainingCredits(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 40, zo: zdsandbox.Options{Credits: 5000}})
	e.emu.SetCreditsUsed(900)
	c := e.client(t)
	b, _ := c.Budget(context.Background())
	if b.Remaining != -1 {
		t.Errorf("before any call: remaining %d, want -1 (unknown)", b.Remaining)
	}
	n, err := c.Count(context.Background(), helpdesk.EntityTickets, helpdesk.Query{})
	if err != nil || n != 40 {
		t.Fatalf("count tickets = %d, %v; want 40", n, err)
	}
	b, _ = c.Budget(context.Background())
	if want := 5000 - 900 - 3; b.Remaining != want || b.Unit != "credits" {
		t.Errorf("budget = %+v, want %d credits left", b, want)
	}
	cost, ok := c.SyncCost(helpdesk.EntityTimeEntries, -1, 5000)
	if !ok || cost.Requests != 5051 || cost.Units != 3*5051 {
		t.Errorf("time entries of 5,000 tickets cost %+v, %v; want 5,051 requests, 15,153 credits", cost, ok)
	}
}
