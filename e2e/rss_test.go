package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// BenchmarkBackfillRSS is issue 6's "Peak memory (RSS) for a 200,000-ticket
// backfill: report it; aim for under 150 MB". It backfills 20,000 and then
// 200,000 tickets from a sandbox ConnectWise process into a fresh SQLite
// file with `reconciler sync --entity tickets --quiet`, and reports the
// sync process's peak resident set size (wait4's ru_maxrss, in KiB on
// Linux, taken when the process is reaped: exact, not sampled) as
// peakRSS-MB, with tickets/s, the CPU time of the sync and of the sandbox,
// and the sandbox's start-up time (generating the World). Ten times the tickets at about the same peak RSS shows that a
// backfill streams instead of holding what it syncs.
//
// The sync runs at ConnectWise's client-side rate limit (10 requests/s,
// 1,000 tickets a page), so tickets/s is bounded by it. Run it with
//
//	go test -run XXX -bench BackfillRSS -benchtime 1x ./e2e/
func BenchmarkBackfillRSS(b *testing.B) {
	for _, n := range []int{20_000, 200_000} {
		b.Run(fmt.Sprintf("tickets=%d", n), func(b *testing.B) { benchBackfill(b, n) })
	}
}

func benchBackfill(b *testing.B, n int) {
	began := time.Now()
	sb := startSandbox(b, "connectwise", n, 1, time.Time{}, 10*time.Minute)
	startup := time.Since(began)
	dir := b.TempDir()
	file := writeConfig(b, dir, sb, "sync:\n  entities: [tickets]\n  ingestWindow: 1825d\n")
	var peakKB int64
	var syncing, syncCPU time.Duration
	b.ResetTimer()
	for i := range b.N {
		db := filepath.Join(dir, fmt.Sprintf("horizon-%d.db", i))
		began := time.Now()
		p := start(b, "sync", sb.env(db), "sync", "-f", file, "--quiet", "--entity", "tickets")
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
	b.ReportMetric(float64(n)*float64(b.N)/syncing.Seconds(), "tickets/s")
	b.ReportMetric(startup.Seconds(), "sandbox-start-s")
	// Where the time goes: the sync's CPU against the sandbox's (which
	// generated the World and served every page).
	sb.proc.kill()
	b.ReportMetric(syncCPU.Seconds()/float64(b.N), "sync-cpu-s/op")
	b.ReportMetric((sb.proc.state.UserTime() + sb.proc.state.SystemTime()).Seconds(), "sandbox-cpu-s")
}
