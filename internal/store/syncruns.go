package store

import (
	"context"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// Sync run outcomes (SyncRun.Outcome).
const (
	RunOK     = "ok"
	RunFailed = "failed"
	// RunCancelled: the process was stopping (SIGTERM) and ended the run
	// after storing the batch in hand; the next run goes on from the
	// watermark.
	RunCancelled = "cancelled"
	// RunInterrupted: the run's process died (kill -9, a crash, a lost
	// node) before the run ended; its counts are what it committed.
	RunInterrupted = "interrupted"
)

// MaxSkips bounds SyncRun.Skips, so that a PSA sending thousands of bad
// records cannot grow one run's row without bound; Skipped counts all.
const MaxSkips = 50

// SkippedRecord is a record a sync left out, and why.
type SkippedRecord struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// SyncRunProgress keeps the sync run log true while runs are going and
// after their process dies.
type SyncRunProgress interface {
	// UpdateSyncRun records a running run's counts and skipped records
	// so far, and that it is running (undoing InterruptSyncRuns by
	// another process that took a live run for a dead one);
	// store.ErrNotFound when r.ID is not a run of the scope.
	UpdateSyncRun(ctx context.Context, s Scope, r SyncRun) error
	// InterruptSyncRuns marks the unfinished runs of entity e (one-ticket
	// runs excepted) started before before as interrupted, finished at
	// at, and returns how many it marked.
	InterruptSyncRuns(ctx context.Context, s Scope, e helpdesk.Entity, before, at time.Time) (int, error)
}
