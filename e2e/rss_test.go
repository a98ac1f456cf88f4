package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// BenchmarkBackfillRSS is the peak memory (RSS) of a full backfill; aim
// for under 150 MB at 200,000 tickets. It backfills a sandbox ConnectWise
// process of 50,000 and then of 200,000 tickets (HORIZON_BENCH_RSS_TICKETS,
// a comma-separated list, overrides the sizes) into a fresh SQLite file
// with `reconciler sync --quiet` (tickets, contacts, companies and time
// entries, then members and picklists), and reports the sync process's
// peak resident set size (wait4's ru_maxrss, in KiB on Linux, taken when
// the process is reaped: exact, not sampled) as peakRSS-MB, the sync's
// wall time (sync-wall-s), tickets/s, the CPU time of the sync and of the
// sandbox, and the sandbox's start-up time (generating the World). Four
// times the tickets at about the same peak RSS shows that a backfill
// streams instead of holding what it syncs.
//
// The sync runs at ConnectWise's client-side rate limit (10 requests/s,
// 1,000 records a page), so tickets/s is bounded by it. Run it with
//
//	go test -run XXX -bench BackfillRSS -benchtime 1x ./e2e/
func BenchmarkBackfillRSS(b *testing.B) {
	sizes, err := rssSizes(os.Getenv("HORIZON_BENCH_RSS_TICKETS"))
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("tickets=%d", n), func(b *testing.B) { benchBackfill(b, n) })
	}
}

// rssSizes reads HORIZON_BENCH_RSS_TICKETS: ticket counts separated by
// commas, 50,000 and 200,000 when empty.
func rssSizes(env string) ([]int, error) {
	if strings.TrimSpace(env) == "" {
		return []int{50_000, 200_000}, nil
	}
	var sizes []int
	for f := range strings.SplitSeq(env, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("HORIZON_BENCH_RSS_TICKETS=%q: %q is not a positive ticket count", env, f)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}

func benchBackfill(b *testing.B, n int) {
	began := time.Now()
	sb := startSandbox(b, "connectwise", n, 1, time.Time{}, 10*time.Minute)
	startup := time.Since(began)
	dir := b.TempDir()
	file := writeConfig(b, dir, sb, "sync:\n  entities: [tickets, contacts, companies, timeEntries]\n  ingestWindow: 1825d\n")
	var peakKB int64
	var syncing, syncCPU time.Duration
	b.ResetTimer()
	for i := range b.N {
		db := filepath.Join(dir, fmt.Sprintf("horizon-%d.db", i))
		began := time.Now()
		p := start(b, "sync", sb.env(db), "sync", "-f", file, "--quiet")
		p.wait(b, time.Hour)
		syncing += time.Since(began)
		ru, ok := p.state.SysUsage().(*syscall.Rusage)
		if !ok {
			b.Fatalf("no rusage for the sync process (%T)", p.state.SysUsage())
		}
		peakKB = max(peakKB, ru.Maxrss)
		syncCPU += p.state.UserTime() + p.state.SystemTime()
		b.StopTimer()
		st := openStore(b, db)
		if got, err := st.Count(context.Background(), sb.scope(), helpdesk.EntityTickets); err != nil || got != n {
			b.Fatalf("stored %d tickets (%v), want %d", got, err, n)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(peakKB)/1024, "peakRSS-MB")
	b.ReportMetric(syncing.Seconds()/float64(b.N), "sync-wall-s")
	b.ReportMetric(float64(n)*float64(b.N)/syncing.Seconds(), "tickets/s")
	b.ReportMetric(startup.Seconds(), "sandbox-start-s")
	// Where the time goes: the sync's CPU against the sandbox's (which
	// generated the World and served every page).
	sb.proc.kill()
	b.ReportMetric(syncCPU.Seconds()/float64(b.N), "sync-cpu-s/op")
	b.ReportMetric((sb.proc.state.UserTime() + sb.proc.state.SystemTime()).Seconds(), "sandbox-cpu-s")
}

func TestRSSSizes(t *testing.T) {
	for _, tc := range []struct {
		env     string
		want    []int
		wantErr string
	}{
		{"", []int{50_000, 200_000}, ""},
		{"5000, 20000", []int{5000, 20000}, ""},
		{"5000,", nil, `HORIZON_BENCH_RSS_TICKETS="5000,": "" is not a positive ticket count`},
		{"5k", nil, `HORIZON_BENCH_RSS_TICKETS="5k": "5k" is not a positive ticket count`},
		{"0", nil, `HORIZON_BENCH_RSS_TICKETS="0": "0" is not a positive ticket count`},
	} {
		got, err := rssSizes(tc.env)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("rssSizes(%q): %v, want error %q", tc.env, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("rssSizes(%q) = %v, %v; want %v", tc.env, got, err, tc.want)
		}
	}
}
