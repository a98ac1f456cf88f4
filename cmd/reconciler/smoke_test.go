package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// The smoke command's exit statuses when it cannot run: usage errors are
// 2 like an unreadable file, an invalid file 1, as for every command.
func TestSmokeCannotRun(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "h.db")
	env := map[string]string{"HORIZON_DATABASE_URL": db}
	tests := []struct {
		name string
		args []string
		want int
		err  string
	}{
		{"bad output", []string{"smoke", "-f", example, "-o", "xml"}, ExitUsage, "--output \"xml\""},
		{"bad timeout", []string{"smoke", "-f", example, "--timeout", "0s"}, ExitUsage, "--timeout must be positive"},
		{"invalid file", []string{"smoke", "-f", invalid}, ExitInvalid, ""},
		{"missing file", []string{"smoke", "-f", "no-such-file.yaml"}, ExitUsage, "no-such-file.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := run(t, env, "", tc.args...)
			if code != tc.want || !strings.Contains(stderr, tc.err) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tc.want, tc.err)
			}
		})
	}
}
