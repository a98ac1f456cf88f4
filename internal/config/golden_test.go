package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/invalid/*.golden from the current output")

// fakeEnv claims every variable is set, except those named MISSING_*.
func fakeEnv(name string) (string, bool) {
	if strings.HasPrefix(name, "MISSING_") {
		return "", false
	}
	return "value-of-" + name, true
}

// goldenOptions are the options a testdata file is loaded with: files named
// *strict* load in strict mode.
func goldenOptions(path string) LoadOptions {
	return LoadOptions{Strict: strings.Contains(filepath.Base(path), "strict"), LookupEnv: fakeEnv}
}

func renderDiagnostics(diags []Diagnostic) string {
	var b strings.Builder
	for _, d := range diags {
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// TestInvalidGolden loads every testdata/invalid file and compares the
// diagnostics, in text form, with its .golden file.
func TestInvalidGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 30 {
		t.Fatalf("found %d invalid testdata files; want at least 30", len(files))
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".yaml"), func(t *testing.T) {
			cfg, diags, err := Load(path, goldenOptions(path))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if cfg != nil || !HasErrors(diags) {
				t.Fatalf("Load accepted an invalid file; diagnostics:\n%s", renderDiagnostics(diags))
			}
			got := renderDiagnostics(diags)
			if strings.Contains(got, "do-not-print") {
				t.Errorf("diagnostics leak a secret value:\n%s", got)
			}
			compareGolden(t, strings.TrimSuffix(path, ".yaml")+".golden", got)
		})
	}
}

func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("diagnostics differ from %s (run go test -update after checking them)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// TestGoldenFilesHaveInputs catches a golden file left behind by a renamed
// or deleted input.
func TestGoldenFilesHaveInputs(t *testing.T) {
	goldens, _ := filepath.Glob("testdata/invalid/*.golden")
	for _, g := range goldens {
		if _, err := os.Stat(strings.TrimSuffix(g, ".golden") + ".yaml"); err != nil {
			t.Errorf("%s has no input file", g)
		}
	}
}

// TestHugeFile checks the size bound on a 10 MiB file, generated here rather
// than committed.
func TestHugeFile(t *testing.T) {
	data := bytes.Repeat([]byte("# padding padding padding padding padding padding padding padding\n"), 10<<20/66+1)
	data = data[:10<<20]
	path := filepath.Join(t.TempDir(), "huge.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	want := "file is 10.0 MiB; the limit is 1 MiB"
	_, diags, err := Load(path, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(diags) != 1 || diags[0].Message != want || diags[0].File != path {
		t.Errorf("Load: got %v, want one diagnostic %q", diags, want)
	}
	_, diags = Parse("huge.yaml", data, LoadOptions{})
	if len(diags) != 1 || diags[0].Message != want {
		t.Errorf("Parse: got %v, want one diagnostic %q", diags, want)
	}
}
