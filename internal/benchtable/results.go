package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// A result is one benchmark line: its package, its name without the
// GOMAXPROCS suffix, and every value by unit (ns/op, the custom units of
// b.ReportMetric, B/op ...).
type result struct {
	pkg    string
	name   string
	values map[string]float64
}

// output is what one file of `go test -bench` output holds: the results,
// the packages that failed, and which benchmarks failed or were skipped.
type output struct {
	results  []result
	failed   map[string]bool // import path → a run of the package failed
	ran      map[string]bool // import path → go test reported on it (ok or FAIL)
	verdicts []verdict
}

// A verdict is a benchmark's "--- FAIL" or "--- SKIP" and the first line
// it logged (the reason, usually).
type verdict struct {
	pkg, name, kind, reason string
}

var (
	// procsSuffix is the -N go test appends to a name when GOMAXPROCS > 1.
	procsSuffix = regexp.MustCompile(`-\d+$`)
	// pkgLine is go test's closing line for a package: "ok  \tpath\t1.2s",
	// "FAIL\tpath\t1.2s", "FAIL\tpath [build failed]".
	pkgLine = regexp.MustCompile(`^(ok|FAIL)\s+(\S+)(\s|$)`)
	// verdictLine is "--- FAIL: BenchmarkX/y (0.00s)" or "--- SKIP: ...".
	verdictLine = regexp.MustCompile(`^\s*--- (FAIL|SKIP): (Benchmark\S*)`)
	// logLine is a t.Log, b.Skip or b.Fatal line under a verdict.
	logLine = regexp.MustCompile(`^\s+\S+\.go:\d+: (.*)$`)
)

// parse reads concatenated `go test -bench` output. A benchmark line that
// does not parse is an error naming its line number: a figure silently
// dropped would leave a row "not measured" with no reason.
func parse(r io.Reader) (*output, error) {
	out := &output{failed: map[string]bool{}, ran: map[string]bool{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	// A package's results and verdicts are its own once go test's closing
	// line names it: a package that fails before its first benchmark
	// prints no "pkg:" line, and the previous one's would be wrong.
	var results []result
	var verdicts []verdict
	flush := func(pkg string) {
		for i := range results {
			results[i].pkg = pkg
		}
		for i := range verdicts {
			verdicts[i].pkg = pkg
		}
		out.results, out.verdicts = append(out.results, results...), append(out.verdicts, verdicts...)
		results, verdicts = nil, nil
	}
	var pkg string
	logging := false // the lines after a verdict are its log
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if m := logLine.FindStringSubmatch(line); m != nil && logging {
			if v := &verdicts[len(verdicts)-1]; v.reason == "" {
				v.reason = m[1]
			}
			continue
		}
		logging = false
		switch {
		case strings.HasPrefix(line, "pkg: "):
			pkg = strings.TrimSpace(strings.TrimPrefix(line, "pkg: "))
		case strings.HasPrefix(line, "Benchmark"):
			res, ok, err := parseResult(line)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
			if ok {
				results = append(results, res)
			}
		default:
			if m := pkgLine.FindStringSubmatch(line); m != nil {
				out.ran[m[2]] = true
				out.failed[m[2]] = out.failed[m[2]] || m[1] == "FAIL"
				flush(m[2])
			} else if m := verdictLine.FindStringSubmatch(line); m != nil {
				verdicts = append(verdicts, verdict{name: m[2], kind: m[1]})
				logging = true
			}
		}
	}
	flush(pkg) // output cut short: the last "pkg:" line is all there is
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	return out, nil
}

// parseResult reads "BenchmarkName-2  <iterations>  <value> <unit> ...".
// ok is false for a line that starts with Benchmark but is not a result
// (the name alone, printed by -v or before a sub-benchmark's own lines).
func parseResult(line string) (res result, ok bool, err error) {
	f := strings.Fields(line)
	if len(f) < 2 {
		return res, false, nil
	}
	if _, err := strconv.Atoi(f[1]); err != nil {
		return res, false, nil
	}
	if len(f)%2 != 0 {
		return res, false, fmt.Errorf("%s: a value without its unit", f[0])
	}
	res.name = procsSuffix.ReplaceAllString(f[0], "")
	res.values = map[string]float64{}
	for i := 2; i < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return res, false, fmt.Errorf("%s: value %q of %s is not a number", f[0], f[i], f[i+1])
		}
		res.values[f[i+1]] = v
	}
	return res, true, nil
}
