package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestDemoEndToEnd runs the README's first command for each PSA: the
// daemon must apply the plan on its first reconcile and process callbacks
// for the simulated staff's edits.
func TestDemoEndToEnd(t *testing.T) {
	for _, p := range []string{"connectwise", "autotask", "zohodesk", "halopsa"} {
		t.Run(p, func(t *testing.T) {
			dir := t.TempDir()
			env := map[string]string{"HORIZON_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "demo.db")}
			code, stdout, stderr := run(t, env, "", "demo", "--provider", p, "--tickets", "60", "--duration", "8s",
				"--activity", "300ms", "--listen-addr", "127.0.0.1:0", "--dir", dir)
			if code != ExitOK {
				t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
			}
			for _, want := range []string{": valid (" + p, "Plan: ", "Status pages: http://", "reconciled: ", "callback: ticket.",
				"== Summary", "tickets ", " new, ", "Callbacks received: ", "processed", "Files: "} {
				if !strings.Contains(stdout, want) {
					t.Errorf("demo output lacks %q:\n%s", want, stdout)
				}
			}
			if strings.Contains(stdout, "FAILED") {
				t.Errorf("demo output reports a failure:\n%s", stdout)
			}
			// The log goes to demo.log, not between the demo's lines.
			if strings.Contains(stderr+stdout, "level=INFO") {
				t.Errorf("log lines printed without -v:\n%s", stderr)
			}
			if log, err := os.ReadFile(filepath.Join(dir, "demo.log")); err != nil || !bytes.Contains(log, []byte("level=INFO")) {
				t.Errorf("demo.log holds no log (%v)", err)
			}
		})
	}
}

// syncBuffer is a buffer the demo's goroutines and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDemoFollowUpCommands runs the demo as a new user would, in a
// directory of their own with the default --dir, and, while it runs, every
// command it suggests exactly as printed, with none of the demo's
// environment: each must succeed. Then the demo leaves its files in
// ./horizon-demo and no temporary directory behind.
func TestDemoFollowUpCommands(t *testing.T) {
	work := t.TempDir()
	t.Chdir(work)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := free.Addr().String()
	free.Close()
	env := map[string]string{"HORIZON_DATABASE_URL": "sqlite:" + filepath.Join(work, "demo.db"),
		"HORIZON_LISTEN_ADDR": addr}
	var stdout, stderr syncBuffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		done <- exitCode(m.Run(ctx, []string{"demo", "--tickets", "40", "--activity", "200ms", "--duration", "2m"}), &stderr)
	}()
	finished := false
	defer func() {
		if !finished {
			cancel()
			<-done
		}
	}()

	waitFor(t, &stdout, "reconciled: ")
	if !strings.Contains(stdout.String(), "receives the PSA's callbacks at http://"+addr) {
		t.Errorf("the demo does not serve on HORIZON_LISTEN_ADDR %s:\n%s", addr, stdout.String())
	}
	var commands int
	for _, line := range strings.Split(stdout.String(), "\n") {
		prefix := "  HORIZON_DATABASE_URL=" + shellQuote(env["HORIZON_DATABASE_URL"]) + " go run ./cmd/reconciler "
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		commands++
		args := strings.Fields(strings.TrimPrefix(line, prefix))
		// Another terminal: the database variable the line sets, nothing else.
		code, out, errOut := run(t, map[string]string{"HORIZON_DATABASE_URL": env["HORIZON_DATABASE_URL"]}, "", args...)
		if code != ExitOK {
			t.Errorf("%s: exit %d\n%s\n%s", line, code, out, errOut)
		}
	}
	if commands < 5 {
		t.Fatalf("the demo suggested %d commands:\n%s", commands, stdout.String())
	}
	// A result filter answers with exactly that result.
	code, out, errOut := run(t, map[string]string{"HORIZON_DATABASE_URL": env["HORIZON_DATABASE_URL"]}, "",
		"logs", "callbacks", "horizon-demo/horizon.yaml", "--result", "processed", "-o", "json")
	var rows []struct{ Result string }
	if err := json.Unmarshal([]byte(out), &rows); code != ExitOK || err != nil || len(rows) == 0 {
		t.Errorf("logs callbacks --result processed: exit %d, %d rows (%v)\n%s", code, len(rows), err, errOut)
	}
	for _, r := range rows {
		if r.Result != "processed" {
			t.Errorf("--result processed listed a %s callback", r.Result)
		}
	}
	cancel()
	finished = true
	if code := <-done; code != ExitOK {
		t.Errorf("demo: exit %d\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "Files: horizon-demo/horizon.yaml, secrets in horizon-demo/secrets, log horizon-demo/demo.log") {
		t.Errorf("the summary does not say where the files are:\n%s", stdout.String())
	}
	for _, f := range []string{"horizon.yaml", "demo.log"} {
		if _, err := os.Stat(filepath.Join(work, "horizon-demo", f)); err != nil {
			t.Errorf("horizon-demo/%s: %v", f, err)
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the demo left %d entries in the temporary directory, such as %s", len(left), left[0].Name())
	}
}

// TestDemoListenAddrTaken: an address the user chose is used or the demo
// fails; only the default falls back to a free port.
func TestDemoListenAddrTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	code, _, stderr := run(t, map[string]string{"HORIZON_LISTEN_ADDR": taken.Addr().String()}, "",
		"demo", "--dir", t.TempDir(), "--duration", "5s")
	if code != ExitFailure || !strings.Contains(stderr, "listen on "+taken.Addr().String()) {
		t.Errorf("exit %d, want %d naming the address:\n%s", code, ExitFailure, stderr)
	}
}

// waitFor polls the output until it holds want.
func waitFor(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q within 60s:\n%s", want, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
