package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/horizon/reconciler/internal/store"
)

// TestTicketCommands runs the write CLI against a sandbox ConnectWise with
// no daemon: each command delivers its own write.
func TestTicketCommands(t *testing.T) {
	sb, err := startSandbox(sandboxFlags{provider: "connectwise", listen: "127.0.0.1:0", tickets: 20, seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.stop)
	member := sb.World.Members()[1]
	env := map[string]string{"HORIZON_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "h.db"), "HORIZON_TEST_API_TOKEN": "t0ken"}
	for k, v := range sb.Emulator.Env() {
		env[k] = v
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	file := filepath.Join(t.TempDir(), "horizon.yaml")
	yaml := "apiVersion: horizon/v1\naccount: {name: cmd-write}\n" + sb.Emulator.ConfigFragment(sb.URL) + `
sync:
  entities: [tickets]
userMappings:
  unmappedPolicy: ignore
  mappings:
    - {helpdeskUser: ` + member.Identifier + `, horizonUser: jane@horizon.example}
writeback:
  apiToken: {env: HORIZON_TEST_API_TOKEN}
`
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := run(t, env, "", "apply", "-f", file, "-q"); code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
	}
	ticket := storedTicket(t, env["HORIZON_DATABASE_URL"])
	id, _ := strconv.ParseInt(ticket, 10, 64)
	before := len(sb.World.Notes(id))

	steps := []struct {
		name    string
		args    []string
		want    int
		wantOut string
		wantErr string
	}{
		{"note", []string{"ticket", "note", "-f", file, "--ticket", ticket, "--as", "jane@horizon.example", "--text", "Called the client"},
			0, "done: note ", ""},
		{"unmapped author", []string{"ticket", "note", "-f", file, "--ticket", ticket, "--as", "eve@horizon.example", "--text", "x"},
			1, "", "author: eve@horizon.example: no helpdesk user is mapped"},
		{"unknown status", []string{"ticket", "update", "-f", file, "--ticket", ticket, "--as", "jane@horizon.example", "--status", "No Such Status"},
			1, "", `unknown status "No Such Status"`},
		{"no --as", []string{"ticket", "note", "-f", file, "--ticket", ticket, "--text", "x"}, 2, "", "--as is required"},
		{"queued only", []string{"ticket", "note", "-f", file, "--ticket", ticket, "--as", "jane@horizon.example", "--text", "later", "--no-wait"},
			0, "pending: queued", ""},
	}
	for _, s := range steps {
		code, out, errOut := run(t, env, "", s.args...)
		if code != s.want || !strings.Contains(out, s.wantOut) || !strings.Contains(errOut, s.wantErr) {
			t.Fatalf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", s.name, code, s.want, out, errOut)
		}
	}
	notes := sb.World.Notes(id)
	if len(notes) != before+1 || !strings.Contains(notes[len(notes)-1].Text, "Called the client") {
		t.Fatalf("sandbox notes of ticket %s: %+v, want one more", ticket, notes)
	}
	code, out, _ := run(t, env, "", "logs", "writes", "-f", file, "-o", "json")
	var ws []store.Write
	if code != 0 || json.Unmarshal([]byte(out), &ws) != nil || len(ws) != 2 {
		t.Fatalf("logs writes: exit %d\n%s", code, out)
	}
	if ws[1].State != store.WriteDone || ws[1].Author != "jane@horizon.example" || ws[1].MemberName == "" || ws[0].State != store.WritePending {
		t.Errorf("write log: %+v", ws)
	}
	code, out, _ = run(t, env, "", "logs", "writes", "-f", file, "--ticket", ticket)
	if code != 0 || !strings.Contains(out, "note.create") || !strings.Contains(out, "jane@horizon.example") {
		t.Errorf("logs writes text: exit %d\n%s", code, out)
	}
}

// storedTicket returns the external ID of a ticket the store holds.
func storedTicket(t *testing.T, url string) string {
	t.Helper()
	st, err := store.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for tk, err := range st.Tickets(t.Context(), store.Scope{Account: "cmd-write", Provider: "connectwise"}) {
		if err != nil {
			t.Fatal(err)
		}
		if !tk.Closed {
			return tk.ExternalID
		}
	}
	t.Fatal("no ticket in the store")
	return ""
}
