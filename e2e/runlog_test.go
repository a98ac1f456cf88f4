package e2e

import (
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestRunLogAfterApplyAndShutdown: apply records its picklist refresh as
// a sync run; the daemon started right after apply backfills nothing a
// second time; SIGTERM in the middle of a backfill records the run as
// cancelled, not failed.
func TestRunLogAfterApplyAndShutdown(t *testing.T) {
	for _, provider := range []string{"connectwise", "autotask", "zohodesk", "halopsa"} {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			runLogAfterApply(t, provider)
		})
	}
}

func runLogAfterApply(t *testing.T, provider string) {
	sb := startSandbox(t, provider, 300, 11, time.Time{}, time.Minute)
	dir := t.TempDir()
	file := writeConfig(t, dir, sb, "sync:\n  entities: [tickets, contacts, companies]\n  pollInterval: 24h\n")
	db := filepath.Join(dir, "horizon.db")
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	env := sb.env(db, "HORIZON_LISTEN_ADDR="+listen)

	run(t, env, 2*time.Minute, "apply", "-f", file)
	afterApply := logsSync(t, env, file)
	backfills := map[string]int{}
	refreshed := false
	for _, r := range afterApply {
		if r.Trigger == "backfill" {
			backfills[r.Entity]++
		}
		refreshed = refreshed || r.Entity == "picklists" && r.Trigger == "reconcile" && r.Outcome == "ok"
	}
	if !refreshed {
		t.Errorf("apply refreshed the picklists but logs sync shows no reconcile run of picklists: %+v", afterApply)
	}

	d := startDaemon(t, env, file, "http://"+listen, "daemon")
	poll(t, time.Minute, "the daemon's first poll", func() (bool, error) {
		for _, r := range logsSync(t, env, file) {
			if r.Trigger == "poll" && r.Entity == "members" && !r.FinishedAt.IsZero() {
				return true, nil
			}
		}
		return false, d.failure()
	})
	_ = d.proc.cmd.Process.Signal(syscall.SIGTERM)
	d.proc.wait(t, time.Minute)
	for _, r := range logsSync(t, env, file) {
		if r.Trigger == "backfill" && r.ID > afterApply[0].ID {
			t.Errorf("the daemon started after apply backfilled %s again: %+v", r.Entity, r)
		}
		if r.Outcome == "failed" || r.Outcome == "interrupted" {
			t.Errorf("run %d (%s %s) %s: %s", r.ID, r.Trigger, r.Entity, r.Outcome, r.Error)
		}
	}
}

// TestSIGTERMDuringBackfillIsCancelled stops the daemon with SIGTERM while
// a slow PSA's backfill is part-way: the run shows cancelled.
func TestSIGTERMDuringBackfillIsCancelled(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, "halopsa", 3000, 12, time.Time{}, time.Minute, "--rate-limit", "5")
	dir := t.TempDir()
	file := writeConfig(t, dir, sb, "sync:\n  entities: [tickets]\n  ingestWindow: 1825d\n")
	db := filepath.Join(dir, "horizon.db")
	env := sb.env(db, fmt.Sprintf("HORIZON_LISTEN_ADDR=127.0.0.1:%d", freePort(t)))
	d := start(t, "daemon", env, "run", "-f", file)
	ro := openReadOnly(t, db)
	poll(t, 2*time.Minute, "a committed page of the tickets backfill", func() (bool, error) {
		if d.exited() {
			return false, fmt.Errorf("daemon exited: %v\n%s", d.state, tail(d.stderr.String(), 20))
		}
		return queryInt(ro, "SELECT count(*) FROM tickets") > 0, nil
	})
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	d.wait(t, time.Minute)
	var found bool
	for _, r := range logsSync(t, env, file) {
		if r.Entity == "tickets" && r.Trigger == "backfill" {
			found = true
			if r.Outcome != "cancelled" || r.Created == 0 {
				t.Errorf("backfill stopped by SIGTERM: %+v, want cancelled with the pages it stored", r)
			}
		}
		if r.Outcome == "failed" {
			t.Errorf("run %d (%s %s) failed on a graceful shutdown: %s", r.ID, r.Trigger, r.Entity, r.Error)
		}
	}
	if !found {
		t.Error("no tickets backfill in logs sync")
	}
}
