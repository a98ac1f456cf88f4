package main

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// TestTable prints the table of captured scripts/bench outputs and
// compares it with the golden files: quick.bench.txt is a real --quick run
// (BenchmarkFleet absent from the tree); failed.bench.txt has a failed
// sub-benchmark, a package that did not build, one not run, a missing
// store variant, aims missed, one RSS size and fleet figures.
func TestTable(t *testing.T) {
	for _, tc := range []struct {
		file string
		args []string
	}{
		{"quick", []string{"-title", "scripts/bench (quick)", "-missing", "BenchmarkFleet"}},
		{"failed", nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var out bytes.Buffer
			if err := run(append(tc.args, filepath.Join("testdata", tc.file+".bench.txt")), &out); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.file+".golden")
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != string(want) {
				t.Errorf("table differs from %s (go test -update rewrites it):\n%s", golden, out.String())
			}
		})
	}
}

// TestRatiosDivideBothSides checks every ratio of the quick sample
// against the benchmarks' own ratio metrics: the table divides the two
// figures it shows, and must agree with what the benchmark computed.
func TestRatiosDivideBothSides(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "quick.bench.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, err := parse(f)
	if err != nil {
		t.Fatal(err)
	}
	own := map[string]string{"BenchmarkRequestsPerEntity": "x-floor", "BenchmarkThroughput": "sync/drain",
		"BenchmarkIngestRatio": "ratio", "BenchmarkReceiver": "x-bare", "BenchmarkDrainVsLimiter": "ratio"}
	checked := 0
	for _, r := range out.results {
		top, _, _ := strings.Cut(r.name, "/")
		unit, ok := own[top]
		if !ok {
			continue
		}
		var m, a float64
		switch top {
		case "BenchmarkRequestsPerEntity":
			m, a = r.values["req/1000objects"], r.values["floor-req/1000objects"]
		case "BenchmarkThroughput":
			m, a = r.values["sync-tickets/s"], r.values["drain-tickets/s"]
		case "BenchmarkIngestRatio":
			m, a = r.values["upsert-rows/s"], r.values["raw-rows/s"]
		case "BenchmarkReceiver":
			m, a = r.values["req/s"], r.values["bare-req/s"]
		case "BenchmarkDrainVsLimiter":
			m, a = r.values["outbox-writes/s"], r.values["direct-writes/s"]
		}
		// The benchmark prints its ratio to four significant digits.
		if got, want := m/a, r.values[unit]; math.Abs(got-want) > 0.0005*want {
			t.Errorf("%s: %s / %s = %v, the benchmark's %s says %v", r.name, num(m), num(a), got, unit, want)
		}
		checked++
	}
	if checked < 30 {
		t.Errorf("checked %d ratios, want every one of the sample's (at least 30)", checked)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"value without unit", "pkg: x\nBenchmarkA-2 \t 1 \t 5 ns/op \t 7\n", "line 2: BenchmarkA-2: a value without its unit"},
		{"value not a number", "BenchmarkA-2 \t 1 \t fast ns/op\n", `line 1: BenchmarkA-2: value "fast" of ns/op is not a number`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(strings.NewReader(tc.in))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("parse: %v, want %q", err, tc.want)
			}
		})
	}
}

func TestRunArgs(t *testing.T) {
	var out bytes.Buffer
	if err := run(nil, &out); err == nil || !strings.Contains(err.Error(), "want one file") {
		t.Errorf("no file: %v", err)
	}
	if err := run([]string{filepath.Join(t.TempDir(), "none.out")}, &out); err == nil || !os.IsNotExist(err) {
		t.Errorf("a file that does not exist: %v", err)
	}
}
