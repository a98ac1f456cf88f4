package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/store"
)

// accountDir starts a sandbox ConnectWise for each name, the i-th with
// 10*(i+1) tickets, and writes DIR/NAME.yaml for each; the accounts share
// one database. It returns the directory, the environment and the
// sandboxes by account name.
func accountDir(t *testing.T, tail string, names ...string) (string, map[string]string, map[string]*startedSandbox) {
	t.Helper()
	dir := t.TempDir()
	var env map[string]string
	sbs := map[string]*startedSandbox{}
	for i, name := range names {
		sb, err := startSandbox(sandboxFlags{provider: "connectwise", listen: "127.0.0.1:0", tickets: 10 * (i + 1), seed: int64(i + 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sb.stop)
		if env == nil {
			env = sandboxEnv(t, sb) // every sandbox ConnectWise takes the same keys
		}
		writeAccountFile(t, filepath.Join(dir, name+".yaml"), name, sb, tail)
		sbs[name] = sb
	}
	return dir, env, sbs
}

// TestPlanDirectory: plan and apply of a directory run every account in
// turn under its heading; an account whose PSA is down, or an invalid
// file, does not stop the others, and the exit status is the worst.
func TestPlanDirectory(t *testing.T) {
	dir, env, sbs := accountDir(t, planTail, "acme", "beta")
	acme, beta := filepath.Join(dir, "acme.yaml"), filepath.Join(dir, "beta.yaml")
	heading := func(name, file string) string { return "== account " + name + " (connectwise, " + file + ")\n" }

	if code, stdout, stderr := run(t, env, "", "plan", dir, "--detailed-exitcode"); code != 2 ||
		!strings.Contains(stdout, heading("acme", acme)+"Plan for account acme (connectwise)") ||
		!strings.Contains(stdout, heading("beta", beta)+"Plan for account beta (connectwise)") ||
		!strings.Contains(stdout, "== 2 accounts: 2 planned") {
		t.Fatalf("plan DIR --detailed-exitcode: exit %d, want 2 (changes) and both accounts planned\n%s\n%s", code, stdout, stderr)
	}
	if code, stdout, stderr := run(t, env, "", "apply", "-q", "-f", acme, "-f", beta); code != ExitOK ||
		strings.Count(stdout, "Apply complete: ") != 2 || !strings.Contains(stdout, "== 2 accounts: 2 applied") {
		t.Fatalf("apply -f A -f B: exit %d, want both applied\n%s\n%s", code, stdout, stderr)
	}
	if code, stdout, _ := run(t, env, "", "plan", dir, "--detailed-exitcode"); code != ExitOK {
		t.Fatalf("plan after apply: exit %d, want 0 (nothing to change)\n%s", code, stdout)
	}

	// beta's PSA goes down and a third file is invalid.
	sbs["beta"].stop()
	broken := filepath.Join(dir, "broken.yaml")
	os.WriteFile(broken, []byte("apiVersion: horizon/v1\naccount: {name: broken}\n"), 0o600)
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"text", []string{"plan", dir}, ExitFailure},
		{"detailed", []string{"plan", dir, "--detailed-exitcode"}, 1},
		{"json", []string{"plan", dir, "-o", "json"}, ExitFailure},
		{"only the invalid file besides acme", []string{"plan", acme, broken}, ExitInvalid},
		{"--account picks one, as for one file", []string{"plan", dir, "--account", "acme", "--detailed-exitcode"}, ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // plans write nothing; each waits out the PSA's retries
			code, stdout, stderr := run(t, env, "", tt.args...)
			if code != tt.want {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.want, stdout, stderr)
			}
			switch tt.name {
			case "text", "detailed":
				for _, want := range []string{heading("acme", acme) + "Plan for account acme", heading("beta", beta),
					"== " + broken + ": invalid, not planned", "== 3 accounts: 1 planned, 1 invalid (" + broken + "), 1 failed (beta: exit "} {
					if !strings.Contains(stdout, want) {
						t.Errorf("stdout lacks %q:\n%s", want, stdout)
					}
				}
				failed := heading("beta", beta) + "Failed (exit 3): connect to connectwise: "
				if tt.name == "detailed" {
					failed = heading("beta", beta) + "Failed (exit 1): connect to connectwise: "
				}
				if strings.Contains(stdout, "Plan for account beta") || !strings.Contains(stdout, failed) {
					t.Errorf("stdout lacks beta's failure %q:\n%s", failed, stdout)
				}
				if !strings.Contains(stderr, broken+":1:1: error: ") {
					t.Errorf("the invalid file's problems are not on stderr:\n%s", stderr)
				}
			case "json":
				var doc struct {
					Accounts   []accountOutcome `json:"accounts"`
					ExitStatus int              `json:"exitStatus"`
				}
				if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
					t.Fatalf("not one JSON document: %v\n%s", err, stdout)
				}
				got := map[string]accountOutcome{}
				for _, o := range doc.Accounts {
					got[o.File] = o
				}
				if a := got[acme]; a.Account != "acme" || a.ExitStatus != 0 || !strings.Contains(string(a.Plan), `"summaryLine"`) {
					t.Errorf("acme: %+v", a)
				}
				if b := got[beta]; b.Account != "beta" || b.ExitStatus != ExitFailure || b.Error == "" || b.Plan != nil {
					t.Errorf("beta: %+v", b)
				}
				if x := got[broken]; x.Account != "" || x.ExitStatus != ExitInvalid || !config.HasErrors(x.Diagnostics) {
					t.Errorf("broken: %+v", x)
				}
				if doc.ExitStatus != ExitFailure || len(doc.Accounts) != 3 {
					t.Errorf("document: %d accounts, exit status %d", len(doc.Accounts), doc.ExitStatus)
				}
			case "--account picks one, as for one file":
				if strings.Contains(stdout, "==") || !strings.HasPrefix(stdout, "Plan for account acme") {
					t.Errorf("--account: want acme's plan alone:\n%s", stdout)
				}
			}
		})
	}
}

// TestAccountFlag: a one-account command on a directory or several files
// needs --account when they hold several accounts, and --account must name
// one of them; the command then reads that account's rows only.
func TestAccountFlag(t *testing.T) {
	dir, env, _ := accountDir(t, planTail, "acme", "beta")
	acme := filepath.Join(dir, "acme.yaml")
	one := t.TempDir()
	data, _ := os.ReadFile(acme)
	os.WriteFile(filepath.Join(one, "acme.yaml"), data, 0o600)
	if code, stdout, stderr := run(t, env, "", "apply", "-q", dir); code != ExitOK {
		t.Fatalf("apply: exit %d\n%s\n%s", code, stdout, stderr)
	}

	tests := []struct {
		name string
		args []string
		want int
		msg  string
	}{
		{"several without --account", []string{"-f", dir}, ExitUsage,
			"-f " + dir + " holds 2 accounts (acme, beta): choose one with --account"},
		{"several files without --account", []string{"-f", acme, "-f", filepath.Join(dir, "beta.yaml")}, ExitUsage,
			"hold 2 accounts (acme, beta): choose one with --account"},
		{"unknown", []string{"-f", dir, "--account", "gamma"}, ExitUsage,
			"--account gamma: -f " + dir + " holds no such account; it holds 2 accounts (acme, beta)"},
		{"one file, other account", []string{"-f", acme, "--account", "beta"}, ExitUsage,
			"--account beta: " + acme + " holds account acme"},
		{"one account in a directory, other account", []string{"-f", one, "--account", "beta"}, ExitUsage,
			"holds no such account; it holds acme"},
		{"one file, its account", []string{"-f", acme, "--account", "acme"}, ExitOK, ""},
		{"one account in a directory", []string{"-f", one}, ExitOK, ""},
		{"beta of the directory", []string{"-f", dir, "--account", "beta"}, ExitOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, cmd := range [][]string{{"logs", "sync"}, {"users"}, {"trace", "ticket", "1"}} {
				if cmd[0] != "logs" && tt.want == ExitOK {
					continue // they read the PSA: one command shows the account resolves
				}
				code, stdout, stderr := run(t, env, "", append(cmd, tt.args...)...)
				if code != tt.want || !strings.Contains(stderr, tt.msg) {
					t.Errorf("%s: exit %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", cmd, code, tt.want, tt.msg, stdout, stderr)
				}
			}
		})
	}

	// Each account's rows, and only its: the same as from its own file,
	// and not the other's (their sandboxes hold different tickets).
	rows := map[string]string{}
	for _, name := range []string{"acme", "beta"} {
		code, stdout, stderr := run(t, env, "", "logs", "sync", dir, "--account", name, "--entity", "tickets", "-o", "json")
		var runs []store.SyncRun
		if err := json.Unmarshal([]byte(stdout), &runs); code != ExitOK || err != nil || len(runs) == 0 {
			t.Fatalf("logs sync --account %s: exit %d, %v\n%s\n%s", name, code, err, stdout, stderr)
		}
		_, own, _ := run(t, env, "", "logs", "sync", filepath.Join(dir, name+".yaml"), "--entity", "tickets", "-o", "json")
		if stdout != own {
			t.Errorf("logs sync DIR --account %s differs from logs sync %s.yaml:\n%s\n%s", name, name, stdout, own)
		}
		rows[name] = fmt.Sprint(runs[0].Created, runs[0].Requests)
	}
	if rows["acme"] == rows["beta"] {
		t.Errorf("acme and beta show the same backfill (created, requests) %s: the account was not picked", rows["acme"])
	}
}

// TestApplyDirectoryPlanWithErrors: apply of a directory applies nothing
// of an account whose plan has errors, applies the others, and exits 1.
func TestApplyDirectoryPlanWithErrors(t *testing.T) {
	dir, env, _ := accountDir(t, planTail, "acme", "beta")
	acme := filepath.Join(dir, "acme.yaml")
	data, _ := os.ReadFile(acme)
	os.WriteFile(acme, []byte(strings.Replace(string(data), "  unmappedPolicy: ignore\n", "  unmappedPolicy: ignore\n"+ghostMapping, 1)), 0o600)
	code, stdout, stderr := run(t, env, "", "apply", "-q", dir)
	if code != ExitInvalid {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, ExitInvalid, stdout, stderr)
	}
	acmePart, betaPart, _ := strings.Cut(stdout, "== account beta")
	for _, want := range []string{"Apply refused: the plan has 1 error; nothing was applied.", "Failed (exit 1): the plan has errors"} {
		if !strings.Contains(acmePart, want) {
			t.Errorf("acme's part lacks %q:\n%s", want, acmePart)
		}
	}
	if !strings.Contains(betaPart, "Apply complete: ") || !strings.Contains(betaPart, "== 2 accounts: 1 applied, 1 failed (acme: exit 1)") {
		t.Errorf("beta not applied after acme's refusal:\n%s", betaPart)
	}
}
