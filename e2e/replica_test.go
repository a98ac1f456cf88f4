package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSecondDaemonOnOneSQLiteFileIsRefused starts two daemons on one
// SQLite file: the second exits at once with an error naming the first
// (SQLite serves one replica), while the first keeps serving and the
// audit commands still read the file.
func TestSecondDaemonOnOneSQLiteFileIsRefused(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, "connectwise", 20, 7, time.Time{}, time.Minute)
	dir := t.TempDir()
	file := writeConfig(t, dir, sb, "sync:\n  entities: [tickets]\n  pollInterval: 24h\n")
	db := filepath.Join(dir, "horizon.db")
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	first := startDaemon(t, sb.env(db, "HORIZON_LISTEN_ADDR="+listen), file, "http://"+listen, "daemon 1")

	second := start(t, "daemon 2", sb.env(db, fmt.Sprintf("HORIZON_LISTEN_ADDR=127.0.0.1:%d", freePort(t))), "run", "-f", file)
	poll(t, time.Minute, "the second daemon to exit", func() (bool, error) { return second.exited(), nil })
	if second.state.Success() {
		t.Fatal("the second daemon on one SQLite file exited 0")
	}
	msg := second.stderr.String()
	pid := fmt.Sprintf("pid %d", first.proc.cmd.Process.Pid)
	for _, want := range []string{"in use by another reconciler daemon", pid, "PostgreSQL"} {
		if !strings.Contains(msg, want) {
			t.Errorf("second daemon's error does not say %q:\n%s", want, tail(msg, 10))
		}
	}
	if err := first.failure(); err != nil {
		t.Fatal(err)
	}
	if runs := logsSync(t, sb.env(db), file); len(runs) == 0 {
		t.Error("logs sync read no runs while the daemon runs")
	}
}
