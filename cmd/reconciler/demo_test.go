package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoEndToEnd runs the README's first command for each PSA: the
// daemon must apply the plan on its first reconcile and process callbacks
// for the simulated staff's edits.
func TestDemoEndToEnd(t *testing.T) {
	for _, p := range []string{"connectwise", "autotask", "zohodesk", "halopsa"} {
		t.Run(p, func(t *testing.T) {
			env := map[string]string{"HORIZON_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "demo.db")}
			code, stdout, stderr := run(t, env, "", "demo", "--provider", p, "--tickets", "60", "--duration", "8s",
				"--activity", "300ms", "--listen", "127.0.0.1:0", "--dir", t.TempDir())
			if code != ExitOK {
				t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
			}
			for _, want := range []string{": valid (" + p, "Plan: ", "Status pages: http://", "reconciled: ", "callback: ticket."} {
				if !strings.Contains(stdout, want) {
					t.Errorf("demo output lacks %q:\n%s", want, stdout)
				}
			}
			if strings.Contains(stdout, "FAILED") {
				t.Errorf("demo output reports a failure:\n%s", stdout)
			}
		})
	}
}
