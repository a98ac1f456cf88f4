package reconcile

import (
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := syncChange(tt.entity, tt.wm, now.Add(-tt.window), tt.window)
			if got != tt.want {
				t.Fatalf("backfill planned = %v, want %v", got, tt.want)
			}
		})
	}
}
