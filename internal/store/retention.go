package store

import (
	"context"
	"time"
)

// Retention deletes old audit rows, for every scope. Each method deletes
// at most limit rows (0 means all) so that a caller can delete in slices
// that never hold the database for long, and returns how many it deleted.
type Retention interface {
	// PruneCallbacks deletes callback log rows received before before,
	// except accepted ones (not yet processed).
	PruneCallbacks(ctx context.Context, before time.Time, limit int) (int, error)
	// PruneSyncRuns deletes sync runs started before before, ended or
	// not: a run left unfinished that long was cut by its process's end.
	PruneSyncRuns(ctx context.Context, before time.Time, limit int) (int, error)
	// PruneOutbox deletes done and dead outbox items created before
	// before.
	PruneOutbox(ctx context.Context, before time.Time, limit int) (int, error)
}
