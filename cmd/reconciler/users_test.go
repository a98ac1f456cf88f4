package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestUsersMarksAPIUserAndIgnored: `users` names Horizon's own API user
// and the ignored service accounts, and does not count them as unmapped.
func TestUsersMarksAPIUserAndIgnored(t *testing.T) {
	file, env := sandboxFile(t, "\nsync:\n  entities: [tickets]\nuserMappings:\n  unmappedPolicy: warn\n")
	if code, out, errOut := run(t, env, "", "apply", "-f", file, "-q"); code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
	}
	rowsOf := func() []userRow {
		code, out, errOut := run(t, env, "", "users", "-f", file, "-o", "json")
		if code != 0 {
			t.Fatalf("users: exit %d\n%s\n%s", code, out, errOut)
		}
		var rows []userRow
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatal(err)
		}
		return rows
	}
	var api, other userRow
	for _, r := range rowsOf() {
		switch {
		case r.NotTechnician == "api user":
			api = r
		case r.Active && other.ExternalID == "":
			other = r
		}
	}
	if api.ExternalID == "" || api.Identifier != "horizon-api" {
		t.Fatalf("no row marked as Horizon's API user (got %+v)", api)
	}
	data, _ := os.ReadFile(file)
	if err := os.WriteFile(file, append(data, []byte("  ignore: ["+other.Email+"]\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, r := range rowsOf() {
		if r.ExternalID == other.ExternalID && r.NotTechnician != "ignored" {
			t.Errorf("ignored user shown as %+v", r)
		}
	}
	_, out, _ := run(t, env, "", "users", "-f", file)
	if !strings.Contains(out, "- (Horizon's API user)") || !strings.Contains(out, "- (ignored)") {
		t.Errorf("text output does not mark them:\n%s", out)
	}
}
