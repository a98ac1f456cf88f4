package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/horizon/reconciler/internal/config"
)

// namePos is where account.name's value starts in file, as line:col.
func namePos(t *testing.T, file string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(data), "\n") {
		if _, after, ok := strings.Cut(line, "  name: "); ok && strings.HasPrefix(line, "  name: ") {
			return fmt.Sprintf("%d:%d", i+1, len(line)-len(after)+1)
		}
	}
	t.Fatalf("%s has no account name line", file)
	return ""
}

// TestValidateDirectory: a directory is its account files; an account
// name used twice is an error at both files, each naming the other, and
// the JSON output names the file of every diagnostic.
func TestValidateDirectory(t *testing.T) {
	dir := t.TempDir()
	example, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, account string) string {
		file := filepath.Join(dir, name)
		data := strings.Replace(string(example), "name: acme-msp", "name: "+account, 1)
		if err := os.WriteFile(file, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return file
	}
	acme, dup, beta := write("acme.yaml", "acme"), write("copy.yml", "acme"), write("beta.yaml", "beta")
	write(".hidden.yaml", "acme") // an editor's file: not an account
	write("notes.txt", "acme")    // not YAML: not an account
	os.Mkdir(filepath.Join(dir, "old"), 0o755)
	write("old/acme.yaml", "acme") // subdirectories are not read
	acmeAt, dupAt := acme+":"+namePos(t, acme), dup+":"+namePos(t, dup)

	tests := []struct {
		name string
		args []string
		want int
		out  []string
		not  []string
	}{
		{"directory", []string{"validate", dir}, ExitInvalid,
			[]string{acmeAt + `: error: account.name "acme" is also used by ` + dupAt,
				dupAt + `: error: account.name "acme" is also used by ` + acmeAt + ": every account file needs its own name (" + acme + " keeps the account; this file is not run)",
				beta + ": valid (connectwise, account beta; 1 warning)"},
			[]string{".hidden", "notes.txt", "old", acme + ": valid", dup + ": valid"}},
		{"directory by -f", []string{"validate", "-f", dir}, ExitInvalid, []string{acmeAt + ": error:", dupAt + ": error:"}, nil},
		{"a file named twice is one account", []string{"validate", acme, dir + "/../" + filepath.Base(dir) + "/acme.yaml", beta},
			ExitOK, []string{acme + ": valid (connectwise, account acme"}, []string{"also used"}},
		{"files of distinct accounts", []string{"validate", acme, beta}, ExitOK, nil, []string{"error"}},
		{"an empty directory", []string{"validate", t.TempDir()}, ExitUsage, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, secretsEnv, "", tt.args...)
			if code != tt.want {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.want, stdout, stderr)
			}
			for _, want := range tt.out {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
			for _, not := range tt.not {
				if strings.Contains(stdout, not) {
					t.Errorf("stdout has %q:\n%s", not, stdout)
				}
			}
		})
	}

	code, stdout, _ := run(t, secretsEnv, "", "validate", "-o", "json", dir)
	var diags []config.Diagnostic
	if err := json.Unmarshal([]byte(stdout), &diags); err != nil || code != ExitInvalid {
		t.Fatalf("validate -o json: exit %d, %v:\n%s", code, err, stdout)
	}
	dups := map[string]string{}
	for _, d := range diags {
		if d.Pointer == "/account/name" && d.Severity == config.SeverityError {
			dups[fmt.Sprintf("%s:%d:%d", d.File, d.Line, d.Col)] = d.Message
		}
	}
	if len(dups) != 2 || !strings.Contains(dups[acmeAt], dupAt) || !strings.Contains(dups[dupAt], acmeAt) {
		t.Errorf("JSON duplicate diagnostics %v, want one at %s and one at %s naming each other", dups, acmeAt, dupAt)
	}
}
