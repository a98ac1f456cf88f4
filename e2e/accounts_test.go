package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunDirectoryOfAccounts runs the binary on a directory of account
// files: validate names the broken file and exits 1; run serves both
// valid accounts (each reconciled, its series labelled with its name),
// counts the broken file as not running and stays ready; the audit
// commands pick an account with --account; SIGTERM stops it cleanly.
func TestRunDirectoryOfAccounts(t *testing.T) {
	t.Parallel()
	cw := startSandbox(t, "connectwise", 20, 31, time.Time{}, time.Minute)
	halo := startSandbox(t, "halopsa", 20, 32, time.Time{}, time.Minute)
	dir := t.TempDir()
	accounts := filepath.Join(dir, "accounts")
	if err := os.Mkdir(accounts, 0o700); err != nil {
		t.Fatal(err)
	}
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	base := "http://" + listen
	account := func(name string, sb *sandboxPSA) {
		body := fmt.Sprintf("apiVersion: horizon/v1\naccount:\n  name: %s\n%ssync:\n  entities: [tickets]\n  pollInterval: 24h\n"+
			"callbacks:\n  url: %s/callbacks/%s/%s\n  secret: {env: E2E_CALLBACK_SECRET}\n  events: [ticket.updated]\n",
			name, sb.fragment, base, name, sb.provider)
		if err := os.WriteFile(filepath.Join(accounts, name+".yaml"), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	account("acme", cw)
	account("globex", halo)
	if err := os.WriteFile(filepath.Join(accounts, "broken.yaml"), []byte("apiVersion: horizon/v1\naccount: {name: broken}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := cw.env(filepath.Join(dir, "horizon.db"), "HORIZON_LISTEN_ADDR="+listen, "E2E_CALLBACK_SECRET=e2e-accounts-secret-0123")
	for k, v := range halo.creds {
		env = append(env, k+"="+v)
	}

	v := start(t, "validate", env, "validate", accounts)
	select {
	case <-v.done:
	case <-time.After(time.Minute):
		v.kill()
		t.Fatal("validate did not finish")
	}
	if code := v.state.ExitCode(); code != 1 || !strings.Contains(v.stdout.String()+v.stderr.String(), "broken.yaml") {
		t.Errorf("validate accounts/: exit %d, want 1 naming broken.yaml:\n%s%s", code, v.stdout.String(), v.stderr.String())
	}

	d := &daemon{proc: start(t, "run", env, "run", accounts), name: "run accounts/"}
	client := &http.Client{Timeout: 5 * time.Second}
	scrape := func() string {
		resp, err := client.Get(base + "/metrics")
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	poll(t, 2*time.Minute, "both accounts reconciled", func() (bool, error) {
		m := scrape()
		return strings.Contains(m, `horizon_reconcile_total{account="acme",result="success"}`) &&
			strings.Contains(m, `horizon_reconcile_total{account="globex",result="success"}`), d.failure()
	})
	m := scrape()
	for _, want := range []string{`horizon_accounts{state="running"} 2`, `horizon_accounts{state="not_running"} 1`,
		`horizon_leader{account="acme"} 1`, `horizon_leader{account="globex"} 1`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if resp, err := client.Get(base + "/readyz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("readyz with a broken account file: %v %v", resp, err)
	}
	// Each account's webhooks are registered at its own path.
	resp, err := client.Post(base+"/callbacks/connectwise", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST /callbacks/connectwise with two accounts = %d, want 404", resp.StatusCode)
	}

	runs := logsSyncOf(t, env, accounts, "globex")
	if len(runs) == 0 {
		t.Error("logs sync --account globex shows no runs")
	}
	for _, r := range runs {
		if r.Entity == "tickets" && r.Outcome == "failed" {
			t.Errorf("globex run failed: %+v", r)
		}
	}

	_ = d.proc.cmd.Process.Signal(syscall.SIGTERM)
	d.proc.wait(t, time.Minute)
}
