package e2e

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/store"
	// Registers the sqlite: store and the modernc "sqlite" database/sql
	// driver the read-only polling uses.
	_ "github.com/horizon/reconciler/internal/store/sqlite"
)

// bin is the reconciler binary TestMain builds.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "horizon-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "reconciler")
	if err := build(bin); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build the reconciler:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles ./cmd/reconciler (without -race: the processes under
// test are the real binary; only this test process may be -race).
func build(out string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return err
	}
	cmd := exec.Command(goTool, "build", "-o", out, "./cmd/reconciler")
	cmd.Dir = ".."
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v\n%s", err, b)
	}
	return nil
}

// lineBuffer collects a process's output; safe for concurrent use.
type lineBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lineBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is one running reconciler process.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stdout lineBuffer
	stderr lineBuffer
	done   chan struct{} // closed when the process has exited and been reaped
	state  *os.ProcessState
}

// start runs the reconciler binary with args and exactly env as its
// environment. The process is killed at the end of the test if still
// running.
func start(t testing.TB, name string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.state = p.cmd.ProcessState
		close(p.done)
	}()
	t.Cleanup(p.kill)
	return p
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL (kill -9) and waits until the process is reaped. It
// returns at once for a process that already ended.
func (p *proc) kill() {
	if !p.exited() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.done
}

// killedBySignal reports whether the process ended by SIGKILL (rather
// than exiting on its own before the signal arrived).
func (p *proc) killedBySignal() bool {
	<-p.done
	ws, ok := p.state.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// wait waits up to timeout for the process to exit and fails the test if
// it does not, or exits non-zero.
func (p *proc) wait(t testing.TB, timeout time.Duration) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.kill()
		t.Fatalf("%s did not finish within %v\nstdout:\n%s\nstderr:\n%s", p.name, timeout, p.stdout.String(), tail(p.stderr.String(), 40))
	}
	if !p.state.Success() {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", p.name, p.state, p.stdout.String(), tail(p.stderr.String(), 40))
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... (%d lines before)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// run runs the binary to completion (within timeout) and returns its
// stdout; a non-zero exit fails the test.
func run(t testing.TB, env []string, timeout time.Duration, args ...string) string {
	t.Helper()
	p := start(t, strings.Join(args, " "), env, args...)
	p.wait(t, timeout)
	return p.stdout.String()
}

// poll calls cond every few milliseconds until it returns true, and fails
// the test after timeout. A non-nil error from cond fails at once. It is
// the only way these tests wait for something: no sleeps.
func poll(t testing.TB, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(3 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		<-tick.C
	}
}

// baseEnv is this process's environment without any HORIZON_* setting, so
// that a developer's or CI's own database URL never leaks into a test.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HORIZON_") {
			env = append(env, kv)
		}
	}
	return env
}

// sandboxPSA is a `reconciler sandbox` process and what its banner says.
type sandboxPSA struct {
	proc     *proc
	provider string
	tickets  int
	seed     int64
	now      time.Time // --now, zero when not given
	url      string
	fragment string            // the horizon.yaml helpdesk: block
	creds    map[string]string // the export NAME='value' lines
}

var (
	bannerHead   = regexp.MustCompile(`(?m)^Sandbox (\S+) serving (\d+) tickets \(seed (-?\d+)\) at (http://\S+)$`)
	bannerExport = regexp.MustCompile(`(?m)^\s*export ([A-Z0-9_]+)=(.*)$`)
)

// startSandbox starts `reconciler sandbox` on a free loopback port and
// waits (up to timeout: generating 200,000 tickets takes a while) for its
// banner. A non-zero now is passed as --now, so that the test can generate
// the same World in-process. extra are more sandbox flags (--rate-limit 5).
func startSandbox(t testing.TB, provider string, tickets int, seed int64, now time.Time, timeout time.Duration, extra ...string) *sandboxPSA {
	t.Helper()
	args := []string{"sandbox", "--provider", provider, "--listen", "127.0.0.1:0",
		"--tickets", strconv.Itoa(tickets), "--seed", strconv.FormatInt(seed, 10)}
	args = append(args, extra...)
	if !now.IsZero() {
		args = append(args, "--now", now.Format(time.RFC3339Nano))
	}
	p := start(t, "sandbox "+provider, baseEnv(), args...)
	poll(t, timeout, "the sandbox banner", func() (bool, error) {
		if p.exited() {
			return false, fmt.Errorf("sandbox exited: %v\n%s", p.state, p.stderr.String())
		}
		return strings.Contains(p.stdout.String(), "Press Ctrl-C to stop."), nil
	})
	sb, err := parseBanner(p.stdout.String())
	if err != nil {
		t.Fatalf("sandbox banner: %v\n%s", err, p.stdout.String())
	}
	if sb.provider != provider || sb.tickets != tickets || sb.seed != seed {
		t.Fatalf("sandbox banner names %s, %d tickets, seed %d; want %s, %d, %d", sb.provider, sb.tickets, sb.seed, provider, tickets, seed)
	}
	if !strings.HasPrefix(sb.url, "http://127.0.0.1:") {
		t.Fatalf("sandbox serves at %s, want a loopback address", sb.url)
	}
	sb.proc, sb.now = p, now
	return sb
}

// parseBanner reads the sandbox's banner: the URL, the helpdesk block
// (indented by two spaces between "horizon.yaml fragment:" and
// "Environment") and the credentials.
func parseBanner(out string) (*sandboxPSA, error) {
	m := bannerHead.FindStringSubmatch(out)
	if m == nil {
		return nil, errors.New("no \"Sandbox P serving N tickets (seed S) at URL\" line")
	}
	sb := &sandboxPSA{provider: m[1], url: m[4], creds: map[string]string{}}
	sb.tickets, _ = strconv.Atoi(m[2])
	sb.seed, _ = strconv.ParseInt(m[3], 10, 64)
	_, rest, ok := strings.Cut(out, "horizon.yaml fragment:\n")
	frag, _, ok2 := strings.Cut(rest, "Environment")
	if !ok || !ok2 {
		return nil, errors.New("no horizon.yaml fragment")
	}
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(frag))
	for sc.Scan() {
		if line := strings.TrimRight(sc.Text(), " "); line != "" {
			b.WriteString(strings.TrimPrefix(line, "  ") + "\n")
		}
	}
	sb.fragment = b.String()
	if !strings.HasPrefix(sb.fragment, "helpdesk:\n") {
		return nil, fmt.Errorf("fragment does not start with helpdesk:\n%s", sb.fragment)
	}
	for _, e := range bannerExport.FindAllStringSubmatch(out, -1) {
		sb.creds[e[1]] = shellUnquote(e[2])
	}
	if len(sb.creds) == 0 {
		return nil, errors.New("no export lines")
	}
	return sb, nil
}

// shellUnquote undoes the banner's single-quoting: the outer quotes, and
// each embedded quote written as quote, backslash, quote, quote.
func shellUnquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		s = s[1 : len(s)-1]
	}
	return strings.ReplaceAll(s, `'\''`, `'`)
}

// writeConfig writes a horizon.yaml for the sandbox: account e2e, the
// banner's helpdesk block, then body (sync:, callbacks: ...).
func writeConfig(t testing.TB, dir string, sb *sandboxPSA, body string) string {
	t.Helper()
	yaml := "apiVersion: horizon/v1\naccount:\n  name: e2e\n" + sb.fragment + body
	path := filepath.Join(dir, "horizon.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// env is the environment of a reconciler process using the sandbox's
// credentials and the SQLite database at dbPath, logging JSON.
func (sb *sandboxPSA) env(dbPath string, extra ...string) []string {
	env := append(baseEnv(), "HORIZON_DATABASE_URL=sqlite:"+dbPath, "HORIZON_LOG_FORMAT=json", "HORIZON_LOG_LEVEL=info",
		"HORIZON_ADMIN_ADDR=127.0.0.1:0") // status pages on a free port: processes run side by side
	for k, v := range sb.creds {
		env = append(env, k+"="+v)
	}
	return append(env, extra...)
}

// scope is the store scope of the account writeConfig writes.
func (sb *sandboxPSA) scope() store.Scope { return store.Scope{Account: "e2e", Provider: sb.provider} }

// openStore opens a database file with the store package, once no
// reconciler process uses it any more.
func openStore(t testing.TB, path string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// openReadOnly opens a database file that a reconciler process is
// writing, read-only, for polling. It never migrates: store.Open from a
// second process could race the reconciler's own first migration.
func openReadOnly(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// queryInt runs a one-integer query; errors (no file or no tables yet)
// read as -1.
func queryInt(db *sql.DB, q string, args ...any) int {
	var n int
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		return -1
	}
	return n
}

// syncRun is one entry of `reconciler logs sync -o json`.
type syncRun struct {
	ID         int64     `json:"id"`
	Trigger    string    `json:"trigger"`
	Entity     string    `json:"entity"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
	Created    int       `json:"created"`
	Updated    int       `json:"updated"`
	Unchanged  int       `json:"unchanged"`
	Requests   int       `json:"requests"`
	Error      string    `json:"error"`
	Outcome    string    `json:"outcome"`
}

// logsSync runs `reconciler logs sync -o json` and returns the runs,
// newest first.
func logsSync(t testing.TB, env []string, file string) []syncRun {
	t.Helper()
	return logsSyncOf(t, env, file, "")
}

// logsSyncOf is logsSync of one account of a directory ("": the file's).
func logsSyncOf(t testing.TB, env []string, file, account string) []syncRun {
	t.Helper()
	args := []string{"logs", "sync", "-f", file, "-o", "json", "--limit", "10000"}
	if account != "" {
		args = append(args, "--account", account)
	}
	out := run(t, env, time.Minute, args...)
	var runs []syncRun
	if err := json.Unmarshal([]byte(out), &runs); err != nil {
		t.Fatalf("logs sync -o json: %v\n%s", err, out)
	}
	return runs
}

// callbackRow is one entry of `reconciler logs callbacks -o json`.
type callbackRow struct {
	ID          int64     `json:"id"`
	Event       string    `json:"event"`
	ExternalIDs []string  `json:"externalIds"`
	Verified    bool      `json:"verified"`
	Result      string    `json:"result"`
	Reason      string    `json:"reason"`
	ReceivedAt  time.Time `json:"receivedAt"`
	ProcessedAt time.Time `json:"processedAt"`
}

// logsCallbacks runs `reconciler logs callbacks --ticket ID -o json`.
func logsCallbacks(t testing.TB, env []string, file, ticket string) []callbackRow {
	t.Helper()
	out := run(t, env, time.Minute, "logs", "callbacks", "-f", file, "--ticket", ticket, "-o", "json")
	var rows []callbackRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("logs callbacks -o json: %v\n%s", err, out)
	}
	return rows
}

// freePort returns a loopback port nobody listens on right now, and that
// no other test of this run was handed. It picks below the kernel's
// ephemeral range (32768 and up on Linux), so a sandbox or client socket
// opened on port 0 between this call and the daemon's bind cannot take it.
func freePort(t testing.TB) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for i := 0; i < 1000; i++ {
		port := 20000 + rand.IntN(12000)
		if portsGiven[port] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		ln.Close()
		portsGiven[port] = true
		return port
	}
	t.Fatal("no free loopback port between 20000 and 32000")
	return 0
}

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)
