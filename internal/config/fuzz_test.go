package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse. It must never panic, must return
// a configuration exactly when there is no error, and every diagnostic must
// carry a position.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("../../examples/*.yaml")
	more, _ := filepath.Glob("testdata/invalid/*.yaml")
	for _, path := range append(seeds, more...) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(minimal))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, diags := Parse("fuzz.yaml", data, LoadOptions{LookupEnv: fakeEnv})
		if (cfg == nil) != HasErrors(diags) {
			t.Fatalf("config %v with diagnostics %v", cfg != nil, diags)
		}
		for _, d := range diags {
			if d.Line < 1 || d.Col < 1 || d.Message == "" || d.File != "fuzz.yaml" {
				t.Fatalf("malformed diagnostic %+v", d)
			}
			if d.Pointer != "" && !strings.HasPrefix(d.Pointer, "/") {
				t.Fatalf("malformed pointer %+v", d)
			}
		}
		if cfg != nil {
			_ = cfg.Hash()
			_ = cfg.SecretRefs()
		}
	})
}
