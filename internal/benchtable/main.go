// Command benchtable prints the table of scripts/bench: it reads the
// concatenated output of `go test -bench` runs and prints, for each
// figure the performance table names, what was measured, what it is
// measured against in the same run, their ratio and the aim where one is
// stated. The benchmarks report both sides of every ratio (b.ReportMetric),
// so the table only divides; a row whose benchmark failed, was skipped or
// is missing says "not measured" and why.
//
//	go run ./internal/benchtable [-title T] [-missing BenchmarkFleet] FILE
//
// The parser reads the benchmark format directly (one result per line)
// rather than through golang.org/x/perf, whose module graph is far larger
// than the few lines it would save.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(2)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("benchtable", flag.ContinueOnError)
	title := fs.String("title", "", "line printed above the table")
	missing := fs.String("missing", "", "comma-separated benchmarks known to be absent from the tree (their rows say so)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("want one file of go test -bench output, got %d arguments", fs.NArg())
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	out, err := parse(f)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	var names []string
	if *missing != "" {
		names = strings.Split(*missing, ",")
	}
	return write(stdout, *title, build(out, names))
}
