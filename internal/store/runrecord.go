package store

import "context"

// SyncRunRecorder records a run that has already ended in one write, for
// runs too short to be worth showing as running (a one-ticket sync): one
// insert instead of StartSyncRun's and FinishSyncRun's two.
type SyncRunRecorder interface {
	// RecordSyncRun inserts a finished run with all its fields (r.ID
	// aside; StartedAt and FinishedAt now when zero) and returns its ID.
	RecordSyncRun(ctx context.Context, s Scope, r SyncRun) (int64, error)
}
