package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/pgtest"
	"github.com/horizon/reconciler/internal/writeback"

	_ "github.com/horizon/reconciler/internal/store/postgres"
	_ "github.com/horizon/reconciler/internal/store/sqlite"
)

// outboxCalls counts the store calls write-back makes while idle.
type outboxCalls struct {
	store.Store
	claims, stats, backlogs atomic.Int64
}

func (c *outboxCalls) ClaimWrites(ctx context.Context, s store.Scope, n int, lease time.Duration, now time.Time) ([]store.Write, error) {
	c.claims.Add(1)
	return c.Store.ClaimWrites(ctx, s, n, lease, now)
}

func (c *outboxCalls) OutboxStats(ctx context.Context, s store.Scope) (store.OutboxStats, error) {
	c.stats.Add(1)
	return c.Store.OutboxStats(ctx, s)
}

func (c *outboxCalls) OutboxBacklogs(ctx context.Context) (map[store.Scope]store.OutboxBacklog, error) {
	c.backlogs.Add(1)
	return c.Store.OutboxBacklogs(ctx)
}

func (c *outboxCalls) reset() { c.claims.Store(0); c.stats.Store(0); c.backlogs.Store(0) }

// idlePSA is a PSA an idle engine never calls.
type idlePSA struct{ helpdesk.Provider }

// BenchmarkIdleOutbox counts the store calls of 1,000 accounts' idle
// write-back engines (nothing in the outbox) over three poll periods:
// each engine polling on its own (Run: a claim transaction and a backlog
// query per account per period) against one replica-wide poll feeding
// them (RunFed). HORIZON_BENCH_STORE=postgres runs on PostgreSQL.
func BenchmarkIdleOutbox(b *testing.B) {
	const accounts = 1000
	for _, mode := range []string{"each-engine-polls", "one-poll-feeds"} {
		b.Run(mode, func(b *testing.B) {
			for range b.N {
				calls := runIdleOutbox(b, accounts, mode == "one-poll-feeds", writeback.DefaultPollInterval, 3)
				b.ReportMetric(calls.perSecond, "store-calls/s")
				b.ReportMetric(calls.txPerSecond, "claim-tx/s")
			}
		})
	}
}

type idleCalls struct{ perSecond, txPerSecond float64 }

func runIdleOutbox(b *testing.B, accounts int, fed bool, poll time.Duration, periods int) idleCalls {
	u := "sqlite:" + filepath.Join(b.TempDir(), "h.db")
	if os.Getenv("HORIZON_BENCH_STORE") == "postgres" {
		u = pgtest.FreshURL(b)
	}
	st, err := store.Open(context.Background(), u)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	calls := &outboxCalls{Store: st}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	d := &Daemon{o: Options{Store: calls, OutboxPollInterval: poll}, log: quiet}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for i := range accounts {
		sc := store.Scope{Account: fmt.Sprintf("acct-%04d", i), Provider: helpdesk.ConnectWise}
		e, err := writeback.New(writeback.Options{Store: calls, Scope: sc, Provider: idlePSA{}, Config: &config.Config{},
			Logger: quiet, PollInterval: poll})
		if err != nil {
			b.Fatal(err)
		}
		if fed {
			d.outbox.add(sc, e)
			goFn(&wg, func() { e.RunFed(ctx) })
		} else {
			goFn(&wg, func() { e.Run(ctx) })
		}
	}
	if fed {
		goFn(&wg, func() { d.feedOutboxes(ctx) })
	}
	// Every period's polls fall in the window: from half a period after
	// the start (the engines' first claims done) for periods periods.
	time.Sleep(poll / 2)
	calls.reset()
	b.ResetTimer()
	time.Sleep(time.Duration(periods) * poll)
	b.StopTimer()
	secs := (time.Duration(periods) * poll).Seconds()
	n := calls.claims.Load() + calls.stats.Load() + calls.backlogs.Load()
	b.Logf("%d accounts, %d periods of %s: %d claims, %d backlog queries of one account, %d of every account",
		accounts, periods, poll, calls.claims.Load(), calls.stats.Load(), calls.backlogs.Load())
	return idleCalls{perSecond: float64(n) / secs, txPerSecond: float64(calls.claims.Load()) / secs}
}
