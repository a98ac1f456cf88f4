package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/settings"
	"github.com/horizon/reconciler/schema"
)

// run executes the command line in-process and returns its exit code and
// streams. env is the whole environment the command sees.
func run(t *testing.T, env map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	m := &Main{
		Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr,
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	}
	code := exitCode(m.Run(context.Background(), args), &stderr)
	return code, stdout.String(), stderr.String()
}

// secretsEnv sets every variable the examples reference.
var secretsEnv = map[string]string{
	"CW_PUBLIC_KEY": "x", "AUTOTASK_SECRET": "x", "ZOHO_CLIENT_SECRET": "x",
	"HALO_CLIENT_SECRET": "x", "HORIZON_CALLBACK_SECRET": "x", "HORIZON_API_TOKEN": "x",
}

const (
	example = "../../examples/horizon.yaml"
	invalid = "../../internal/config/testdata/invalid/mixed-many-problems.yaml"
)

func TestValidateExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"valid", []string{"validate", example}, ExitOK},
		{"all examples", []string{"validate", "../../examples/autotask.yaml", "../../examples/zohodesk.yaml", "../../examples/halopsa.yaml", example}, ExitOK},
		{"invalid", []string{"validate", invalid}, ExitInvalid},
		{"valid and invalid", []string{"validate", example, invalid}, ExitInvalid},
		{"strict turns missing secret files into errors", []string{"validate", "--strict", example}, ExitInvalid},
		{"missing file", []string{"validate", "no-such-file.yaml"}, ExitUsage},
		{"missing file wins over invalid", []string{"validate", invalid, "no-such-file.yaml"}, ExitUsage},
		{"no files", []string{"validate"}, ExitUsage},
		{"bad output", []string{"validate", "--output", "xml", example}, ExitUsage},
		{"unknown flag", []string{"validate", "--nope", example}, ExitUsage},
		{"unknown command", []string{"frobnicate"}, ExitUsage},
		{"bad log level flag", []string{"--log-level", "loud", "validate", example}, ExitUsage},
		{"no arguments prints help", nil, ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, secretsEnv, "", tt.args...)
			if code != tt.want {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.want, stdout, stderr)
			}
		})
	}
}

func TestValidateText(t *testing.T) {
	code, stdout, _ := run(t, secretsEnv, "", "validate", example, invalid)
	if code != ExitInvalid {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	wantValid := example + ": valid (connectwise, account acme-msp; 1 warning)"
	if !contains(lines, wantValid) {
		t.Errorf("no line %q in:\n%s", wantValid, stdout)
	}
	wantProblem := invalid + ":14:17: error: sync.pollInterval is 10s, which is too short; the minimum is 1m (at /sync/pollInterval)"
	if !contains(lines, wantProblem) {
		t.Errorf("no line %q in:\n%s", wantProblem, stdout)
	}
	if strings.Contains(stdout, "do-not-print") {
		t.Errorf("a secret value leaked:\n%s", stdout)
	}
}

func contains(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

func TestValidateJSON(t *testing.T) {
	code, stdout, _ := run(t, secretsEnv, "", "validate", "-o", "json", invalid)
	if code != ExitInvalid {
		t.Fatalf("exit %d", code)
	}
	var diags []config.Diagnostic
	if err := json.Unmarshal([]byte(stdout), &diags); err != nil {
		t.Fatalf("output is not a JSON array of diagnostics: %v\n%s", err, stdout)
	}
	if len(diags) != 8 || diags[0].File != invalid || diags[0].Line != 4 || diags[0].Pointer != "/account/displayname" {
		t.Errorf("unexpected diagnostics: %+v", diags)
	}
	code, stdout, _ = run(t, secretsEnv, "", "validate", "-o", "json", "../../examples/autotask.yaml")
	diags = nil
	if err := json.Unmarshal([]byte(stdout), &diags); err != nil || code != ExitOK || config.HasErrors(diags) {
		t.Errorf("valid file: exit %d, want a JSON array of warnings, got %s", code, stdout)
	}
	dir := t.TempDir()
	clean := filepath.Join(dir, "clean.yaml")
	data, _ := os.ReadFile("../../examples/autotask.yaml")
	data = bytes.ReplaceAll(data, []byte("{file: /run/secrets/autotask-integration-code}"), []byte("{env: AUTOTASK_SECRET}"))
	if err := os.WriteFile(clean, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = run(t, secretsEnv, "", "validate", "-o", "json", clean)
	if code != ExitOK || strings.TrimSpace(stdout) != "[]" {
		t.Errorf("clean file: exit %d, want [], got %s", code, stdout)
	}
}

func TestValidateGitHub(t *testing.T) {
	code, stdout, _ := run(t, secretsEnv, "", "validate", "--output", "github", invalid, example)
	if code != ExitInvalid {
		t.Fatalf("exit %d", code)
	}
	want := "::error file=" + invalid + ",line=14,col=17::sync.pollInterval is 10s, which is too short; the minimum is 1m (at /sync/pollInterval)"
	if !contains(strings.Split(stdout, "\n"), want) {
		t.Errorf("no annotation %q in:\n%s", want, stdout)
	}
	if !strings.Contains(stdout, "::warning file="+example+",line=16,col=24::") {
		t.Errorf("warnings are not ::warning annotations:\n%s", stdout)
	}
	if got := ghProperty("a:b,c%\n"); got != "a%3Ab%2Cc%25%0A" {
		t.Errorf("ghProperty: %q", got)
	}
}

func TestValidateStdin(t *testing.T) {
	data, err := os.ReadFile("../../examples/halopsa.yaml")
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := run(t, secretsEnv, string(data), "validate", "-")
	if code != ExitOK || !strings.Contains(stdout, "<stdin>: valid (halopsa, account fabrikam") {
		t.Errorf("exit %d:\n%s", code, stdout)
	}
}

func TestSchemaCommand(t *testing.T) {
	code, stdout, _ := run(t, nil, "", "schema")
	if code != ExitOK || stdout != string(schema.JSON()) {
		t.Errorf("exit %d; output equals the embedded schema: %v", code, stdout == string(schema.JSON()))
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := run(t, nil, "", "version")
	if code != ExitOK || !strings.HasPrefix(stdout, "reconciler ") {
		t.Errorf("exit %d: %q", code, stdout)
	}
	bi := &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2025-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	tests := []struct {
		ldflags string
		bi      *debug.BuildInfo
		prefix  string
	}{
		{"v2.0.0", bi, "reconciler v2.0.0 (commit 0123456789ab, 2025-01-02T03:04:05Z, modified) go"},
		{"", bi, "reconciler v1.4.0 (commit 0123456789ab, 2025-01-02T03:04:05Z, modified) go"},
		{"", nil, "reconciler dev go"},
		{"", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "reconciler dev go"},
	}
	for _, tt := range tests {
		if got := versionString(tt.ldflags, tt.bi); !strings.HasPrefix(got, tt.prefix) {
			t.Errorf("versionString(%q): got %q, want prefix %q", tt.ldflags, got, tt.prefix)
		}
	}
}

// TestConfigDocsUpToDate fails when docs/config.md no longer matches the
// schema and the capability table.
func TestConfigDocsUpToDate(t *testing.T) {
	want, err := configReference()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("docs/config.md is stale: run go generate ./schema")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if spliced, err := spliceReadme(readme, readmeSection(want)); err != nil || !bytes.Equal(spliced, readme) {
		t.Errorf("the README's configuration reference is stale (%v): run go generate ./schema", err)
	}
	out := filepath.Join(t.TempDir(), "config.md")
	if code, _, stderr := run(t, nil, "", "docs", "config", "--out", out); code != ExitOK {
		t.Fatalf("docs config: exit %d: %s", code, stderr)
	}
	if written, _ := os.ReadFile(out); !bytes.Equal(written, want) {
		t.Error("docs config --out wrote something else")
	}
}

func TestHelpIsWritten(t *testing.T) {
	_, stdout, _ := run(t, nil, "", "--help")
	for _, v := range settings.Variables() {
		if !strings.Contains(stdout, v.Name) {
			t.Errorf("root help does not list %s", v.Name)
		}
	}
	for _, cmd := range []string{"validate", "schema", "version", "docs"} {
		code, stdout, _ := run(t, nil, "", cmd, "--help")
		if code != ExitOK || !strings.Contains(stdout, ". ") {
			t.Errorf("%s --help: exit %d, no sentences:\n%s", cmd, code, stdout)
		}
	}
}

func TestSettingsPrecedence(t *testing.T) {
	env := map[string]string{"HORIZON_LOG_LEVEL": "warn", "HORIZON_LISTEN_ADDR": ":9000", "HORIZON_LOG_FORMAT": "json"}
	tests := []struct {
		name   string
		args   []string
		listen string
		level  string
	}{
		{"environment", []string{"schema"}, ":9000", "warn"},
		{"flags override", []string{"--listen-addr", ":7000", "--log-level", "debug", "schema"}, ":7000", "debug"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Main{Stdin: strings.NewReader(""), Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{},
				LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
			if err := m.Run(context.Background(), tt.args); err != nil {
				t.Fatal(err)
			}
			if m.Settings.ListenAddr != tt.listen || m.Settings.LogLevel.String() != tt.level || m.Settings.LogFormat != settings.LogJSON {
				t.Errorf("settings %+v", m.Settings)
			}
		})
	}
}
