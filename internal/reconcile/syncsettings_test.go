package reconcile

import (
	"strings"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// TestSyncChangeMatchesTheSyncEngine checks that the plan announces a
// backfill exactly when the sync engine would run one.
func TestSyncChangeMatchesTheSyncEngine(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	const day = 24 * time.Hour
	backfilled := now.Add(-30 * day).Add(-time.Hour) // a 30d window backfilled an hour ago
	tests := []struct {
		name   string
		entity helpdesk.Entity
		wm     store.Watermark
		window time.Duration
		want   bool
	}{
		{"first ticket sync", helpdesk.EntityTickets, store.Watermark{}, 30 * day, true},
		{"same window, clock moved on", helpdesk.EntityTickets, store.Watermark{BackfilledFrom: backfilled, UpdatedThrough: now}, 30 * day, false},
		{"widened by half a day", helpdesk.EntityTickets, store.Watermark{BackfilledFrom: backfilled, UpdatedThrough: now}, 30*day + 12*time.Hour, true},
		{"narrowed", helpdesk.EntityTickets, store.Watermark{BackfilledFrom: backfilled, UpdatedThrough: now}, 7 * day, false},
		{"reference data, first sync", helpdesk.EntityContacts, store.Watermark{}, 30 * day, true},
		{"reference data, synced", helpdesk.EntityContacts, store.Watermark{UpdatedThrough: now}, 30 * day, false},
		{"notes, first sync", helpdesk.EntityNotes, store.Watermark{}, 30 * day, true},
		{"notes, part way", helpdesk.EntityNotes, store.Watermark{UpdatedThrough: now, Cursor: "17"}, 30 * day, true},
		{"notes, caught up", helpdesk.EntityNotes, store.Watermark{BackfilledFrom: backfilled, UpdatedThrough: now}, 30 * day, false},
		{"notes, window widened", helpdesk.EntityNotes, store.Watermark{BackfilledFrom: backfilled, UpdatedThrough: now}, 31 * day, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, got := syncChange(tt.entity, tt.wm, now.Add(-tt.window), tt.window)
			if got != tt.want {
				t.Fatalf("backfill planned = %v, want %v", got, tt.want)
			}
			if got && tt.entity == helpdesk.EntityNotes && !strings.Contains(c.Detail, "one request per stored ticket") {
				t.Errorf("notes backfill detail %q does not say its cost", c.Detail)
			}
		})
	}
}
