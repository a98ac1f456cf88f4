package main

import (
	"os"
	"strings"
	"testing"
)

const ghostMapping = "  mappings:\n    - {helpdeskUser: nobody-here, horizonUser: x@horizon.example}\n"

// TestApplyRefusesPlanWithErrors: like Terraform, apply of a plan with
// errors changes nothing, says why and exits 1; once the file is fixed the
// same changes are still pending and apply does them.
func TestApplyRefusesPlanWithErrors(t *testing.T) {
	file, env := sandboxFile(t, strings.Replace(planTail, "  unmappedPolicy: ignore\n", "  unmappedPolicy: ignore\n"+ghostMapping, 1))
	code, stdout, stderr := run(t, env, "", "apply", "-f", file, "-q")
	if code != ExitInvalid {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, ExitInvalid, stdout, stderr)
	}
	for _, want := range []string{"Apply refused: the plan has 1 error; nothing was applied.", "! helpdesk user nobody-here:"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "Apply complete") || strings.Contains(stdout, ": done") {
		t.Errorf("a refused apply reports work done:\n%s", stdout)
	}
	if code, out, _ := run(t, env, "", "logs", "sync", "-f", file); code != ExitOK || !strings.Contains(out, "No sync runs.") {
		t.Errorf("a refused apply synced: exit %d\n%s", code, out)
	}

	data, _ := os.ReadFile(file)
	os.WriteFile(file, []byte(strings.Replace(string(data), ghostMapping, "", 1)), 0o600)
	code, stdout, _ = run(t, env, "", "plan", "-f", file, "--detailed-exitcode")
	if code != 2 || !strings.Contains(stdout, "+ ") {
		t.Fatalf("after the refusal the webhook must still be pending: exit %d\n%s", code, stdout)
	}
	if code, stdout, stderr = run(t, env, "", "apply", "-f", file, "-q"); code != ExitOK || !strings.Contains(stdout, "Apply complete") {
		t.Fatalf("apply of the fixed file: exit %d\n%s\n%s", code, stdout, stderr)
	}
}
