package sqlite

import (
	"strings"
	"testing"

	"github.com/horizon/reconciler/internal/store/internal/query"
)

// TestOutboxBacklogsReadLiveRowsOnly: the fleet's backlog poll reads the
// live rows through a partial index of live rows, never the done and
// dead rows retention keeps for 30 days.
func TestOutboxBacklogsReadLiveRowsOnly(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, tempURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for _, q := range []string{
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
INSERT INTO outbox (account, provider, key, kind, next_attempt, state, created_at, op, order_key, idem_key)
SELECT 'acct-' || (i % 1000), 'connectwise', 'k' || i, '', '2024-03-01T12:00:00.000000Z',
  CASE WHEN i % 50 = 0 THEN 'dead' ELSE 'done' END, '2024-03-01T12:00:00.000000Z', 'note.create', 't' || (i % 37), 'i' || i FROM n`,
		`INSERT INTO outbox (account, provider, key, kind, next_attempt, state, created_at, op, order_key, idem_key)
VALUES ('acct-1', 'connectwise', 'p1', '', '2024-03-01T12:00:00.000000Z', 'pending', '2024-03-01T12:00:00.000000Z', 'note.create', 't', 'p1')`,
	} {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for _, stats := range []string{"no statistics", "ANALYZE"} {
		if stats == "ANALYZE" {
			if _, err := s.w.ExecContext(ctx, "ANALYZE"); err != nil {
				t.Fatal(err)
			}
		}
		rows, err := s.r.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query.OutboxBacklogs)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notUsed int
			var detail string
			if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		p := strings.Join(plan, "\n")
		if testing.Verbose() {
			t.Logf("%s:\n%s", stats, p)
		}
		if !strings.Contains(p, "SCAN o USING INDEX outbox_due") && !strings.Contains(p, "SCAN o USING INDEX outbox_order") {
			t.Errorf("%s: the plan does not read outbox o through an index of live rows only:\n%s", stats, p)
		}
	}
}
