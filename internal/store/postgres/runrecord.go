package postgres

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
	err := s.pool.QueryRow(ctx, `INSERT INTO sync_runs (`+record.RecordSyncRunColumns+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id`,
		times.RecordSyncRunArgs(sc, r)...).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("postgres: record sync run: %w", err)
	}
	return id, nil
}
