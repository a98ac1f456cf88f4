package sqlite

import (
	"context"
	"fmt"

	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/norm"
)

// RecordWidgetCheck stores a widget check. A check older than the stored
// one is ignored. The last success and last error are kept across checks
// that do not replace them.
func (s *Store) RecordWidgetCheck(ctx context.Context, sc store.Scope, c store.WidgetCheck) error {
	c.CheckedAt = norm.Or(c.CheckedAt, s.now)
	ok, failed := norm.Widget(c)
	_, err := s.w.ExecContext(ctx, `INSERT INTO widget_checks (account, provider, name, url, up, checked_at,
  last_success, last_error, last_error_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (account, provider, name) DO UPDATE SET url = excluded.url, up = excluded.up,
  checked_at = excluded.checked_at,
  last_success = coalesce(excluded.last_success, widget_checks.last_success),
  last_error = CASE WHEN excluded.last_error_at IS NULL THEN widget_checks.last_error ELSE excluded.last_error END,
  last_error_at = coalesce(excluded.last_error_at, widget_checks.last_error_at)
WHERE excluded.checked_at >= widget_checks.checked_at`,
		scope(sc, c.Name, c.URL, c.Up, ts(c.CheckedAt), tsOpt(ok), c.LastError, tsOpt(failed))...)
	if err != nil {
		return fmt.Errorf("sqlite: record widget check %s: %w", c.Name, err)
	}
	return nil
}

// WidgetChecks returns the latest check of every widget, by name.
func (s *Store) WidgetChecks(ctx context.Context, sc store.Scope) ([]store.WidgetCheck, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, url, up, checked_at, last_success, last_error, last_error_at
FROM widget_checks WHERE account = ? AND provider = ? ORDER BY name`, scope(sc)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: widget checks: %w", err)
	}
	defer rows.Close()
	var out []store.WidgetCheck
	for rows.Next() {
		var c store.WidgetCheck
		var checked, ok, failed tsScan
		if err := rows.Scan(&c.Name, &c.URL, &c.Up, &checked, &ok, &c.LastError, &failed); err != nil {
			return nil, fmt.Errorf("sqlite: widget checks: %w", err)
		}
		c.CheckedAt, c.LastSuccess, c.LastErrorAt = checked.t, ok.t, failed.t
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: widget checks: %w", err)
	}
	return out, nil
}
