package postgres

import (
	"regexp"
	"strings"
	"testing"

	"github.com/horizon/reconciler/internal/store/internal/query"
)

// TestOutboxBacklogsReadLiveRowsOnly: the fleet's backlog poll reads the
// few live rows through the partial index of live rows, never the done
// and dead rows retention keeps for 30 days, whether or not the table has
// statistics yet.
func TestOutboxBacklogsReadLiveRowsOnly(t *testing.T) {
	ctx := t.Context()
	s := openStore(t)
	for _, q := range []string{
		`INSERT INTO outbox (account, provider, key, kind, next_attempt, state, created_at, op, order_key, idem_key)
SELECT 'acct-' || (i % 1000), 'connectwise', 'k' || i, '', now() - interval '10 days',
  CASE WHEN i % 50 = 0 THEN 'dead' ELSE 'done' END, now() - i * interval '1 second', 'note.create', 't' || (i % 37), 'i' || i
FROM generate_series(1, 100000) i`,
		`INSERT INTO outbox (account, provider, key, kind, next_attempt, state, created_at, op, order_key, idem_key)
SELECT 'acct-' || (i % 3), 'connectwise', 'p' || i, '', now(), 'pending', now(), 'note.create', 't' || (i % 2), 'p' || i
FROM generate_series(1, 5) i`,
	} {
		if _, err := s.pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for _, stats := range []string{"no statistics", "ANALYZE"} {
		if stats == "ANALYZE" {
			if _, err := s.pool.Exec(ctx, "ANALYZE outbox"); err != nil {
				t.Fatal(err)
			}
		}
		plan := explainAnalyze(t, s, query.OutboxBacklogs)
		if testing.Verbose() {
			t.Logf("%s:\n%s", stats, plan)
		}
		if strings.Contains(plan, "Seq Scan") || !liveIndex.MatchString(plan) {
			t.Errorf("%s: the plan does not read outbox o through an index of live rows only:\n%s", stats, plan)
		}
		if strings.Contains(plan, "Rows Removed by Filter") {
			t.Errorf("%s: the plan reads rows it throws away:\n%s", stats, plan)
		}
	}
	got, err := s.OutboxBacklogs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Errorf("backlogs of %d scopes, want the 3 with pending writes: %v", len(got), got)
	}
}

// liveIndex matches a scan of outbox o through one of the partial
// indexes on live rows (WHERE state IN ('pending', 'inflight')).
var liveIndex = regexp.MustCompile(`Index (Only )?Scan using (outbox_due|outbox_order|outbox_live_key) on outbox o\b|` +
	`Bitmap Heap Scan on outbox o\b.*\n(\s+(Recheck Cond|Heap Blocks).*\n)*\s+->  Bitmap Index Scan on (outbox_due|outbox_order|outbox_live_key)\b`)

// explainAnalyze runs q under EXPLAIN ANALYZE and returns the plan.
func explainAnalyze(t *testing.T, s *Store, q string) string {
	t.Helper()
	rows, err := s.pool.Query(t.Context(), "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) "+q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, l)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "\n")
}
