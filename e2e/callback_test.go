package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/horizon/reconciler/internal/store"
)

// TestCallbackCrash is issue 8's "a kill -9 between the 2xx and the
// fetch", with the real binary: `reconciler run` receives a webhook from
// the sandbox PSA, commits it to the callback log and answers 2xx, and is
// SIGKILLed before it has fetched the ticket the webhook names; the
// restarted daemon must still fetch it: the callback ends processed and
// the store holds the edit.
//
// The provider is Zoho Desk. The edits are made through the PSA's own REST
// API, as a customer's script would (an access token of its own, no
// source tag), which makes the PSA deliver a Ticket_Update webhook. (With
// ConnectWise, the simplest wire, they would not: Horizon registers its
// callbacks with isSelfSuppressedFlag, and the sandbox's only API member is
// Horizon's own, so its API edits never call back.)
//
// The window: the daemon commits the callback row (result accepted)
// before it answers; its dispatcher then waits 100 ms (coalescing) before
// it fetches, and marks the row processed after the fetch is stored. The
// test polls the SQLite file read-only and kills the daemon the moment the
// row exists, then records where the kill landed: row accepted and ticket
// not yet updated (between the 2xx and the fetch, the window of the
// issue), row accepted and ticket updated (between the fetch and the
// mark), or processed (too late). Three daemons are killed in turn:
//
//  1. the leader, right after the row appears;
//  2. a restarted daemon, which cannot lead before the dead leader's lease
//     (30 s) expires and so only accepts, right after the row appears;
//  3. another restart, killed right after the edit's PATCH returned,
//     whether or not the webhook has reached it yet (if it has not, the
//     PSA's delivery fails and is retried a minute later; the restarted
//     leader's polling sync must then bring the edit).
//
// A fourth daemon then takes the lease and must settle every callback
// (processed, none failed or left accepted) and store every edit.
func TestCallbackCrash(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, "zohodesk", 100, 201, time.Time{}, time.Minute)
	dir := t.TempDir()
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	base := "http://" + listen
	file := writeConfig(t, dir, sb, fmt.Sprintf(`sync:
  entities: [tickets]
  ingestWindow: 1825d
  pollInterval: 24h
  picklistRefreshInterval: 7d
callbacks:
  url: %s/callbacks/zohodesk
  secret: {env: E2E_CALLBACK_SECRET}
  events: [ticket.updated]
`, base))
	secret := make([]byte, 16)
	rand.Read(secret)
	db := filepath.Join(dir, "horizon.db")
	env := sb.env(db, "HORIZON_LISTEN_ADDR="+listen, "E2E_CALLBACK_SECRET="+hex.EncodeToString(secret))

	// The first daemon registers the webhook (Zoho Desk validates the URL
	// against the running daemon, so `apply` cannot go first) and
	// backfills; edits start once its backfill has finished and nothing
	// else syncs (the polling interval is 24 h), so that only callbacks
	// bring them until a restarted leader's first poll.
	first := startDaemon(t, env, file, base, "daemon 1")
	ro := openReadOnly(t, db)
	waitBackfill(t, ro, first)
	var ids []string
	rows, err := ro.Query("SELECT external_id FROM tickets ORDER BY external_id LIMIT 3 OFFSET 10")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) != 3 {
		t.Fatalf("want 3 stored tickets, got %v", ids)
	}
	psa := newZohoEditor(t, sb)
	edited := map[string]string{}
	edit := func(id string, n int) {
		edited[id] = fmt.Sprintf("Edited through the API before kill %d (%s)", n, time.Now().Format(time.RFC3339Nano))
		psa.setSubject(t, id, edited[id])
	}

	// 1 and 2: kill right after the callback row appears.
	accepted := 0
	d := first
	for n := 1; n <= 2; n++ {
		if n > 1 {
			d = startDaemon(t, env, file, base, fmt.Sprintf("daemon %d", n))
		}
		id := ids[n-1]
		edit(id, n)
		poll(t, time.Minute, "the callback about ticket "+id, func() (bool, error) {
			return callbackResult(ro, id) != "", d.failure()
		})
		d.proc.kill()
		result, summary := callbackResult(ro, id), storedSummary(ro, id)
		switch {
		case result == store.CallbackAccepted && summary != edited[id]:
			accepted++
			t.Logf("kill %d: between the 2xx and the fetch (callback accepted, ticket %s not yet fetched)", n, id)
		case result == store.CallbackAccepted:
			accepted++
			t.Logf("kill %d: between the fetch and marking the callback processed (ticket %s stored)", n, id)
		default:
			t.Logf("kill %d: after the callback was settled (%s)", n, result)
		}
	}
	if accepted == 0 {
		t.Fatalf("no kill landed before the callback was settled: the window was not exercised")
	}

	// 3: kill right after the PATCH returned.
	third := startDaemon(t, env, file, base, "daemon 3")
	edit(ids[2], 3)
	third.proc.kill()
	if r := callbackResult(ro, ids[2]); r == "" {
		t.Logf("kill 3: right after the edit, before a callback about it was logged: the restarted leader's poll must bring ticket %s", ids[2])
	} else {
		t.Logf("kill 3: right after the edit, with the callback about ticket %s %s", ids[2], r)
	}

	// 4: the survivor settles everything.
	last := startDaemon(t, env, file, base, "daemon 4")
	poll(t, 2*time.Minute, "every edit stored and every callback settled", func() (bool, error) {
		for _, id := range ids {
			if storedSummary(ro, id) != edited[id] {
				return false, last.failure()
			}
		}
		return queryInt(ro, "SELECT count(*) FROM callback_log WHERE result = 'accepted'") == 0, last.failure()
	})
	last.proc.cmd.Process.Signal(syscall.SIGTERM)
	last.proc.wait(t, time.Minute)
	ro.Close()

	for _, id := range ids {
		cbs := logsCallbacks(t, env, file, id)
		if len(cbs) == 0 && id != ids[2] {
			t.Errorf("no callback logged about ticket %s", id)
		}
		for _, cb := range cbs {
			if cb.Result != store.CallbackProcessed || !cb.Verified || cb.ProcessedAt.IsZero() {
				t.Errorf("callback %d about ticket %s: %+v, want verified and processed", cb.ID, id, cb)
			}
		}
		t.Logf("ticket %s: %d callback(s) logged, all processed", id, len(cbs))
	}
	st := openStore(t, db)
	for _, id := range ids {
		tk, err := st.Ticket(context.Background(), sb.scope(), id)
		if err != nil || tk.Summary != edited[id] {
			t.Errorf("stored ticket %s: summary %q (%v), want %q", id, tk.Summary, err, edited[id])
		}
	}
	if n, err := st.PendingCallbacks(context.Background(), sb.scope(), 0); err != nil || len(n) != 0 {
		t.Errorf("pending callbacks left: %+v (%v)", n, err)
	}
}

// daemon is a running `reconciler run`.
type daemon struct {
	proc *proc
	name string
}

// failure is an error once the daemon exited on its own.
func (d *daemon) failure() error {
	if d.proc.exited() {
		return fmt.Errorf("%s exited: %v\nstderr:\n%s", d.name, d.proc.state, tail(d.proc.stderr.String(), 30))
	}
	return nil
}

// startDaemon starts `reconciler run` and waits until /readyz answers 200:
// the config is in force, the store answers and the HTTP server serves.
func startDaemon(t *testing.T, env []string, file, base, name string) *daemon {
	t.Helper()
	d := &daemon{proc: start(t, name, env, "run", "-f", file), name: name}
	client := &http.Client{Timeout: time.Second}
	poll(t, 2*time.Minute, name+" ready", func() (bool, error) {
		if err := d.failure(); err != nil {
			return false, err
		}
		resp, err := client.Get(base + "/readyz")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	return d
}

// callbackResult is the result of the newest callback-log row naming the
// ticket, "" when there is none (yet).
func callbackResult(db *sql.DB, id string) string {
	var result string
	err := db.QueryRow(`SELECT c.result FROM callback_log c JOIN callback_external_ids x
		ON x.callback_id = c.id WHERE x.external_id = ? ORDER BY c.id DESC LIMIT 1`, id).Scan(&result)
	if err != nil {
		return ""
	}
	return result
}

// storedSummary is the summary of the stored ticket, "" when absent.
func storedSummary(db *sql.DB, id string) string {
	var s string
	if db.QueryRow("SELECT summary FROM tickets WHERE external_id = ?", id).Scan(&s) != nil {
		return ""
	}
	return s
}

// zohoEditor edits tickets through Zoho Desk's REST API with its own
// access token, as a customer's script would. Minimal wire code, from the
// sandbox banner: the refresh-token grant, then PATCH /api/v1/tickets/{id}.
type zohoEditor struct {
	base, orgID, token string
}

func newZohoEditor(t *testing.T, sb *sandboxPSA) *zohoEditor {
	t.Helper()
	var frag struct {
		Helpdesk struct {
			Zohodesk struct {
				ClientID     string            `yaml:"clientId"`
				ClientSecret map[string]string `yaml:"clientSecret"`
				RefreshToken map[string]string `yaml:"refreshToken"`
				OrgID        string            `yaml:"orgId"`
				BaseURL      string            `yaml:"baseURL"`
			} `yaml:"zohodesk"`
		} `yaml:"helpdesk"`
	}
	if err := yaml.Unmarshal([]byte(sb.fragment), &frag); err != nil {
		t.Fatalf("sandbox fragment: %v", err)
	}
	z := frag.Helpdesk.Zohodesk
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {z.ClientID},
		"client_secret": {sb.creds[z.ClientSecret["env"]]}, "refresh_token": {sb.creds[z.RefreshToken["env"]]}}
	resp, err := http.PostForm(z.BaseURL+"/oauth/v2/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("zoho token: %v %+v", err, tok)
	}
	return &zohoEditor{base: z.BaseURL, orgID: z.OrgID, token: tok.AccessToken}
}

// setSubject changes a ticket's subject (Horizon's summary).
func (z *zohoEditor) setSubject(t *testing.T, id, subject string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"subject": subject})
	req, _ := http.NewRequest(http.MethodPatch, z.base+"/api/v1/tickets/"+id, bytes.NewReader(body))
	req.Header.Set("Authorization", "Zoho-oauthtoken "+z.token)
	req.Header.Set("orgId", z.orgID)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Subject string `json:"subject"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusOK || got.Subject != subject {
		t.Fatalf("PATCH ticket %s: %s, %v, subject %q", id, resp.Status, err, got.Subject)
	}
}
