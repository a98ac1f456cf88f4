package sqlite

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
	_, err := s.wexec(ctx, `INSERT INTO widget_checks (account, provider, name, url, up, checked_at,
  last_success, last_error, last_error_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (account, provider, name) DO UPDATE SET url = excluded.url, up = excluded.up,
  checked_at = excluded.checked_at,
  last_success = coalesce(excluded.last_success, widget_checks.last_success),
  last_error = CASE WHEN excluded.last_error_at IS NULL THEN widget_checks.last_error ELSE excluded.last_error END,
  last_error_at = coalesce(excluded.last_error_at, widget_checks.last_error_at)
WHERE excluded.checked_at >= widget_checks.checked_at`,
		times.WidgetCheckArgs(sc, c, ok, failed)...)
	if err != nil {
		return fmt.Errorf("sqlite: record widget check %s: %w", c.Name, err)
	}
	return nil
}

// WidgetChecks returns the latest check of every widget, by name.
func (s *Store) WidgetChecks(ctx context.Context, sc store.Scope) ([]store.WidgetCheck, error) {
	out, err := queryAll(ctx, s.r, times.WidgetCheck, "SELECT "+record.WidgetCheckColumns+
		" FROM widget_checks WHERE account = ? AND provider = ? ORDER BY name", scope(sc)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: widget checks: %w", err)
	}
	return out, nil
}
