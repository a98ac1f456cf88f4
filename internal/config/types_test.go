package config

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr error
		canon   string
	}{
		{"30s", 30 * time.Second, nil, "30s"},
		{"5m", 5 * time.Minute, nil, "5m"},
		{"1h30m", 90 * time.Minute, nil, "1h30m"},
		{"90m", 90 * time.Minute, nil, "1h30m"},
		{"30d", 30 * Day, nil, "30d"},
		{"1d12h", 36 * time.Hour, nil, "1d12h"},
		{"1d2h3m4s", Day + 2*time.Hour + 3*time.Minute + 4*time.Second, nil, "1d2h3m4s"},
		{"0s", 0, nil, "0s"},
		{"", 0, ErrDurationSyntax, ""},
		{"5", 0, ErrDurationSyntax, ""},
		{"1w", 0, ErrDurationSyntax, ""},
		{"5 minutes", 0, ErrDurationSyntax, ""},
		{"1m1h", 0, ErrDurationSyntax, ""},
		{"-5m", 0, ErrDurationSyntax, ""},
		{"1.5h", 0, ErrDurationSyntax, ""},
		{"99999999999999999999d", 0, ErrDurationRange, ""},
		{"106752d", 0, ErrDurationRange, ""},
		{"106751d23h47m16s", 106751*Day + 23*time.Hour + 47*time.Minute + 16*time.Second, nil, "106751d23h47m16s"},
		{"106751d23h47m17s", 0, ErrDurationRange, ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := ParseDuration(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error: got %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if d.Std() != tt.want || d.String() != tt.canon {
				t.Errorf("got %v (%s), want %v (%s)", d.Std(), d, tt.want, tt.canon)
			}
		})
	}
}

func TestDurationJSON(t *testing.T) {
	var v struct{ D Duration }
	if err := json.Unmarshal([]byte(`{"D":"2h"}`), &v); err != nil || v.D.Std() != 2*time.Hour {
		t.Fatalf("unmarshal: %v %v", v.D, err)
	}
	if err := json.Unmarshal([]byte(`{"D":"2 hours"}`), &v); err == nil {
		t.Error("unmarshal accepted a bad duration")
	}
	out, _ := json.Marshal(struct{ D Duration }{Duration(36 * time.Hour)})
	if string(out) != `{"D":"1d12h"}` {
		t.Errorf("marshal: %s", out)
	}
	if s := Duration(1500 * time.Millisecond).String(); s != "1.5s" {
		t.Errorf("sub-second: %s", s)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := Secret("hunter2")
	var logBuf bytes.Buffer
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("resolved", "secret", s)
	js, _ := json.Marshal(map[string]Secret{"k": s})
	outputs := []string{
		fmt.Sprint(s), fmt.Sprintf("%s %v %q %x %d %+v %#v", s, s, s, s, s, s, s),
		fmt.Sprintf("%v", struct{ S Secret }{s}), fmt.Sprintf("%+v", []Secret{s}),
		string(js), logBuf.String(),
	}
	for _, out := range outputs {
		if strings.Contains(out, "hunter2") {
			t.Errorf("secret leaked: %s", out)
		}
		if !strings.Contains(out, "<secret>") && !strings.Contains(out, `\u003csecret\u003e`) {
			t.Errorf("no <secret> marker: %s", out)
		}
	}
	if s.Reveal() != "hunter2" {
		t.Error("Reveal lost the value")
	}
}

func TestSecretRefResolve(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("key", "abc\r\n")
	write("empty", "\n")
	write("big", strings.Repeat("x", maxSecretFileSize+1))
	t.Setenv("HORIZON_TEST_SET", "v")
	t.Setenv("HORIZON_TEST_EMPTY", "")
	tests := []struct {
		name     string
		ref      SecretRef
		want     string
		notFound bool
		errText  string
	}{
		{"env", SecretRef{Env: "HORIZON_TEST_SET"}, "v", false, ""},
		{"env unset", SecretRef{Env: "HORIZON_TEST_UNSET"}, "", true, "environment variable HORIZON_TEST_UNSET is not set"},
		{"env empty", SecretRef{Env: "HORIZON_TEST_EMPTY"}, "", true, "is empty"},
		{"file relative", SecretRef{File: "key", dir: dir}, "abc", false, ""},
		{"file absolute", SecretRef{File: filepath.Join(dir, "key")}, "abc", false, ""},
		{"file missing", SecretRef{File: "nope", dir: dir}, "", true, "file:nope"},
		{"file empty", SecretRef{File: "empty", dir: dir}, "", true, "file is empty"},
		{"file too big", SecretRef{File: "big", dir: dir}, "", false, "larger than"},
		{"empty ref", SecretRef{}, "", true, "empty reference"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.ref.Resolve(context.Background())
			if tt.errText == "" {
				if err != nil || got.Reveal() != tt.want {
					t.Fatalf("got error %v, value matches %v", err, got.Reveal() == tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.errText) || errors.Is(err, ErrSecretNotFound) != tt.notFound {
				t.Errorf("error %v: want %q (not found: %v)", err, tt.errText, tt.notFound)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (SecretRef{Env: "HORIZON_TEST_SET"}).Resolve(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func TestSecretRefString(t *testing.T) {
	tests := []struct {
		ref  SecretRef
		want string
	}{
		{SecretRef{Env: "CW_KEY"}, "env:CW_KEY"},
		{SecretRef{File: "/run/secrets/x"}, "file:/run/secrets/x"},
		{SecretRef{}, "<unset>"},
	}
	for _, tt := range tests {
		if got := tt.ref.String(); got != tt.want {
			t.Errorf("%#v: got %q, want %q", tt.ref, got, tt.want)
		}
	}
}

func TestScopedValuesJSON(t *testing.T) {
	tests := []struct {
		in       string
		perBoard bool
		out      string
	}{
		{`["New","Closed"]`, false, `["New","Closed"]`},
		{`[]`, false, `null`},
		{`[{"board":"SD","values":["New"]}]`, true, `[{"board":"SD","values":["New"]}]`},
	}
	for _, tt := range tests {
		var s ScopedValues
		if err := json.Unmarshal([]byte(tt.in), &s); err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		out, _ := json.Marshal(s)
		if s.PerBoard() != tt.perBoard || string(out) != tt.out {
			t.Errorf("%s: per board %v, marshalled %s", tt.in, s.PerBoard(), out)
		}
	}
	var s ScopedValues
	if err := json.Unmarshal([]byte(`[1]`), &s); err == nil {
		t.Error("accepted a list of numbers")
	}
}

func TestIDJSON(t *testing.T) {
	for in, want := range map[string]ID{`"abc"`: "abc", `42`: "42", `"42"`: "42"} {
		var id ID
		if err := json.Unmarshal([]byte(in), &id); err != nil || id != want {
			t.Errorf("%s: got %q, %v", in, id, err)
		}
	}
	var id ID
	if err := json.Unmarshal([]byte(`true`), &id); err == nil {
		t.Error("accepted a boolean")
	}
}

func TestDiagnosticString(t *testing.T) {
	d := Diagnostic{File: "h.yaml", Line: 3, Col: 7, Pointer: "/sync/pollInterval", Severity: SeverityError, Message: "too short"}
	if got, want := d.String(), "h.yaml:3:7: error: too short (at /sync/pollInterval)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	d.Pointer = ""
	if got, want := d.String(), "h.yaml:3:7: error: too short"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestSortDiagnostics(t *testing.T) {
	in := []Diagnostic{
		{File: "b", Line: 1, Col: 1, Message: "x"},
		{File: "a", Line: 9, Col: 1, Message: "x"},
		{File: "a", Line: 2, Col: 5, Message: "y"},
		{File: "a", Line: 2, Col: 5, Message: "y"},
		{File: "a", Line: 2, Col: 3, Message: "z"},
	}
	got := SortDiagnostics(in)
	want := []string{"a:2:3", "a:2:5", "a:9:1", "b:1:1"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i, d := range got {
		if pos := fmt.Sprintf("%s:%d:%d", d.File, d.Line, d.Col); pos != want[i] {
			t.Errorf("%d: got %s, want %s", i, pos, want[i])
		}
	}
}

func TestSuggest(t *testing.T) {
	candidates := []string{"pollInterval", "ingestWindow", "entities", "picklistRefreshInterval"}
	for in, want := range map[string]string{
		"pollIntervall": "pollInterval", "pollinterval": "pollInterval", "entites": "entities",
		"ingest": "", "zzz": "",
	} {
		if got := suggest(in, candidates); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSecretNames(t *testing.T) {
	for ptr, want := range map[string][2]string{
		"/helpdesk/connectwise/privateKey":    {"CW_PRIVATE_KEY", "/run/secrets/cw-private-key"},
		"/helpdesk/autotask/integrationCode":  {"AUTOTASK_INTEGRATION_CODE", "/run/secrets/autotask-integration-code"},
		"/helpdesk/zohodesk/refreshToken":     {"ZOHO_REFRESH_TOKEN", "/run/secrets/zoho-refresh-token"},
		"/helpdesk/halopsa/clientSecret":      {"HALO_CLIENT_SECRET", "/run/secrets/halo-client-secret"},
		"/callbacks/secret":                   {"HORIZON_CALLBACK_SECRET", "/run/secrets/horizon-callback-secret"},
		"/helpdesk/unknownprovider/something": {"HORIZON_SOMETHING", "/run/secrets/horizon-something"},
	} {
		env, file := secretNames(ptr)
		if env != want[0] || file != want[1] {
			t.Errorf("%s: got %s %s, want %v", ptr, env, file, want)
		}
	}
}
