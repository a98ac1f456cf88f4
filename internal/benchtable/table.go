package main

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A row of the table. A row with only a metric is a section heading.
type row struct {
	metric, measured, against, ratio, aim string
}

// table builds the rows from parsed output. missing names benchmarks the
// caller knows are not in the tree, so that their rows say so instead of
// "no result".
type table struct {
	out     *output
	missing map[string]bool
	rows    []row
}

// build returns every row of the table, in the order of the list.
func build(out *output, missing []string) []row {
	t := &table{out: out, missing: map[string]bool{}}
	for _, m := range missing {
		t.missing[m] = true
	}
	t.requests()
	t.throughput()
	t.ingest()
	t.callbacks()
	t.writeback()
	t.rss()
	t.fleet()
	return t.rows
}

func (t *table) section(title string) { t.rows = append(t.rows, row{metric: title}) }

// open adds the heading title and returns the results of bench in pkg;
// when there are none, it adds the row what, not measured.
func (t *table) open(title, what, pkg, bench string) []result {
	t.section(title)
	rs := t.find(pkg, bench)
	if len(rs) == 0 {
		t.notMeasured(what, pkg, bench)
	}
	return rs
}

func (t *table) add(r row) {
	r.metric = "  " + r.metric
	t.rows = append(t.rows, r)
}

// find returns the results of bench (a top-level benchmark name) in the
// package whose import path ends with /pkg.
func (t *table) find(pkg, bench string) []result {
	var rs []result
	for _, r := range t.out.results {
		if strings.HasSuffix(r.pkg, "/"+pkg) && (r.name == bench || strings.HasPrefix(r.name, bench+"/")) {
			rs = append(rs, r)
		}
	}
	return rs
}

// notMeasured adds the row of a benchmark without results, saying why:
// missing from the tree, failed or skipped (with its first log line), its
// package failed or was not run, or no result line at all.
func (t *table) notMeasured(metric, pkg, bench string) {
	t.add(row{metric: metric, measured: "not measured (" + t.why(pkg, bench) + ")"})
}

func (t *table) why(pkg, bench string) string {
	if t.missing[bench] {
		return bench + " missing"
	}
	var vs []verdict
	for _, v := range t.out.verdicts {
		if strings.HasSuffix(v.pkg, "/"+pkg) && (v.name == bench || strings.HasPrefix(v.name, bench+"/")) {
			vs = append(vs, v)
		}
	}
	slices.SortFunc(vs, func(a, b verdict) int { return cmp.Compare(a.name, b.name) })
	for _, kind := range []string{"FAIL", "SKIP"} {
		for _, v := range vs {
			if v.kind == kind {
				word := map[string]string{"FAIL": "failed", "SKIP": "skipped"}[kind]
				if v.reason != "" {
					return fmt.Sprintf("%s %s: %s", v.name, word, v.reason)
				}
				return v.name + " " + word
			}
		}
	}
	for path := range t.out.ran {
		if strings.HasSuffix(path, "/"+pkg) {
			if t.out.failed[path] {
				return "no result: a run of ./" + pkg + " failed"
			}
			return "no " + bench + " result in the output"
		}
	}
	return "./" + pkg + " not run"
}

// failures adds a row for each failed benchmark under bench that left no
// result (the innermost failure: its parents fail with it), its metric
// being prefix and the name below bench.
func (t *table) failures(pkg, bench, prefix string) {
	var names []string
	for _, v := range t.out.verdicts {
		if v.kind == "FAIL" && strings.HasSuffix(v.pkg, "/"+pkg) && strings.HasPrefix(v.name, bench+"/") {
			names = append(names, v.name)
		}
	}
	slices.Sort(names)
	for i, name := range names {
		if i+1 < len(names) && strings.HasPrefix(names[i+1], name+"/") {
			continue
		}
		if _, ok := t.one(t.find(pkg, bench), name); !ok {
			t.notMeasured(prefix+strings.ReplaceAll(strings.TrimPrefix(name, bench+"/"), "/", " "), pkg, name)
		}
	}
}

// sub is a result's name below its top-level benchmark.
func sub(r result) string {
	_, s, _ := strings.Cut(r.name, "/")
	return s
}

// ratio formats measured/against, the only arithmetic the table does on
// the benchmarks' figures.
func ratio(measured, against float64) string {
	if against == 0 || math.IsNaN(measured) || math.IsNaN(against) {
		return "n/a"
	}
	// Three decimals below 10, so that a ratio judged against an aim
	// (0.897 against ≥ 0.9) never prints as the aim itself.
	if r := measured / against; math.Abs(r) < 10 {
		return strconv.FormatFloat(r, 'f', 3, 64)
	}
	return strconv.FormatFloat(measured/against, 'f', 1, 64)
}

// num formats a figure: thousands separated above 1,000, three
// significant digits below.
func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	if math.Abs(v) < 1000 {
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && c != '-' && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// aim is the stated aim and whether this run met it.
func aim(text string, met bool) string {
	if met {
		return text + " (met)"
	}
	return text + " (missed)"
}

// value returns a result's figure in unit, and whether it has one.
func value(r result, unit string) (float64, bool) {
	v, ok := r.values[unit]
	return v, ok
}

// pair adds a row from two figures of r: measured against the baseline.
// A result without both figures is named as such rather than dropped.
//
// mFormat and aFormat place the figure (%s) in its words.
func (t *table) pair(r result, metric, mUnit, mFormat, aUnit, aFormat string) (m, a float64, ok bool) {
	m, okM := value(r, mUnit)
	a, okA := value(r, aUnit)
	if !okM || !okA {
		t.add(row{metric: metric, measured: fmt.Sprintf("not measured (%s reports no %s or %s)", r.name, mUnit, aUnit)})
		return 0, 0, false
	}
	t.add(row{metric: metric, measured: fmt.Sprintf(mFormat, num(m)), against: fmt.Sprintf(aFormat, num(a)), ratio: ratio(m, a)})
	return m, a, true
}

// requests: BenchmarkRequestsPerEntity, per PSA and entity; the floor is
// one request per page of the largest page size (plus one per ticket
// where a PSA lists time entries ticket by ticket).
func (t *table) requests() {
	rs := t.open("requests per 1,000 objects, backfill (against the PSA's floor)", "every PSA and entity", "internal/syncer", "BenchmarkRequestsPerEntity")
	for _, r := range rs {
		m, a, ok := t.pair(r, strings.ReplaceAll(sub(r), "/", " "), "req/1000objects", "%s req/1000", "floor-req/1000objects", "floor %s")
		if ok {
			last := &t.rows[len(t.rows)-1]
			last.aim = aim("1 (no wasted request)", m <= a*1.0005)
		}
	}
	t.failures("internal/syncer", "BenchmarkRequestsPerEntity", "")
}

// throughput: BenchmarkThroughput, a backfill into the store against a
// fetch-only drain of the same sandbox, rate limits off.
func (t *table) throughput() {
	rs := t.open("sync throughput (against a fetch-only drain of the same sandbox, limiter off)", "every PSA and store", "internal/syncer", "BenchmarkThroughput")
	// The PSAs measured or tried: a PSA whose every run failed has a
	// verdict and no result.
	var psas []string
	seen := func(name string) {
		_, rest, _ := strings.Cut(name, "/")
		if psa, _, _ := strings.Cut(rest, "/"); psa != "" && !slices.Contains(psas, psa) {
			psas = append(psas, psa)
		}
	}
	for _, r := range rs {
		seen(r.name)
	}
	for _, v := range t.out.verdicts {
		if strings.HasSuffix(v.pkg, "/internal/syncer") && strings.HasPrefix(v.name, "BenchmarkThroughput/") {
			seen(v.name)
		}
	}
	for _, psa := range psas {
		for _, backend := range []string{"sqlite", "postgres"} {
			metric := psa + " → " + backend
			r, ok := t.one(rs, "BenchmarkThroughput/"+psa+"/"+backend)
			if !ok {
				t.notMeasured(metric, "internal/syncer", "BenchmarkThroughput/"+psa+"/"+backend)
				continue
			}
			t.pair(r, metric, "sync-tickets/s", "%s tickets/s", "drain-tickets/s", "drain %s tickets/s")
		}
	}
}

// one returns the result named name among rs.
func (t *table) one(rs []result, name string) (result, bool) {
	i := slices.IndexFunc(rs, func(r result) bool { return r.name == name })
	if i < 0 {
		return result{}, false
	}
	return rs[i], true
}

// ingest: BenchmarkIngestRatio on both stores: WriteBatch against a raw
// COPY (PostgreSQL) or a raw multi-row INSERT (SQLite) of as many new
// rows into an unindexed table.
func (t *table) ingest() {
	t.section("bulk upsert, 10,000 tickets an operation (against raw COPY / raw multi-row INSERT)")
	for _, st := range []struct{ pkg, name, raw string }{
		{"internal/store/postgres", "postgres", "COPY %s rows/s"},
		{"internal/store/sqlite", "sqlite", "INSERT %s rows/s"},
	} {
		rs := t.find(st.pkg, "BenchmarkIngestRatio")
		if len(rs) == 0 {
			t.notMeasured(st.name, st.pkg, "BenchmarkIngestRatio")
		}
		for _, r := range rs {
			t.pair(r, st.name+" "+strings.ReplaceAll(sub(r), "/", " "), "upsert-rows/s", "%s rows/s", "raw-rows/s", st.raw)
		}
		t.failures(st.pkg, "BenchmarkIngestRatio", st.name+" ")
	}
}

// callbacks: BenchmarkReceiver, the durable Receiver on each store
// against a bare handler that reads the body and answers 200, in
// alternating rounds.
func (t *table) callbacks() {
	t.section("durable callbacks, signed Autotask deliveries (against a bare handler answering 200)")
	rs := t.find("internal/callback", "BenchmarkReceiver")
	for _, store := range []string{"sqlite", "postgres"} {
		r, ok := t.one(rs, "BenchmarkReceiver/"+store)
		if !ok {
			t.notMeasured(store, "internal/callback", "BenchmarkReceiver/"+store)
			continue
		}
		if _, _, ok := t.pair(r, store, "req/s", "%s req/s", "bare-req/s", "bare %s req/s"); ok {
			if p99, ok := value(r, "p99-ms"); ok {
				t.rows[len(t.rows)-1].measured += ", p99 " + num(p99) + " ms"
			}
		}
	}
}

// writeback: BenchmarkDrainVsLimiter, the outbox drain against the same
// client sending directly, both behind the client's rate limiter.
func (t *table) writeback() {
	rs := t.open("write-back drain (against direct calls through the client limiter)", "connectwise notes", "internal/writeback", "BenchmarkDrainVsLimiter")
	for _, r := range rs {
		if m, a, ok := t.pair(r, "connectwise notes", "outbox-writes/s", "%s writes/s", "direct-writes/s", "direct %s writes/s"); ok {
			t.rows[len(t.rows)-1].aim = aim("≥ 0.9", m >= 0.9*a)
		}
	}
}

// rss: BenchmarkBackfillRSS, the real binary's full sync in a child
// process: peak RSS per size, then the largest size against the smallest
// for peak RSS and wall time.
func (t *table) rss() {
	t.section("full sync, `reconciler sync` process against a sandbox ConnectWise process (SQLite)")
	type size struct {
		n     int
		r     result
		rss   float64
		wall  float64
		hasOK bool
	}
	var sizes []size
	for _, r := range t.find("e2e", "BenchmarkBackfillRSS") {
		n, err := strconv.Atoi(strings.TrimPrefix(sub(r), "tickets="))
		if err != nil {
			continue
		}
		s := size{n: n, r: r}
		var okR, okW bool
		s.rss, okR = value(r, "peakRSS-MB")
		s.wall, okW = value(r, "sync-wall-s")
		s.hasOK = okR && okW
		sizes = append(sizes, s)
	}
	if len(sizes) == 0 {
		t.notMeasured("peak RSS and wall time", "e2e", "BenchmarkBackfillRSS")
		return
	}
	slices.SortFunc(sizes, func(a, b size) int { return cmp.Compare(a.n, b.n) })
	for _, s := range sizes {
		metric := "peak RSS at " + num(float64(s.n)) + " tickets"
		if !s.hasOK {
			t.add(row{metric: metric, measured: fmt.Sprintf("not measured (%s reports no peakRSS-MB or sync-wall-s)", s.r.name)})
			continue
		}
		t.add(row{metric: metric, measured: fmt.Sprintf("%s MB, %s s", num(s.rss), num(s.wall)), aim: aim("< 150 MB", s.rss < 150)})
	}
	t.failures("e2e", "BenchmarkBackfillRSS", "peak RSS at ")
	lo, hi := sizes[0], sizes[len(sizes)-1]
	if len(sizes) < 2 || !lo.hasOK || !hi.hasOK {
		t.add(row{metric: "largest size against smallest", measured: "not measured (needs two sizes)"})
		return
	}
	times := fmt.Sprintf(" (tickets ×%s)", num(float64(hi.n)/float64(lo.n)))
	t.add(row{metric: "peak RSS, " + num(float64(hi.n)) + " against " + num(float64(lo.n)) + times,
		measured: num(hi.rss) + " MB", against: num(lo.rss) + " MB", ratio: ratio(hi.rss, lo.rss)})
	t.add(row{metric: "wall time, " + num(float64(hi.n)) + " against " + num(float64(lo.n)) + times,
		measured: num(hi.wall) + " s", against: num(lo.wall) + " s", ratio: ratio(hi.wall, lo.wall)})
	// Both processes share the machine: the CPU time of each says whose
	// work grew when the wall time grows faster than the tickets.
	for _, c := range []struct{ unit, label string }{
		{"sync-cpu-s/op", "sync process CPU"},
		{"sandbox-cpu-s", "sandbox process CPU (emulator)"},
	} {
		h, okH := value(hi.r, c.unit)
		l, okL := value(lo.r, c.unit)
		if okH && okL {
			t.add(row{metric: c.label + ", " + num(float64(hi.n)) + " against " + num(float64(lo.n)),
				measured: num(h) + " s", against: num(l) + " s", ratio: ratio(h, l)})
		}
	}
}

// fleetUnits are the figures BenchmarkFleet reports, in the order shown.
var fleetUnits = []struct{ unit, label string }{
	{"accounts", "accounts"},
	{"MB/account", "MB/account"},
	{"ms/account-reconcile", "ms/account reconcile"},
}

// fleet: BenchmarkFleet in ./internal/daemon, accounts on one replica;
// the ratio is the callback p99 against the 100 ms aim.
func (t *table) fleet() {
	rs := t.open("accounts per replica (callback p99 against the 100 ms aim)", "fleet", "internal/daemon", "BenchmarkFleet")
	for _, r := range rs {
		var figs []string
		for _, u := range fleetUnits {
			if v, ok := value(r, u.unit); ok {
				figs = append(figs, num(v)+" "+u.label)
			}
		}
		rw := row{metric: cmp.Or(sub(r), "fleet"), measured: strings.Join(figs, ", ")}
		if p99, ok := value(r, "p99-ms"); ok {
			rw.measured += ", p99 " + num(p99) + " ms"
			rw.against, rw.ratio, rw.aim = "100 ms", ratio(p99, 100), aim("< 100 ms", p99 < 100)
		}
		if rw.measured == "" {
			rw.measured = fmt.Sprintf("not measured (%s reports none of accounts, MB/account, ms/account-reconcile, p99-ms)", r.name)
		}
		t.add(rw)
	}
	t.failures("internal/daemon", "BenchmarkFleet", "")
}

// write prints the rows as a fixed-width table under title: a heading
// row on a line of its own, and a "not measured" row's reason running
// past the columns, so neither widens them.
func write(w io.Writer, title string, rows []row) error {
	head := row{"METRIC", "MEASURED", "AGAINST", "RATIO", "AIM"}
	cols := func(r row) []string { return []string{r.metric, r.measured, r.against, r.ratio, r.aim} }
	width := make([]int, 5)
	for _, r := range append([]row{head}, rows...) {
		if heading(r) {
			continue
		}
		if alone(r) {
			width[0] = max(width[0], utf8.RuneCountInString(r.metric))
			continue
		}
		for i, c := range cols(r) {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	if title != "" {
		b.WriteString(title + "\n\n")
	}
	for _, r := range append([]row{head}, rows...) {
		var line strings.Builder
		switch {
		case heading(r):
			line.WriteString(r.metric)
		case alone(r):
			line.WriteString(pad(r.metric, width[0]) + "  " + r.measured)
		default:
			for i, c := range cols(r) {
				if i == 3 { // ratios align right
					c = strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)) + c
				}
				line.WriteString(pad(c, width[i]) + "  ")
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// heading reports whether r is a section heading (a metric alone).
func heading(r row) bool { return r.measured == "" && r.against == "" && r.ratio == "" && r.aim == "" }

// alone reports whether r has only a measured text (a reason it was not
// measured), printed past the columns.
func alone(r row) bool {
	return r.measured != "" && r.against == "" && r.ratio == "" && r.aim == "" && strings.HasPrefix(r.measured, "not measured")
}

func pad(s string, n int) string { return s + strings.Repeat(" ", max(0, n-utf8.RuneCountInString(s))) }
