package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWriteAPI runs `reconciler run` against a sandbox PSA and writes
// through its HTTP API as the Horizon application does: a note is
// answered 202 at once, delivered by the leader, readable at its
// Location, and counted in the metrics.
func TestWriteAPI(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, "halopsa", 40, 21, time.Time{}, time.Minute)
	dir := t.TempDir()
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	base := "http://" + listen
	file := writeConfig(t, dir, sb, `sync:
  entities: [tickets]
writeback:
  apiToken: {env: E2E_API_TOKEN}
  unmappedAuthor: apiUser
`)
	db := filepath.Join(dir, "horizon.db")
	env := sb.env(db, "HORIZON_LISTEN_ADDR="+listen, "E2E_API_TOKEN=e2e-token")
	d := startDaemon(t, env, file, base, "daemon")
	ro := openReadOnly(t, db)
	var ticket string
	poll(t, time.Minute, "a stored ticket", func() (bool, error) {
		return ro.QueryRow("SELECT external_id FROM tickets ORDER BY external_id LIMIT 1").Scan(&ticket) == nil, d.failure()
	})

	call := func(method, path, body string, hdr map[string]string) (int, map[string]any) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer e2e-token")
		req.Header.Set("X-Horizon-User", "jane.doe@acme-msp.com")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	code, w := call("POST", "/api/v1/tickets/"+ticket+"/notes", `{"text":"Called the client"}`, map[string]string{"Idempotency-Key": "e2e-1"})
	if code != http.StatusAccepted {
		t.Fatalf("POST note: %d %v", code, w)
	}
	loc, _ := w["location"].(string)
	poll(t, time.Minute, "the note delivered", func() (bool, error) {
		_, w = call("GET", loc, "", nil)
		return w["state"] == "done", d.failure()
	})
	if code, again := call("POST", "/api/v1/tickets/"+ticket+"/notes", `{"text":"Called the client"}`, map[string]string{"Idempotency-Key": "e2e-1"}); code != 202 || again["writeId"] != w["writeId"] {
		t.Errorf("repeated key: %d %v, want the first write %v", code, again, w["writeId"])
	}
	if code, _ := call("POST", "/api/v1/tickets/"+ticket+"/notes", `{"text":"x"}`, map[string]string{"Idempotency-Key": "e2e-2", "Authorization": "Bearer wrong"}); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d, want 401", code)
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`horizon_writeback_total{account="e2e",op="note.create",provider="halopsa",result="done"} 1`,
		`horizon_outbox_writes_total{account="e2e",kind="note.create",result="done"} 1`, "horizon_writeback_duration_seconds_count{account=\"e2e\"", `horizon_outbox_pending{account="e2e"} `} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	out := run(t, env, time.Minute, "logs", "writes", "-f", file, "--ticket", ticket)
	if !strings.Contains(out, "note.create") || !strings.Contains(out, "done") {
		t.Errorf("logs writes:\n%s", out)
	}
}
