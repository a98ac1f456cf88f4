package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadSet(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.yaml", minimal)
	b := write("b.yml", strings.Replace(minimal, "{name: acme}", "{name: beta}", 1))
	c := write("c.yaml", minimal) // acme again
	write("d.yaml", "apiVersion: horizon/v1\naccount: {name: 7}\n")
	write(".hidden.yaml", "not: read")
	write("notes.txt", "not an account")

	set, err := LoadSet([]string{dir}, LoadOptions{LookupEnv: fakeEnv})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(set.Files); got != 4 {
		t.Fatalf("files = %v, want a, b, c, d", set.Files)
	}
	var names []string
	for _, cfg := range set.Configs {
		names = append(names, cfg.Account.Name+"@"+filepath.Base(cfg.File))
	}
	if got := strings.Join(names, " "); got != "acme@a.yaml beta@b.yml" {
		t.Errorf("accounts run = %q, want the first acme and beta", got)
	}
	if !set.Invalid() {
		t.Error("a set with a duplicate name and an invalid file is valid")
	}
	var dup []string
	for _, d := range set.Diagnostics {
		if strings.Contains(d.Message, "also used by") {
			dup = append(dup, d.String())
		}
	}
	if len(dup) != 2 || !strings.HasPrefix(dup[0], a+":2:") || !strings.Contains(dup[0], c+":2:") ||
		!strings.HasPrefix(dup[1], c+":2:") || !strings.Contains(dup[1], a+" keeps the account") {
		t.Errorf("duplicate diagnostics:\n%s", strings.Join(dup, "\n"))
	}
	if set.Account("beta") == nil || set.Account("beta").File != b {
		t.Error("Account(beta) not found")
	}

	if _, err := LoadSet([]string{t.TempDir()}, LoadOptions{}); err == nil || !strings.Contains(err.Error(), "holds no") {
		t.Errorf("empty directory: err = %v", err)
	}
	one, err := LoadSet([]string{a, a}, LoadOptions{LookupEnv: fakeEnv})
	if err != nil || len(one.Configs) != 1 || one.Invalid() {
		t.Errorf("the same file twice: %v, %+v", err, one)
	}
}
