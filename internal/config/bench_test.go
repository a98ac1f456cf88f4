package config

import (
	"os"
	"testing"
)

// BenchmarkParse loads the ConnectWise example: YAML, schema and semantic
// checks, as validate and every reload do.
func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("../../examples/horizon.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if cfg, diags := Parse("horizon.yaml", data, LoadOptions{LookupEnv: fakeEnv}); cfg == nil {
			b.Fatal(diags)
		}
	}
}
