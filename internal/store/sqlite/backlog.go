package sqlite

import (
	"context"
	"fmt"

	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/query"
	"github.com/horizon/reconciler/internal/store/internal/record"
)

// OutboxBacklogs returns every scope's live outbox in one query over the
// live rows' partial index.
func (s *Store) OutboxBacklogs(ctx context.Context) (map[store.Scope]store.OutboxBacklog, error) {
	bs, err := queryAll(ctx, s.rst, times.Backlog, query.OutboxBacklogs)
	if err != nil {
		return nil, fmt.Errorf("sqlite: outbox backlogs: %w", err)
	}
	return record.BacklogsByScope(bs), nil
}
