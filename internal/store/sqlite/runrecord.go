package sqlite

import (
	"context"
	"fmt"

	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/norm"
	"github.com/horizon/reconciler/internal/store/internal/record"
)

// RecordSyncRun inserts a finished run (started and finished now when
// their times are zero) and returns its ID.
func (s *Store) RecordSyncRun(ctx context.Context, sc store.Scope, r store.SyncRun) (int64, error) {
	r.StartedAt = norm.Or(r.StartedAt, s.now)
	r.FinishedAt = norm.Or(r.FinishedAt, s.now)
	var id int64
	err := s.wst.QueryRowContext(ctx, `INSERT INTO sync_runs (`+record.RecordSyncRunColumns+`)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		times.RecordSyncRunArgs(sc, r)...).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("sqlite: record sync run: %w", err)
	}
	return id, nil
}
