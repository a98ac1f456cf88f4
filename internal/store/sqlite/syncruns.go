package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/record"
)

// UpdateSyncRun records a running run's counts so far.
func (s *Store) UpdateSyncRun(ctx context.Context, sc store.Scope, r store.SyncRun) error {
	res, err := s.wst.ExecContext(ctx, `UPDATE sync_runs SET finished_at = NULL, created = ?, updated = ?, unchanged = ?,
  failed = ?, error = ?, outcome = ?, skipped = ?, skips = ?, requests = ?, paused_ms = ? WHERE account = ? AND provider = ? AND id = ?`,
		record.ProgressSyncRunArgs(sc, r)...)
	if err == nil {
		err = oneRow(res, fmt.Sprintf("sync run %d", r.ID))
	}
	if err != nil {
		return fmt.Errorf("sqlite: update sync run: %w", err)
	}
	return nil
}

// InterruptSyncRuns marks unfinished runs of e started before before as
// interrupted.
func (s *Store) InterruptSyncRuns(ctx context.Context, sc store.Scope, e helpdesk.Entity, before, at time.Time) (int, error) {
	res, err := s.wst.ExecContext(ctx, `UPDATE sync_runs SET finished_at = ?, outcome = ?
WHERE account = ? AND provider = ? AND entity = ? AND ticket_id = '' AND finished_at IS NULL AND started_at < ?`,
		times.Bind(at), store.RunInterrupted, sc.Account, sc.Provider, string(e), times.Bind(before))
	if err != nil {
		return 0, fmt.Errorf("sqlite: interrupt sync runs: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// PruneCallbacks deletes processed, rejected, failed and duplicate
// callbacks received before before.
func (s *Store) PruneCallbacks(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.prune(ctx, "callback_log", `received_at < ? AND result <> 'accepted'`, before, limit)
}

// PruneSyncRuns deletes sync runs started before before.
func (s *Store) PruneSyncRuns(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.prune(ctx, "sync_runs", `started_at < ?`, before, limit)
}

// PruneOutbox deletes done and dead outbox items created before before.
func (s *Store) PruneOutbox(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.prune(ctx, "outbox", `created_at < ? AND state IN ('done', 'dead')`, before, limit)
}

func (s *Store) prune(ctx context.Context, table, where string, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	res, err := s.wexec(ctx, `DELETE FROM `+table+` WHERE id IN (SELECT id FROM `+table+` WHERE `+where+` LIMIT ?)`,
		times.Bind(before), limit)
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune %s: %w", table, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
