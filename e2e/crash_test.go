package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	sbzoho "github.com/horizon/reconciler/internal/helpdesk/sandbox/zohodesk"
	"github.com/horizon/reconciler/internal/store"
)

// crashCase sizes one provider's crash test: enough tickets for several
// pages (ConnectWise 1,000 a page, Autotask 500, Zoho Desk and HaloPSA
// 100) at the provider's real client-side rate limit (ConnectWise 10
// requests/s, Autotask and Zoho Desk 2, HaloPSA 1), which the binary keeps.
// Zoho Desk and HaloPSA list time entries ticket by ticket, one request
// each, so they sync no time entries here.
//
// Zoho Accounts grants at most 10 access tokens per refresh token in 10
// minutes, and the sandbox enforces it; every `reconciler sync` process
// takes a new token. So Zoho Desk's scenarios each get a sandbox process
// of their own, with the same --tickets, --seed and --now: the same data.
type crashCase struct {
	provider string
	tickets  int
	entities []helpdesk.Entity
	seed     uint64
	// sandboxPerScenario starts a new sandbox process for each scenario.
	sandboxPerScenario bool
	// resumable: the client resumes an interrupted backfill after its
	// last committed page (syncer.Resumer).
	resumable bool
}

var crashCases = []crashCase{
	{"connectwise", 3000, allEntities, 101, false, true},
	{"autotask", 3000, allEntities, 102, false, true},
	{"zohodesk", 1000, refEntities, 103, true, false},
	{"halopsa", 500, refEntities, 104, false, false},
}

var (
	allEntities = []helpdesk.Entity{helpdesk.EntityTickets, helpdesk.EntityContacts, helpdesk.EntityCompanies, helpdesk.EntityTimeEntries}
	refEntities = []helpdesk.Entity{helpdesk.EntityTickets, helpdesk.EntityContacts, helpdesk.EntityCompanies}
	// countedEntities are compared by Count between stores.
	countedEntities = []helpdesk.Entity{helpdesk.EntityTickets, helpdesk.EntityContacts, helpdesk.EntityCompanies,
		helpdesk.EntityTimeEntries, helpdesk.EntityMembers}
)

// TestSyncCrashResume is the issue's "Crash-safe: kill -9 at any point,
// restart, and the result equals an uninterrupted run — nothing lost,
// nothing duplicated", with the real binary against a sandbox PSA process,
// for every provider.
//
// Per provider, one sandbox process serves a deterministic World (its
// --now pinned, so that the test generates the same World in-process).
// An uninterrupted `reconciler sync` fills a reference database. Then, each
// into a fresh database, `reconciler sync` is SIGKILLed at a kill point and
// run again to completion:
//
//   - when the tickets backfill's sync run row appears (plus 0-30 ms): the
//     first page is in flight;
//   - once the first page of tickets is committed (plus 0-10 ms): the
//     backfill is part-way, its watermark not yet written;
//   - at a random time within the uninterrupted run's duration (any
//     point: start-up, migration, any entity, picklists);
//   - three times in a row, each a random time into a backfill run
//     (tickets, tickets again, then time entries where synced), each
//     restart redoing the interrupted backfill, then to completion.
//
// After each kill, `reconciler logs sync -o json` must show the run that
// was in flight as unfinished (no finishedAt), and once a restart runs
// its entity again, as interrupted, with the counts it committed. The resumed database must then equal the reference object by
// object (every ticket's ExternalID, Summary, Status, UpdatedAt and
// Deleted; the count of every entity; members, picklists, watermarks),
// hold no duplicates, and match the sandbox's own data. Kill points are
// drawn from fixed seeds; -short keeps only the first-page kill point.
func TestSyncCrashResume(t *testing.T) {
	for _, c := range crashCases {
		t.Run(c.provider, func(t *testing.T) {
			t.Parallel()
			crashResume(t, c)
		})
	}
}

func crashResume(t *testing.T, c crashCase) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	sb := startSandbox(t, c.provider, c.tickets, int64(c.seed), now, time.Minute)
	dir := t.TempDir()
	names := make([]string, len(c.entities))
	for i, e := range c.entities {
		names[i] = string(e)
	}
	config := fmt.Sprintf("sync:\n  entities: [%s]\n  ingestWindow: 1825d\n", strings.Join(names, ", "))
	file := writeConfig(t, dir, sb, config)

	// The reference: one uninterrupted run.
	ref := filepath.Join(dir, "reference.db")
	began := time.Now()
	run(t, sb.env(ref), 5*time.Minute, "sync", "-f", file, "--quiet")
	full := time.Since(began)
	t.Logf("uninterrupted sync of %d tickets: %v", c.tickets, full.Round(time.Millisecond))
	world := sandbox.Generate(sandbox.GenOptions{Tickets: c.tickets, Seed: int64(c.seed), Now: now})
	refStore := openStore(t, ref)
	checkAgainstWorld(t, refStore, sb, world, c.entities)
	refRuns := logsSync(t, sb.env(ref), file)
	for _, r := range refRuns {
		if r.FinishedAt.IsZero() || r.Error != "" {
			t.Fatalf("reference run %d (%s %s) did not finish cleanly: %+v", r.ID, r.Trigger, r.Entity, r)
		}
	}

	ticketsRun := runDuration(t, refRuns, helpdesk.EntityTickets)
	r := rand.New(rand.NewPCG(c.seed, 0xe2e))
	jitter := func(d time.Duration) time.Duration { return time.Duration(r.Int64N(int64(d))) }
	type scenario struct {
		name  string
		kills []killPoint
	}
	scenarios := []scenario{
		{"kill at first tickets page", []killPoint{{name: "first tickets page committed", inFlight: "tickets",
			cond:  func(db *sql.DB, _ int) bool { return queryInt(db, "SELECT count(*) FROM tickets") > 0 },
			delay: jitter(10 * time.Millisecond)}}},
		{"kill at tickets run start", []killPoint{{name: "tickets run started", inFlight: "tickets",
			cond: runStarted(helpdesk.EntityTickets), delay: jitter(30 * time.Millisecond)}}},
		{"kill at a random time", []killPoint{{name: "random kill", delay: 50*time.Millisecond + jitter(max(full-50*time.Millisecond, time.Millisecond))}}},
	}
	var repeated []killPoint
	for i := range 3 {
		e := helpdesk.EntityTickets
		if i == 2 && slices.Contains(c.entities, helpdesk.EntityTimeEntries) {
			e = helpdesk.EntityTimeEntries
		}
		d := jitter(runDuration(t, refRuns, e))
		repeated = append(repeated, killPoint{name: fmt.Sprintf("kill %d, %v into a %s run", i+1, d.Round(time.Millisecond), e),
			cond: runStarted(e), delay: d})
	}
	scenarios = append(scenarios, scenario{"three kills in a row inside backfills", repeated})
	if testing.Short() {
		scenarios = scenarios[:1]
	}
	t.Logf("tickets backfill alone: %v", ticketsRun.Round(time.Millisecond))
	for i, sc := range scenarios {
		t.Run(strings.ReplaceAll(sc.name, " ", "_"), func(t *testing.T) {
			db := filepath.Join(dir, fmt.Sprintf("resumed-%d.db", i))
			sb, file := sb, file
			if c.sandboxPerScenario {
				sb = startSandbox(t, c.provider, c.tickets, int64(c.seed), now, time.Minute)
				file = writeConfig(t, t.TempDir(), sb, config)
			}
			env := sb.env(db)
			unfinished := map[int64]syncRun{}
			for _, kp := range sc.kills {
				killed := killSync(t, env, file, db, kp)
				runs := logsSync(t, env, file)
				var fresh []syncRun
				for _, r := range runs {
					if _, seen := unfinished[r.ID]; r.FinishedAt.IsZero() && !seen {
						fresh = append(fresh, r)
						unfinished[r.ID] = r
					}
				}
				switch {
				case !killed:
					t.Logf("%s: the sync had finished before the kill", kp.name)
				case kp.inFlight != "":
					// The kill point saw this run in flight: it must be
					// the one, and the newest, unfinished run.
					if len(fresh) != 1 || fresh[0].Entity != kp.inFlight || fresh[0].ID != runs[0].ID {
						t.Fatalf("%s: want exactly the %s run unfinished in logs sync, got new unfinished %+v of runs %+v",
							kp.name, kp.inFlight, fresh, runs)
					}
				case len(fresh) > 1:
					t.Fatalf("%s: one process left %d unfinished runs: %+v", kp.name, len(fresh), fresh)
				}
				if killed {
					t.Logf("%s: killed with %d unfinished run(s) %v", kp.name, len(fresh), entitiesOf(fresh))
				}
			}
			run(t, env, 5*time.Minute, "sync", "-f", file, "--quiet")
			runs := logsSync(t, env, file)
			checkRunLog(t, runs, unfinished, c.entities)
			if i == 0 && len(unfinished) > 0 {
				checkResumed(t, c, refRuns, runs)
			}
			compareStores(t, refStore, openStore(t, db), sb.scope(), c.entities)
		})
	}
}

// checkResumed checks the tickets backfill that ended after a kill at its
// first committed page: where the client resumes, it made fewer requests
// and read fewer records than the uninterrupted backfill (only the pages
// not yet committed); elsewhere it read them all again.
func checkResumed(t *testing.T, c crashCase, refRuns, runs []syncRun) {
	t.Helper()
	backfill := func(runs []syncRun) (syncRun, bool) {
		for _, r := range runs { // newest first
			if r.Entity == string(helpdesk.EntityTickets) && r.Trigger == store.TriggerBackfill && r.Outcome == store.RunOK {
				return r, true
			}
		}
		return syncRun{}, false
	}
	full, ok1 := backfill(refRuns)
	restart, ok2 := backfill(runs)
	if !ok1 || !ok2 {
		t.Fatalf("no finished tickets backfill in the reference (%v) or after the restart (%v)", ok1, ok2)
	}
	records := func(r syncRun) int { return r.Created + r.Updated + r.Unchanged }
	t.Logf("tickets backfill: %d records in %d requests uninterrupted, %d in %d after the restart",
		records(full), full.Requests, records(restart), restart.Requests)
	switch {
	case c.resumable && (records(restart) >= records(full) || restart.Requests >= full.Requests):
		t.Errorf("the restarted backfill read %d records in %d requests, want fewer than the %d in %d of a whole one: it did not resume",
			records(restart), restart.Requests, records(full), full.Requests)
	case !c.resumable && (records(restart) != records(full) || restart.Requests < full.Requests):
		t.Errorf("the restarted backfill read %d records in %d requests, want all %d again in at least %d",
			records(restart), restart.Requests, records(full), full.Requests)
	}
}

// killPoint is where a sync is killed: delay after cond first holds on the
// database being written (polled read-only), or delay after the start
// when cond is nil. cond gets the highest sync run ID from before the
// process started. inFlight names the entity whose run cond sees in
// flight, when the kill is sure to land inside that run.
type killPoint struct {
	name     string
	cond     func(db *sql.DB, lastRun int) bool
	delay    time.Duration
	inFlight string
}

// runStarted holds once the process under test started a run of e.
func runStarted(e helpdesk.Entity) func(*sql.DB, int) bool {
	return func(db *sql.DB, lastRun int) bool {
		return queryInt(db, "SELECT count(*) FROM sync_runs WHERE entity = ? AND finished_at IS NULL AND id > ?", string(e), lastRun) > 0
	}
}

// runDuration is how long the (uninterrupted) run of e took.
func runDuration(t *testing.T, runs []syncRun, e helpdesk.Entity) time.Duration {
	t.Helper()
	for _, r := range runs {
		if r.Entity == string(e) {
			return max(r.FinishedAt.Sub(r.StartedAt), time.Millisecond)
		}
	}
	t.Fatalf("no %s run in %+v", e, runs)
	return 0
}

// killSync starts `reconciler sync` on db and SIGKILLs it at kp. It
// reports false when the sync had already exited (successfully) before
// the kill point.
func killSync(t *testing.T, env []string, file, db string, kp killPoint) bool {
	t.Helper()
	ro := openReadOnly(t, db)
	lastRun := max(queryInt(ro, "SELECT coalesce(max(id), 0) FROM sync_runs"), 0)
	p := start(t, "sync", env, "sync", "-f", file, "--quiet")
	if kp.cond != nil {
		poll(t, 2*time.Minute, kp.name, func() (bool, error) {
			exited := p.exited() // before cond: a process may reach the point and exit between two polls
			if kp.cond(ro, lastRun) {
				return true, nil
			}
			if exited && p.state.Success() {
				return true, nil // done before the point: reported below as not killed
			}
			if exited {
				return false, fmt.Errorf("the sync exited (%v) before the kill point\nstderr:\n%s", p.state, tail(p.stderr.String(), 20))
			}
			return false, nil
		})
	}
	ro.Close()
	select {
	case <-p.done:
	case <-time.After(kp.delay):
	}
	p.kill()
	if p.killedBySignal() {
		return true
	}
	if !p.state.Success() {
		t.Fatalf("sync failed on its own: %v\nstderr:\n%s", p.state, tail(p.stderr.String(), 20))
	}
	return false
}

func entitiesOf(runs []syncRun) []string {
	var out []string
	for _, r := range runs {
		out = append(out, r.Trigger+" "+r.Entity)
	}
	return out
}

// checkRunLog checks the sync run log after the final, completed run: the
// runs the kills left unfinished now show as interrupted (the restart
// ran their entities again), no other run is unfinished, and the newest
// run of every entity finished without error.
func checkRunLog(t *testing.T, runs []syncRun, killed map[int64]syncRun, entities []helpdesk.Entity) {
	t.Helper()
	newest := map[string]syncRun{}
	for _, r := range runs {
		_, wasKilled := killed[r.ID]
		switch {
		case wasKilled && r.Outcome != store.RunInterrupted:
			t.Errorf("run %d (%s %s) was killed but does not show interrupted: %+v", r.ID, r.Trigger, r.Entity, r)
		case !wasKilled && r.FinishedAt.IsZero():
			t.Errorf("run %d (%s %s) unfinished, but no kill interrupted it", r.ID, r.Trigger, r.Entity)
		case !wasKilled && r.Error != "":
			t.Errorf("run %d (%s %s) failed: %s", r.ID, r.Trigger, r.Entity, r.Error)
		}
		if _, ok := newest[r.Entity]; !ok {
			newest[r.Entity] = r // runs are newest first
		}
	}
	want := append(slices.Clone(entities), helpdesk.EntityMembers, helpdesk.EntityPicklists)
	for _, e := range want {
		r, ok := newest[string(e)]
		if !ok || r.FinishedAt.IsZero() || r.Error != "" {
			t.Errorf("newest %s run did not finish cleanly: %+v", e, r)
		}
	}
}

// compareStores checks that got holds exactly what ref holds: every
// ticket field by field, the count of every entity, members, picklists
// and watermarks.
func compareStores(t *testing.T, ref, got store.Store, sc store.Scope, entities []helpdesk.Entity) {
	t.Helper()
	ctx := context.Background()
	for _, e := range countedEntities {
		want, err1 := ref.Count(ctx, sc, e)
		have, err2 := got.Count(ctx, sc, e)
		if err1 != nil || err2 != nil || want != have {
			t.Errorf("count %s: resumed %d (%v), uninterrupted %d (%v)", e, have, err2, want, err1)
		}
	}
	wantT, gotT := allTickets(t, ref, sc), allTickets(t, got, sc)
	if len(wantT) != len(gotT) {
		t.Errorf("resumed store has %d tickets, uninterrupted %d", len(gotT), len(wantT))
	}
	diffs := 0
	for i := range min(len(wantT), len(gotT)) {
		w, g := wantT[i], gotT[i]
		var d []string
		if g.ExternalID != w.ExternalID {
			d = append(d, fmt.Sprintf("ExternalID %q, want %q", g.ExternalID, w.ExternalID))
		}
		if g.Summary != w.Summary {
			d = append(d, fmt.Sprintf("Summary %q, want %q", g.Summary, w.Summary))
		}
		if g.Status != w.Status || g.Closed != w.Closed {
			d = append(d, fmt.Sprintf("Status %+v closed %v, want %+v closed %v", g.Status, g.Closed, w.Status, w.Closed))
		}
		if !g.UpdatedAt.Equal(w.UpdatedAt) {
			d = append(d, fmt.Sprintf("UpdatedAt %v, want %v", g.UpdatedAt, w.UpdatedAt))
		}
		if g.Deleted != w.Deleted {
			d = append(d, fmt.Sprintf("Deleted %v, want %v", g.Deleted, w.Deleted))
		}
		gr, wr := g, w
		gr.Raw, wr.Raw = nil, nil
		if len(d) == 0 && (!reflect.DeepEqual(gr, wr) || !bytes.Equal(g.Raw, w.Raw)) {
			d = append(d, fmt.Sprintf("other fields differ:\n  got  %+v\n  want %+v", gr, wr))
		}
		if len(d) > 0 {
			if diffs++; diffs <= 10 {
				t.Errorf("ticket %d (%s): %s", i, w.ExternalID, strings.Join(d, "; "))
			}
		}
	}
	if diffs > 10 {
		t.Errorf("... %d tickets differ in all", diffs)
	}

	wantM, err1 := ref.Members(ctx, sc)
	gotM, err2 := got.Members(ctx, sc)
	sortMembers := func(ms []helpdesk.Member) {
		slices.SortFunc(ms, func(a, b helpdesk.Member) int { return strings.Compare(a.ExternalID, b.ExternalID) })
	}
	sortMembers(wantM)
	sortMembers(gotM)
	if err1 != nil || err2 != nil || !reflect.DeepEqual(wantM, gotM) {
		t.Errorf("members differ (%v, %v):\n  resumed       %+v\n  uninterrupted %+v", err2, err1, gotM, wantM)
	}
	wantP, _, err1 := ref.Picklists(ctx, sc)
	gotP, _, err2 := got.Picklists(ctx, sc)
	if err1 != nil || err2 != nil || !reflect.DeepEqual(wantP, gotP) {
		t.Errorf("picklists differ (%v, %v):\n  resumed       %+v\n  uninterrupted %+v", err2, err1, gotP, wantP)
	}
	for _, e := range entities {
		w, err1 := ref.Watermark(ctx, sc, e)
		g, err2 := got.Watermark(ctx, sc, e)
		// BackfilledFrom is "now minus the ingest window" of each run:
		// only set, never equal across runs.
		if err1 != nil || err2 != nil || !g.UpdatedThrough.Equal(w.UpdatedThrough) || g.Cursor != w.Cursor ||
			g.BackfilledFrom.IsZero() != w.BackfilledFrom.IsZero() {
			t.Errorf("watermark %s: resumed %+v (%v), uninterrupted %+v (%v)", e, g, err2, w, err1)
		}
	}
}

// allTickets reads every stored ticket and checks the iterator's order:
// strictly increasing external IDs, so no ticket is stored twice.
func allTickets(t *testing.T, st store.Store, sc store.Scope) []helpdesk.Ticket {
	t.Helper()
	var out []helpdesk.Ticket
	for tk, err := range st.Tickets(context.Background(), sc) {
		if err != nil {
			t.Fatalf("tickets: %v", err)
		}
		if n := len(out); n > 0 && out[n-1].ExternalID >= tk.ExternalID {
			t.Fatalf("tickets out of order or duplicated: %q then %q", out[n-1].ExternalID, tk.ExternalID)
		}
		out = append(out, tk)
	}
	if n, err := st.Count(context.Background(), sc, helpdesk.EntityTickets); err != nil || n != len(out) {
		t.Fatalf("Count(tickets) = %d (%v), iterated %d", n, err, len(out))
	}
	return out
}

// checkAgainstWorld compares a store with the World the sandbox serves
// (generated here from the same tickets, seed and --now): every live
// ticket by ID, summary, status, last-updated time (to the second: some
// PSAs send whole seconds) and not deleted, and the number of records of
// every entity synced.
func checkAgainstWorld(t *testing.T, st store.Store, sb *sandboxPSA, w *sandbox.World, entities []helpdesk.Entity) {
	t.Helper()
	ctx := context.Background()
	statuses := map[int64]string{}
	for _, q := range w.Queues() {
		for _, s := range q.Statuses {
			statuses[s.ID] = s.Name
		}
	}
	live, _ := w.QueryTickets(sandbox.TicketQuery{})
	want := map[string]sandbox.Ticket{}
	timeEntries := 0
	for _, tk := range live {
		want[wireID(sb.provider, tk.ID)] = tk
		timeEntries += len(w.TimeEntries(tk.ID))
	}
	// Autotask tickets carry only status values; the labels are in the
	// picklist database, as Horizon resolves them.
	labels := map[string]string{}
	pls, _, err := st.Picklists(ctx, sb.scope())
	if err != nil {
		t.Fatal(err)
	}
	for _, pl := range pls {
		if pl.Kind == helpdesk.PicklistStatus && pl.Scope == "" {
			for _, v := range pl.Values {
				labels[v.ID] = v.Name
			}
		}
	}
	got := allTickets(t, st, sb.scope())
	if len(got) != len(want) {
		t.Errorf("store has %d tickets, the sandbox %d", len(got), len(want))
	}
	bad := 0
	for _, g := range got {
		wt, ok := want[g.ExternalID]
		var d []string
		switch {
		case !ok:
			d = append(d, "not in the sandbox")
		default:
			if g.Summary != wt.Summary {
				d = append(d, fmt.Sprintf("summary %q, sandbox %q", g.Summary, wt.Summary))
			}
			name := g.Status.Name
			if name == "" {
				name = labels[g.Status.ID]
			}
			if name != statuses[wt.StatusID] {
				d = append(d, fmt.Sprintf("status %+v (%q), sandbox %q", g.Status, name, statuses[wt.StatusID]))
			}
			if dt := g.UpdatedAt.Sub(wt.Updated); dt > 0 || dt <= -time.Second {
				d = append(d, fmt.Sprintf("updated %v, sandbox %v", g.UpdatedAt, wt.Updated))
			}
			if g.Deleted {
				d = append(d, "deleted")
			}
		}
		if len(d) > 0 {
			if bad++; bad <= 10 {
				t.Errorf("ticket %s: %s", g.ExternalID, strings.Join(d, "; "))
			}
		}
	}
	counts := map[helpdesk.Entity]int{
		helpdesk.EntityContacts:    len(w.Contacts()),
		helpdesk.EntityCompanies:   len(w.Companies()),
		helpdesk.EntityTimeEntries: timeEntries,
		helpdesk.EntityMembers:     len(w.Members()),
	}
	for e, n := range counts {
		if e != helpdesk.EntityMembers && !slices.Contains(entities, e) {
			n = 0
		}
		if have, err := st.Count(ctx, sb.scope(), e); err != nil || have != n {
			t.Errorf("store has %d %s (%v), the sandbox %d", have, e, err, n)
		}
	}
}

// wireID is the external ID a provider's API gives a World record.
func wireID(provider string, id int64) string {
	if provider == "zohodesk" {
		return sbzoho.WireID(id)
	}
	return strconv.FormatInt(id, 10)
}
