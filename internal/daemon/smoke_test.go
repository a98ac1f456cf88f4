package daemon_test

import (
	"os"
	"strings"
	"testing"
)

// TestDaemonSmokeAfterRotation checks smoke.auto: turning it on runs no
// test (nothing risky changed), a rotated secret does, and the run is in
// the metrics.
func TestDaemonSmokeAfterRotation(t *testing.T) {
	r := start(t)
	eventually(t, "readyz", func() bool { s, _ := get(t, r.base+"/readyz"); return s == 200 })
	f, err := os.OpenFile(r.file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("smoke: {auto: true, callbackTimeout: 5s}\n")
	f.Close()
	r.reload <- struct{}{}
	waitEvent(t, r, "reload")
	waitEvent(t, r, "reconciled")
	if v := metric(t, r.base, "horizon_smoke_last_run_timestamp_seconds"); v != 0 {
		t.Fatalf("a smoke test ran after a reload that changed nothing risky (last run %v)", v)
	}

	t.Setenv("HORIZON_TEST_CALLBACK_SECRET", "rotated-secret-value-789")
	r.reload <- struct{}{}
	e := waitEvent(t, r, "smoke")
	if !strings.Contains(e.Message, "changed") || !strings.Contains(e.Message, "STEP") {
		t.Errorf("smoke event %q: want the reason and the table", e.Message)
	}
	if v := metric(t, r.base, "horizon_smoke_last_run_timestamp_seconds"); v <= 0 {
		t.Errorf("horizon_smoke_last_run_timestamp_seconds = %v after a run", v)
	}
}
