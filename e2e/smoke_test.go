package e2e

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// TestSmoke runs the real binary's `reconciler smoke` against a sandbox
// Autotask process while `reconciler run` serves the account: the test
// ticket is created in the PSA, its callback reaches the daemon, the
// daemon's write-back worker delivers the smoke test's writes, and the
// ticket is closed. The command must exit 0 with every step passed, and
// its JSON must name the ticket.
func TestSmoke(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Second)
	sb := startSandbox(t, "autotask", 40, 301, now, time.Minute)
	// The same world in-process, to name a technician to map.
	var member sandbox.Member
	for _, m := range sandbox.Generate(sandbox.GenOptions{Tickets: 40, Seed: 301, Now: now}).Members() {
		if m.Active && !m.APIUser {
			member = m
			break
		}
	}
	dir := t.TempDir()
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	base := "http://" + listen
	file := writeConfig(t, dir, sb, fmt.Sprintf(`sync:
  entities: [tickets, timeEntries]
  ingestWindow: 30d
userMappings:
  unmappedPolicy: ignore
  mappings:
    - {helpdeskUser: %s, horizonUser: jane@horizon.example}
callbacks:
  url: %s/callbacks/autotask
  secret: {env: E2E_CALLBACK_SECRET}
  events: [ticket.created, ticket.updated]
writeback: {enabled: true}
smoke:
  callbackTimeout: 30s
`, member.Email, base))
	secret := make([]byte, 16)
	rand.Read(secret)
	db := filepath.Join(dir, "horizon.db")
	env := sb.env(db, "HORIZON_LISTEN_ADDR="+listen, "E2E_CALLBACK_SECRET="+hex.EncodeToString(secret))
	d := startDaemon(t, env, file, base, "daemon")
	// Ready is not reconciled: wait for the first pass's backfill, or the
	// test ticket would arrive with it, and then for the first reconcile,
	// which registers the webhooks only after the backfill: a ticket made
	// before that has no webhook to call back.
	ro := openReadOnly(t, db)
	waitBackfill(t, ro, d)
	ro.Close()
	poll(t, 2*time.Minute, "the daemon's first reconcile (webhooks registered)", func() (bool, error) {
		return strings.Contains(d.proc.stderr.String(), `"msg":"reconciled"`), d.failure()
	})

	p := start(t, "smoke", env, "smoke", "-f", file, "-o", "json", "--timeout", "3m")
	poll(t, 5*time.Minute, "reconciler smoke to finish", func() (bool, error) { return p.exited(), d.failure() })
	var rep struct {
		Result   string
		TicketID string
		Steps    []struct{ Step, Result, Detail string }
	}
	if err := json.Unmarshal([]byte(p.stdout.String()), &rep); err != nil {
		t.Fatalf("smoke -o json: %v\nstdout:\n%s\nstderr:\n%s", err, p.stdout.String(), tail(p.stderr.String(), 30))
	}
	var got []string
	callback := ""
	for _, s := range rep.Steps {
		got = append(got, s.Step+"="+s.Result)
		t.Logf("%-8s %-4s %s", s.Step, s.Result, s.Detail)
		if s.Step == "callback" {
			callback = s.Detail
		}
	}
	// Every step must pass: the test ticket's ticket.created callback
	// reaches the daemon, which stores the ticket.
	const want = "connect=pass create=pass callback=pass status=pass note=pass assign=pass time=pass cleanup=pass"
	if steps := strings.Join(got, " "); steps != want || rep.Result != "passed" {
		t.Errorf("smoke: result %s, steps\n got %s\nwant %s", rep.Result, steps, want)
	}
	if !strings.Contains(callback, "arrived by callback after") {
		t.Errorf("callback step: %q, want the ticket brought by its callback", callback)
	}
	if code := p.state.ExitCode(); code != 0 {
		t.Errorf("smoke exited %d, want 0\nstderr:\n%s", code, tail(p.stderr.String(), 30))
	}
	if rep.TicketID == "" {
		t.Error("the report names no test ticket")
	}
	d.proc.cmd.Process.Signal(syscall.SIGTERM)
	d.proc.wait(t, time.Minute)
}

// waitBackfill waits until the daemon's backfill of tickets has finished
// and no sync runs.
func waitBackfill(t *testing.T, ro *sql.DB, d *daemon) {
	t.Helper()
	poll(t, 2*time.Minute, "the leader's backfill of tickets", func() (bool, error) {
		idle := queryInt(ro, "SELECT count(*) FROM sync_runs WHERE finished_at IS NULL") == 0
		done := queryInt(ro, "SELECT count(*) FROM sync_runs WHERE entity = 'tickets' AND finished_at IS NOT NULL AND error = ''")
		return idle && done > 0, d.failure()
	})
}
