package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/entity"
	"github.com/horizon/reconciler/internal/store/storetest"
)

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), freshDB(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ticketBatch(ts []helpdesk.Ticket) store.Batch {
	return store.Batch{Entity: helpdesk.EntityTickets, Tickets: ts}
}

// WriteBatch reaches stored rows through the primary-key index only,
// whatever the table size and statistics and whether the plan is custom
// or generic (a plan cached while the table was small must not scan it
// once it is large).
func TestWriteBatchPlans(t *testing.T) {
	ctx := t.Context()
	s := openStore(t)
	stored := 0
	for _, n := range []int{0, 300, 20_000} {
		all := storetest.Tickets("t", n, storetest.T0)
		for ; stored < n; stored += 1000 {
			if _, err := s.WriteBatch(ctx, storetest.Scope, ticketBatch(all[stored:min(stored+1000, n)])); err != nil {
				t.Fatal(err)
			}
		}
		_, rows, err := entity.Rows(new(ticketBatch(storetest.Tickets("t", 1000, storetest.T0))))
		if err != nil {
			t.Fatal(err)
		}
		q := batchSQLs[entity.Tickets]
		sc := storetest.Scope
		stmts := []struct {
			name, q string
			args    []any
		}{
			{"lookup", q.lookup, []any{sc.Account, sc.Provider, column[string](rows, 0), column[time.Time](rows, entity.Tickets.Updated)}},
			{"merge", q.merge, []any{sc.Account, sc.Provider}},
			{"small", smallSQL(entity.Tickets, 2, false), append(append([]any{sc.Account, sc.Provider}, rows[0]...), rows[1]...)},
		}
		for _, st := range stmts {
			for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
				plan := explain(t, s, mode, st.q, st.args)
				what := fmt.Sprintf("%s with %d stored rows, %s", st.name, n, mode)
				if testing.Verbose() {
					t.Logf("%s:\n%s", what, plan)
				}
				if strings.Contains(plan, "Seq Scan on tickets") || strings.Contains(plan, "Bitmap") || strings.Contains(plan, "JIT") {
					t.Errorf("%s: plan scans tickets:\n%s", what, plan)
				}
				if st.name == "lookup" && !regexp.MustCompile(`Index Scan using tickets_pkey on tickets t\s+Index Cond: \(\(account = \S+\) AND \(provider = \S+\) AND \(external_id = \(?u\.external_id`).MatchString(plan) {
					t.Errorf("%s: not one primary-key probe per row:\n%s", what, plan)
				}
			}
		}
	}
}

// explain returns the plan of q under the WriteBatch plan settings and a
// plan_cache_mode.
func explain(t *testing.T, s *Store, mode, q string, args []any) string {
	t.Helper()
	var plan []string
	conn, err := s.pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	tx, err := conn.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		tx.Rollback(context.Background())
		conn.Exec(context.Background(), "DEALLOCATE p")
	}()
	err = func() error {
		for _, set := range append(planSettings, jitOff, "SET LOCAL plan_cache_mode = "+mode, batchSQLs[entity.Tickets].create) {
			if _, err := tx.Exec(t.Context(), set); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(t.Context(), "PREPARE p AS "+q); err != nil {
			return err
		}
		// EXECUTE takes no bind parameters: pass literals.
		var types []string
		if err := tx.QueryRow(t.Context(), `SELECT parameter_types::text[] FROM pg_prepared_statements WHERE name = 'p'`).Scan(&types); err != nil {
			return err
		}
		ps := make([]string, len(args))
		for i, typ := range types {
			if err := tx.QueryRow(t.Context(), fmt.Sprintf("SELECT quote_literal($1::%s) || '::%s'", typ, typ), args[i]).Scan(&ps[i]); err != nil {
				return err
			}
		}
		for range 2 {
			plan = plan[:0]
			rows, err := tx.Query(t.Context(), "EXPLAIN (COSTS OFF) EXECUTE p("+strings.Join(ps, ", ")+")")
			if err != nil {
				return err
			}
			for rows.Next() {
				var l string
				if err := rows.Scan(&l); err != nil {
					return err
				}
				plan = append(plan, l)
			}
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	}()
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	return strings.Join(plan, "\n")
}

func mustWrite(t *testing.T, s *Store, ts ...helpdesk.Ticket) store.UpsertResult {
	t.Helper()
	res, err := s.WriteBatch(t.Context(), storetest.Scope, ticketBatch(ts))
	if err != nil {
		t.Fatalf("WriteBatch: %v", err)
	}
	return res
}

func wantResult(t *testing.T, got store.UpsertResult, created, updated, unchanged int) {
	t.Helper()
	if want := (store.UpsertResult{Created: created, Updated: updated, Unchanged: unchanged}); got != want {
		t.Fatalf("result %+v, want %+v", got, want)
	}
}

func wantSummary(t *testing.T, s *Store, id, summary string) {
	t.Helper()
	tk, err := s.Ticket(t.Context(), storetest.Scope, id)
	if err != nil {
		t.Fatalf("Ticket %s: %v", id, err)
	}
	if tk.Summary != summary {
		t.Fatalf("ticket %s: summary %q, want %q", id, tk.Summary, summary)
	}
}

// A writer that inserts a row between WriteBatch's lookup and its COPY
// makes the COPY fail; WriteBatch merges instead, with exact counts.
func TestWriteBatchInsertRace(t *testing.T) {
	s := openStore(t)
	s.smallBatch = 0                                              // the bulk path
	other := &Store{pool: s.pool, logPool: s.logPool, now: s.now} // another writer
	at := func(h int) time.Time { return storetest.T0.Add(time.Duration(h) * time.Hour) }
	mustWrite(t, s, storetest.Ticket("a", at(1), "a1"))
	var writes []string
	s.beforeWrite = func(m writeMode, copyRows bool) {
		writes = append(writes, fmt.Sprintf("%v copy=%v", m, copyRows))
		switch len(writes) {
		case 1: // b, older than the batch's, before the COPY
			mustWrite(t, other, storetest.Ticket("b", at(0), "b0"))
		case 2: // d, newer than the batch's, before the merge
			mustWrite(t, other, storetest.Ticket("d", at(2), "d2"))
		}
	}
	res := mustWrite(t, s, storetest.Ticket("a", at(1), "a1"), storetest.Ticket("b", at(1), "b1"),
		storetest.Ticket("c", at(1), "c1"), storetest.Ticket("d", at(1), "d1"))
	if want := []string{"lookUp copy=true", "lookUpMerge copy=false"}; !slices.Equal(writes, want) {
		t.Fatalf("writes %q, want %q", writes, want)
	}
	wantResult(t, res, 1, 1, 2) // c created; b updated; a identical, d newer
	for id, want := range map[string]string{"a": "a1", "b": "b1", "c": "c1", "d": "d2"} {
		wantSummary(t, s, id, want)
	}
}

// How WriteBatch writes a batch depends on the last one.
func TestWriteBatchModes(t *testing.T) {
	s := openStore(t)
	var writes []string
	s.beforeWrite = func(m writeMode, copyRows bool) { writes = append(writes, fmt.Sprintf("%v copy=%v", m, copyRows)) }
	step := func(what string, batch []helpdesk.Ticket, created, updated, unchanged int, want ...string) {
		t.Helper()
		writes = nil
		wantResult(t, mustWrite(t, s, batch...), created, updated, unchanged)
		if !slices.Equal(writes, want) {
			t.Fatalf("%s: writes %q, want %q", what, writes, want)
		}
	}
	newer := func(ts []helpdesk.Ticket) []helpdesk.Ticket {
		ts = slices.Clone(ts)
		for i := range ts {
			ts[i].UpdatedAt = ts[i].UpdatedAt.Add(time.Second)
			ts[i].Summary += " newer"
		}
		return ts
	}
	a := storetest.Tickets("a", copyAllMin, storetest.T0)
	step("first batch, new rows", a, copyAllMin, 0, 0, "lookUp copy=true")
	b := storetest.Tickets("b", copyAllMin, storetest.T0)
	step("after new rows", b, copyAllMin, 0, 0, "copyAll copy=true")
	mixed := append(newer(a[:10]), a[10:20]...)
	mixed = append(mixed, storetest.Tickets("c", 5, storetest.T0)...)
	step("stored rows after new rows", mixed, 5, 10, 10, "copyAll copy=true", "lookUp copy=false")
	wantSummary(t, s, a[0].ExternalID, a[0].Summary+" newer")
	a = newer(a)
	step("mostly updates after a mix", a, 0, copyAllMin-10, 10, "lookUp copy=false")
	a = newer(a)
	step("after mostly updates", a, 0, copyAllMin, 0, "mergeAll copy=false")
	step("unchanged after updates", a, 0, 0, copyAllMin, "mergeAll copy=false")
	step("after unchanged", append(a, storetest.Tickets("d", 3, storetest.T0)...), 3, 0, copyAllMin, "lookUp copy=true")
	step("only unchanged", a, 0, 0, copyAllMin)
}

// Many writers upsert random overlapping batches of new, newer, older
// and identical rows, in every mode: none fails (a deadlock would fail
// one), every row ends at its newest version and each is counted
// created exactly once.
func TestWriteBatchConcurrentMixed(t *testing.T) {
	for _, c := range []struct{ ids, size int }{{1500, 300}, {40, 8}} {
		t.Run(fmt.Sprintf("batch=%d", c.size), func(t *testing.T) { concurrentMixed(t, c.ids, c.size) })
	}
}

// concurrentMixed is TestWriteBatchConcurrentMixed with batches of size
// rows out of ids stored IDs (a size of at most DefaultSmallBatch takes
// writeSmall).
func concurrentMixed(t *testing.T, ids, size int) {
	const writers, rounds = 6, 15
	u := freshDB(t)
	var created atomic.Int64
	var modes sync.Map
	written := make([][]helpdesk.Ticket, writers)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		s, err := Open(t.Context(), u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		s.beforeWrite = func(m writeMode, copyRows bool) {
			n, _ := modes.LoadOrStore(fmt.Sprintf("%v copy=%v", m, copyRows), new(atomic.Int64))
			n.(*atomic.Int64).Add(1)
		}
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for r := range rounds {
				var batch []helpdesk.Ticket
				if r%3 == 0 { // new rows, overlapping other writers' new rows
					for _, i := range rng.Perm(2 * size)[:size] {
						batch = append(batch, storetest.Ticket(fmt.Sprintf("n%02d-%04d", r, i), storetest.T0, "new"))
					}
				} else {
					for _, i := range rng.Perm(ids)[:size] {
						v := r + rng.IntN(5) // mostly newer than stored
						batch = append(batch, storetest.Ticket(fmt.Sprintf("%05d", i), storetest.T0.Add(time.Duration(v)*time.Second), fmt.Sprintf("v%d", v)))
					}
				}
				res, err := s.WriteBatch(context.Background(), storetest.Scope, ticketBatch(batch))
				if err != nil {
					errs <- err
					return
				}
				if res.Created+res.Updated+res.Unchanged != len(batch) {
					errs <- fmt.Errorf("counts %+v do not add up to %d", res, len(batch))
					return
				}
				created.Add(int64(res.Created))
				written[w] = append(written[w], batch...)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	modes.Range(func(k, v any) bool {
		t.Logf("%s: %d", k, v.(*atomic.Int64).Load())
		return true
	})
	newest := map[string]time.Time{}
	for _, ts := range written {
		for _, tk := range ts {
			if at, ok := newest[tk.ExternalID]; !ok || tk.UpdatedAt.After(at) {
				newest[tk.ExternalID] = tk.UpdatedAt
			}
		}
	}
	if got := created.Load(); got != int64(len(newest)) {
		t.Fatalf("created %d rows in total, want %d", got, len(newest))
	}
	check, err := Open(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	n := 0
	for tk, err := range check.Tickets(t.Context(), storetest.Scope) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if !tk.UpdatedAt.Equal(newest[tk.ExternalID]) {
			t.Fatalf("ticket %s at %v, newest written %v", tk.ExternalID, tk.UpdatedAt, newest[tk.ExternalID])
		}
		if want := fmt.Sprintf("v%d", int(tk.UpdatedAt.Sub(storetest.T0)/time.Second)); tk.Summary != want && tk.Summary != "new" {
			t.Fatalf("ticket %s: summary %q, want %q", tk.ExternalID, tk.Summary, want)
		}
	}
	if n != len(newest) {
		t.Fatalf("%d tickets stored, want %d", n, len(newest))
	}
}

// Rows written by every mode, in batches larger than a COPY chunk and a
// COPY buffer, read back equal.
func TestWriteBatchRoundTrip(t *testing.T) {
	s := openStore(t)
	var writes []string
	s.beforeWrite = func(m writeMode, direct bool) { writes = append(writes, fmt.Sprintf("%v copy=%v", m, direct)) }
	want := map[string]helpdesk.Ticket{}
	write := func(ts []helpdesk.Ticket) {
		t.Helper()
		mustWrite(t, s, ts...)
		for _, tk := range ts {
			want[tk.ExternalID] = tk
		}
	}
	a := vary(storetest.Tickets("a", 1000, storetest.T0))
	write(a)                                                // lookUp, COPY
	write(vary(storetest.Tickets("b", 1000, storetest.T0))) // copyAll
	for i := range a {
		a[i].UpdatedAt = a[i].UpdatedAt.Add(time.Second)
		a[i].Description += " updated"
	}
	write(a[:500]) // copyAll fails, lookUp merges
	write(a[500:]) // mergeAll
	if want := []string{"lookUp copy=true", "copyAll copy=true", "copyAll copy=true", "lookUp copy=false", "mergeAll copy=false"}; !slices.Equal(writes, want) {
		t.Fatalf("writes %q, want %q", writes, want)
	}
	n := 0
	for tk, err := range s.Tickets(t.Context(), storetest.Scope) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if w := want[tk.ExternalID]; !reflect.DeepEqual(tk, w) {
			t.Fatalf("ticket %s:\n got %+v\nwant %+v", tk.ExternalID, tk, w)
		}
	}
	if n != len(want) {
		t.Fatalf("%d tickets, want %d", n, len(want))
	}
}

// vary gives tickets booleans both ways, NULL raw JSON, zero times and
// non-ASCII text.
func vary(ts []helpdesk.Ticket) []helpdesk.Ticket {
	for i := range ts {
		ts[i].Closed, ts[i].Deleted = i%2 == 0, i%3 == 0
		if i%5 == 0 {
			ts[i].Raw = nil
		}
		if i%7 == 0 {
			ts[i].CreatedAt = time.Time{}
			ts[i].Summary = "ünïcødé ✓ " + ts[i].Summary
		}
	}
	return ts
}

// sortRecords keeps the records entity.Dedupe keeps.
func TestSortRecordsDedupes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		var ts []helpdesk.Ticket
		for i := range rng.IntN(50) {
			// Nanoseconds below the stored precision make ties.
			at := storetest.T0.Add(time.Duration(rng.IntN(3))*time.Microsecond + time.Duration(rng.IntN(1000)))
			ts = append(ts, storetest.Ticket(fmt.Sprint(rng.IntN(10)), at, fmt.Sprint(i)))
		}
		b := ticketBatch(ts)
		recs, err := sortRecords(&b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := recs.rows(0, recs.n)
		if err != nil {
			t.Fatal(err)
		}
		_, want, _ := entity.Rows(&b)
		want, dropped := entity.Tickets.Dedupe(want)
		slices.SortFunc(want, func(a, b []any) int { return strings.Compare(a[0].(string), b[0].(string)) })
		if !reflect.DeepEqual(got, want) || recs.dropped != dropped {
			t.Fatalf("batch %v: kept %v (%d dropped), want %v (%d dropped)", ts, got, recs.dropped, want, dropped)
		}
	}
}

// The lookup tells a row as new as the stored one and identical (neither
// written nor locked) from one that differs in any column.
func TestWriteBatchLookupComparesEveryColumn(t *testing.T) {
	s := openStore(t)
	s.smallBatch = 0 // the bulk path
	var writes int
	s.beforeWrite = func(writeMode, bool) { writes++ }
	base := storetest.Ticket("1", storetest.T0, "same")
	base.Closed = true
	entry := helpdesk.TimeEntry{ExternalID: "e1", TicketID: "1", MemberID: "m1", Start: storetest.T0.Add(-time.Hour),
		Hours: 1.25, Notes: "n", Billable: true, UpdatedAt: storetest.T0, Raw: []byte(`{"a":1}`)}
	changes := map[string]func(*helpdesk.Ticket){
		"number": func(t *helpdesk.Ticket) { t.Number += "x" }, "summary": func(t *helpdesk.Ticket) { t.Summary += "x" },
		"status": func(t *helpdesk.Ticket) { t.Status.Name += "x" }, "closed": func(t *helpdesk.Ticket) { t.Closed = false },
		"created": func(t *helpdesk.Ticket) { t.CreatedAt = t.CreatedAt.Add(time.Microsecond) },
		"deleted": func(t *helpdesk.Ticket) { t.Deleted = true }, "raw": func(t *helpdesk.Ticket) { t.Raw = []byte(`{"b":2}`) },
		"raw null": func(t *helpdesk.Ticket) { t.Raw = nil }, "assignee": func(t *helpdesk.Ticket) { t.AssigneeID = "" },
	}
	entryChanges := map[string]func(*helpdesk.TimeEntry){
		"hours": func(e *helpdesk.TimeEntry) { e.Hours = 1.5 }, "billable": func(e *helpdesk.TimeEntry) { e.Billable = false },
		"start": func(e *helpdesk.TimeEntry) { e.Start = e.Start.Add(time.Second) },
	}
	entries := func(e ...helpdesk.TimeEntry) store.Batch {
		return store.Batch{Entity: helpdesk.EntityTimeEntries, TimeEntries: e}
	}
	for name, change := range changes {
		tk := base
		tk.ExternalID = name
		mustWrite(t, s, tk)
		writes = 0
		wantResult(t, mustWrite(t, s, tk), 0, 0, 1)
		if writes != 0 {
			t.Fatalf("%s: an identical row was written", name)
		}
		change(&tk)
		wantResult(t, mustWrite(t, s, tk), 0, 1, 0)
		if writes != 1 {
			t.Fatalf("%s: %d writes of a changed row", name, writes)
		}
	}
	for name, change := range entryChanges {
		e := entry
		e.ExternalID = name
		if _, err := s.WriteBatch(t.Context(), storetest.Scope, entries(e)); err != nil {
			t.Fatal(err)
		}
		writes = 0
		res, err := s.WriteBatch(t.Context(), storetest.Scope, entries(e))
		if err != nil {
			t.Fatal(err)
		}
		wantResult(t, res, 0, 0, 1)
		if writes != 0 {
			t.Fatalf("%s: an identical row was written", name)
		}
		change(&e)
		if res, err = s.WriteBatch(t.Context(), storetest.Scope, entries(e)); err != nil {
			t.Fatal(err)
		}
		wantResult(t, res, 0, 1, 0)
	}
}
