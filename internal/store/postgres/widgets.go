package postgres

import (
	"context"
	"fmt"

	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/norm"
	"github.com/horizon/reconciler/internal/store/internal/record"
)

// RecordWidgetCheck stores a widget check. A check older than the stored
// one is ignored. The last success and last error are kept across checks
// that do not replace them.
func (s *Store) RecordWidgetCheck(ctx context.Context, sc store.Scope, c store.WidgetCheck) error {
	c.CheckedAt = norm.Or(c.CheckedAt, s.now)
	ok, failed := norm.Widget(c)
	_, err := s.pool.Exec(ctx, `INSERT INTO widget_checks AS w (account, provider, name, url, up, checked_at,
  last_success, last_error, last_error_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (account, provider, name) DO UPDATE SET url = EXCLUDED.url, up = EXCLUDED.up,
  checked_at = EXCLUDED.checked_at,
  last_success = coalesce(EXCLUDED.last_success, w.last_success),
  last_error = CASE WHEN EXCLUDED.last_error_at IS NULL THEN w.last_error ELSE EXCLUDED.last_error END,
  last_error_at = coalesce(EXCLUDED.last_error_at, w.last_error_at)
WHERE EXCLUDED.checked_at >= w.checked_at`,
		times.WidgetCheckArgs(sc, c, ok, failed)...)
	if err != nil {
		return fmt.Errorf("postgres: record widget check %s: %w", c.Name, err)
	}
	return nil
}

// WidgetChecks returns the latest check of every widget, by name.
func (s *Store) WidgetChecks(ctx context.Context, sc store.Scope) ([]store.WidgetCheck, error) {
	out, err := queryAll(ctx, s.pool, times.WidgetCheck, "SELECT "+record.WidgetCheckColumns+
		" FROM widget_checks WHERE account = $1 AND provider = $2 ORDER BY name", sc.Account, sc.Provider)
	if err != nil {
		return nil, fmt.Errorf("postgres: widget checks: %w", err)
	}
	return out, nil
}
