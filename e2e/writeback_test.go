package e2e

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/store"
)

// TestWriteCrashAfterPSAAnswer is issue 11's "kill -9 between the PSA's
// answer and the outbox update", with the real binary: `reconciler
// ticket note` (no daemon: it delivers the write itself) sends the note
// through a proxy to the sandbox PSA; the PSA stores it and answers, and
// the proxy holds the answer back until the command is SIGKILLed, so the
// outbox still says in flight. Running the command again with the same
// idempotency key must end with exactly one note in the PSA: the
// restarted worker finds the note by its marker instead of sending it
// again.
func TestWriteCrashAfterPSAAnswer(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, "connectwise", 50, 11, time.Time{}, time.Minute)
	target, _ := url.Parse(sb.url)
	hold := newHoldingProxy(target, "/notes")
	proxy := httptest.NewServer(hold)
	t.Cleanup(proxy.Close)
	t.Cleanup(hold.release)

	dir := t.TempDir()
	sb.fragment = strings.ReplaceAll(sb.fragment, sb.url, proxy.URL)
	file := writeConfig(t, dir, sb, `sync:
  entities: [tickets]
writeback:
  unmappedAuthor: apiUser
`)
	db := filepath.Join(dir, "horizon.db")
	env := sb.env(db)
	run(t, env, 2*time.Minute, "apply", "-f", file, "-q")
	ro := openReadOnly(t, db)
	var ticket string
	if err := ro.QueryRow("SELECT external_id FROM tickets ORDER BY external_id LIMIT 1").Scan(&ticket); err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf("Called the client (%d)", time.Now().UnixNano())
	args := []string{"ticket", "note", "-f", file, "--ticket", ticket, "--as", "jane.doe@acme-msp.com",
		"--text", text, "--idempotency-key", "crash-1", "-o", "json"}

	first := start(t, "ticket note (killed)", env, args...)
	poll(t, time.Minute, "the PSA's answer to the note", func() (bool, error) {
		if first.exited() {
			return false, fmt.Errorf("the command ended before the PSA answered: %v\n%s", first.state, first.stderr.String())
		}
		return hold.applied(), nil
	})
	first.kill()
	if !first.killedBySignal() {
		t.Fatalf("the command was not killed: %v", first.state)
	}
	if state := writeState(ro); state != store.WriteInFlight {
		t.Fatalf("after the kill the write is %q, want inflight (the kill must land before the outbox update)", state)
	}
	if n := hold.countNotes(t, text); n != 1 {
		t.Fatalf("%d notes in the PSA after the kill, want 1", n)
	}

	second := start(t, "ticket note (again)", env, args...)
	select {
	case <-second.done:
	case <-time.After(3 * time.Minute):
		second.kill()
		t.Fatalf("the second command did not finish\n%s", tail(second.stderr.String(), 30))
	}
	if n := hold.countNotes(t, text); n != 1 {
		t.Fatalf("%d notes in the PSA after the restart, want exactly 1", n)
	}
	var w store.Write
	if err := json.Unmarshal([]byte(second.stdout.String()), &w); err != nil {
		t.Fatalf("second command: %v\nstdout: %s\nstderr: %s", err, second.stdout.String(), tail(second.stderr.String(), 30))
	}
	if w.State != store.WriteDone || w.Attempts != 2 || !strings.Contains(w.Answer, "found by its marker") || !second.state.Success() {
		t.Fatalf("second command (%v): write %+v", second.state, w)
	}
}

// writeState is the state of the only write in the outbox.
func writeState(db *sql.DB) string {
	var state string
	if db.QueryRow("SELECT state FROM outbox WHERE op <> ''").Scan(&state) != nil {
		return ""
	}
	return state
}

// holdingProxy forwards requests to the PSA; the first POST whose path
// ends with suffix is forwarded (the PSA applies it), and its answer is
// then held back until release.
type holdingProxy struct {
	rp      *httputil.ReverseProxy
	target  *url.URL
	suffix  string
	mu      sync.Mutex
	held    bool
	header  http.Header
	path    string
	done    chan struct{} // closed once the PSA answered the held request
	stopped chan struct{}
	once    sync.Once
}

func newHoldingProxy(target *url.URL, suffix string) *holdingProxy {
	return &holdingProxy{rp: httputil.NewSingleHostReverseProxy(target), target: target, suffix: suffix,
		done: make(chan struct{}), stopped: make(chan struct{})}
}

func (h *holdingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	hold := !h.held && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, h.suffix)
	if hold {
		h.held, h.header, h.path = true, r.Header.Clone(), r.URL.Path
	}
	h.mu.Unlock()
	if !hold {
		h.rp.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	h.rp.ServeHTTP(rec, r)
	close(h.done)
	select { // the answer never reaches the client
	case <-r.Context().Done():
	case <-h.stopped:
	}
}

func (h *holdingProxy) applied() bool {
	select {
	case <-h.done:
		return true
	default:
		return false
	}
}

func (h *holdingProxy) release() { h.once.Do(func() { close(h.stopped) }) }

// countNotes lists the ticket's notes at the PSA, with the credentials
// the held request carried, and counts those holding text.
func (h *holdingProxy) countNotes(t *testing.T, text string) int {
	t.Helper()
	h.mu.Lock()
	u := *h.target
	u.Path = h.path
	req, _ := http.NewRequest(http.MethodGet, u.String()+"?pageSize=1000", nil)
	for k, v := range h.header {
		if k != "Content-Type" && k != "Content-Length" {
			req.Header[k] = v
		}
	}
	h.mu.Unlock()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list notes: %d %s", resp.StatusCode, body)
	}
	return strings.Count(string(body), text)
}
