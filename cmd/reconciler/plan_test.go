package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sandboxFile starts a sandbox ConnectWise and writes a horizon.yaml for
// it; it returns the file and the environment the commands need.
func sandboxFile(t *testing.T, tail string) (string, map[string]string) {
	t.Helper()
	file, env, _ := sandboxAccount(t, tail)
	return file, env
}

// sandboxFileWith is sandboxFile with the sandbox's flags.
func sandboxFileWith(t *testing.T, f sandboxFlags, tail string) (string, map[string]string) {
	t.Helper()
	file, env, _ := sandboxAccountWith(t, f, tail)
	return file, env
}

// sandboxAccount is sandboxFile that also returns the running sandbox.
func sandboxAccount(t *testing.T, tail string) (string, map[string]string, *startedSandbox) {
	t.Helper()
	return sandboxAccountOf(t, "connectwise", tail)
}

// sandboxAccountOf is sandboxAccount for any provider's emulator.
func sandboxAccountOf(t *testing.T, provider, tail string) (string, map[string]string, *startedSandbox) {
	t.Helper()
	return sandboxAccountWith(t, sandboxFlags{provider: provider, listen: "127.0.0.1:0", tickets: 30, seed: 1}, tail)
}

// sandboxAccountWith starts a sandbox with flags f and writes a file for it.
func sandboxAccountWith(t *testing.T, f sandboxFlags, tail string) (string, map[string]string, *startedSandbox) {
	t.Helper()
	sb, err := startSandbox(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.stop)
	env := sandboxEnv(t, sb)
	file := filepath.Join(t.TempDir(), "horizon.yaml")
	writeAccountFile(t, file, "cmd-test", sb, tail)
	return file, env, sb
}

// sandboxEnv is the environment the commands need against sb: a fresh
// database and the sandbox's credentials, set in the process too.
func sandboxEnv(t *testing.T, sb *startedSandbox) map[string]string {
	t.Helper()
	env := map[string]string{"HORIZON_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "h.db"),
		"HORIZON_TEST_CB_SECRET": "cmd-test-callback-secret"}
	for k, v := range sb.Emulator.Env() {
		env[k] = v
	}
	for k, v := range env {
		t.Setenv(k, v) // secret references resolve from the process environment
	}
	return env
}

// writeAccountFile writes an account file named account for sb.
func writeAccountFile(t *testing.T, file, account string, sb *startedSandbox, tail string) {
	t.Helper()
	yaml := "apiVersion: horizon/v1\naccount: {name: " + account + "}\n" + sb.Emulator.ConfigFragment(sb.URL) + tail
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
}

const planTail = `
sync:
  entities: [tickets]
userMappings:
  unmappedPolicy: ignore
callbacks:
  url: http://127.0.0.1:1/callbacks/connectwise
  secret: {env: HORIZON_TEST_CB_SECRET}
  events: [ticket.updated]
`

func TestPlanApplyExitCodes(t *testing.T) {
	file, env := sandboxFile(t, planTail)
	steps := []struct {
		name string
		args []string
		want int
	}{
		{"changes pending", []string{"plan", "-f", file, "--detailed-exitcode"}, 2},
		{"plain plan succeeds", []string{"plan", "-f", file}, 0},
		{"bad output format", []string{"plan", "-f", file, "-o", "yaml", "--detailed-exitcode"}, 1},
		{"unknown flag", []string{"plan", "-f", file, "--nope", "--detailed-exitcode"}, 1},
		{"missing file", []string{"plan", "-f", file + ".missing", "--detailed-exitcode"}, 1},
		{"apply", []string{"apply", "-f", file, "-q"}, 0},
		{"nothing left to change", []string{"plan", "-f", file, "--detailed-exitcode"}, 0},
		{"second apply is a no-op", []string{"apply", "-f", file, "-q"}, 0},
	}
	for _, s := range steps {
		code, stdout, stderr := run(t, env, "", s.args...)
		if code != s.want {
			t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", s.name, code, s.want, stdout, stderr)
		}
		if strings.Contains(stdout+stderr, "cmd-test-callback-secret") {
			t.Fatalf("%s: output shows the callback secret", s.name)
		}
		if s.name == "second apply is a no-op" && !strings.Contains(stdout, "Apply complete: 0 applied, 0 failed.") {
			t.Errorf("second apply changed something:\n%s", stdout)
		}
	}
}

func TestPlanWithErrorsExitsOne(t *testing.T) {
	file, env := sandboxFile(t, planTail+`
`)
	data, _ := os.ReadFile(file)
	data = []byte(strings.Replace(string(data), "  unmappedPolicy: ignore\n",
		"  unmappedPolicy: ignore\n  mappings:\n    - {helpdeskUser: nobody-here, horizonUser: x@horizon.example}\n", 1))
	os.WriteFile(file, data, 0o600)
	code, stdout, stderr := run(t, env, "", "plan", "-f", file)
	if code != ExitInvalid || !strings.Contains(stdout, "[error]") {
		t.Fatalf("exit %d, want %d with an [error] item\n%s\n%s", code, ExitInvalid, stdout, stderr)
	}
}
