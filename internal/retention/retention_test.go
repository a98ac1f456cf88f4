package retention

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/sqlite"
)

var scope = store.Scope{Account: "acme", Provider: helpdesk.HaloPSA}

func openSQLite(t testing.TB) (*sqlite.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "horizon.db")
	st, err := sqlite.Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, path
}

// callbacks logs n processed callbacks received at at, each with a body
// of the size Horizon keeps for an accepted delivery.
func callbacks(t testing.TB, st store.Store, n int, at time.Time, prefix string) {
	t.Helper()
	body := []byte(fmt.Sprintf(`{"id":%q,"event":"ticket.updated","ticket_id":48213,"who":"jdoe","at":%q,"changes":{"status":"In Progress"}}`,
		prefix, at.Format(time.RFC3339)))
	recs := make([]store.CallbackRecord, n)
	for i := range recs {
		id := fmt.Sprintf("%s-%d", prefix, i)
		recs[i] = store.CallbackRecord{ReceivedAt: at, Provider: scope.Provider, Event: "ticket.updated", DeliveryID: id,
			ExternalIDs: []string{fmt.Sprint(48000 + i)}, Verified: true, Result: store.CallbackProcessed, Payload: body,
			ProcessedAt: at.Add(time.Second)}
	}
	if _, _, err := st.InsertCallbacks(context.Background(), scope, recs); err != nil {
		t.Fatal(err)
	}
}

func syncRuns(t testing.TB, st store.Store, n int, at time.Time) {
	t.Helper()
	for range n {
		r := store.SyncRun{Trigger: store.TriggerPoll, Entity: helpdesk.EntityTickets, StartedAt: at}
		id, err := st.StartSyncRun(context.Background(), scope, r)
		if err != nil {
			t.Fatal(err)
		}
		r.ID, r.FinishedAt, r.Outcome, r.Unchanged, r.Updated = id, at.Add(2*time.Second), store.RunOK, 40, 2
		if err := st.FinishSyncRun(context.Background(), scope, r); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPruneDeletesOnlyWhatThePolicyNoLongerKeeps(t *testing.T) {
	st, _ := openSQLite(t)
	now := time.Now().UTC()
	callbacks(t, st, 2*slice+10, now.Add(-40*24*time.Hour), "old") // more than one slice
	callbacks(t, st, 5, now.Add(-time.Hour), "new")
	syncRuns(t, st, 3, now.Add(-100*24*time.Hour))
	syncRuns(t, st, 2, now.Add(-time.Hour))

	res, err := Prune(context.Background(), st, Default, now)
	if err != nil {
		t.Fatal(err)
	}
	if res != (Result{Callbacks: 2*slice + 10, SyncRuns: 3}) {
		t.Errorf("pruned %+v", res)
	}
	stats, err := st.CallbackStats(context.Background(), scope, time.Time{})
	if err != nil || stats.ByResult[store.CallbackProcessed] != 5 {
		t.Errorf("callbacks left %+v (%v), want the 5 recent", stats, err)
	}
	runs, _ := st.SyncRuns(context.Background(), scope, store.SyncRunFilter{})
	if len(runs) != 2 {
		t.Errorf("%d sync runs left, want the 2 recent", len(runs))
	}

	// 0 keeps forever.
	callbacks(t, st, 3, now.Add(-400*24*time.Hour), "ancient")
	if res, err := Prune(context.Background(), st, Policy{}, now); err != nil || res != (Result{}) {
		t.Errorf("a policy of zeros pruned %+v (%v)", res, err)
	}
}

func TestPolicyFromEnvironment(t *testing.T) {
	for _, c := range []struct {
		env     map[string]string
		want    Policy
		wantErr bool
	}{
		{nil, Default, false},
		{map[string]string{"HORIZON_RETENTION_CALLBACKS": "7d", "HORIZON_RETENTION_SYNC_RUNS": "off", "HORIZON_RETENTION_OUTBOX": "12h"},
			Policy{Callbacks: Age(7 * 24 * time.Hour), Outbox: Age(12 * time.Hour)}, false},
		{map[string]string{"HORIZON_RETENTION_CALLBACKS": "0"}, Policy{SyncRuns: Default.SyncRuns, Outbox: Default.Outbox}, false},
		{map[string]string{"HORIZON_RETENTION_CALLBACKS": "30 days"}, Policy{}, true},
		{map[string]string{"HORIZON_RETENTION_SYNC_RUNS": "10s"}, Policy{}, true},
	} {
		var p Policy
		err := envconfig.ProcessWith(context.Background(), &envconfig.Config{Target: &p, Lookuper: envconfig.MapLookuper(c.env)})
		if (err != nil) != c.wantErr || !c.wantErr && p != c.want {
			t.Errorf("%v: %+v, %v; want %+v (error %v)", c.env, p, err, c.want, c.wantErr)
		}
	}
	if s := Age(30 * 24 * time.Hour).String(); s != "30d" {
		t.Errorf("String = %q", s)
	}
}

func TestRunPrunesAtStartAndStops(t *testing.T) {
	st, _ := openSQLite(t)
	callbacks(t, st, 3, time.Now().Add(-60*24*time.Hour), "old")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Run(ctx, st, Default, slog.New(slog.DiscardHandler)); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		stats, err := st.CallbackStats(context.Background(), scope, time.Time{})
		if err == nil && stats.ByResult[store.CallbackProcessed] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first pass did not prune")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
}

// BenchmarkDiskPerRow measures the SQLite file's growth per callback log
// row and per sync run (bytes/callback, bytes/run), each measured after
// the store is closed (the WAL checkpointed into the file), for the
// README's disk estimate.
func BenchmarkDiskPerRow(b *testing.B) {
	const n = 5000
	for range b.N {
		path := filepath.Join(b.TempDir(), "horizon.db")
		size := func(fill func(store.Store)) int64 {
			st, err := sqlite.Open(context.Background(), "sqlite:"+path)
			if err != nil {
				b.Fatal(err)
			}
			fill(st)
			if err := st.Close(); err != nil {
				b.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			return fi.Size()
		}
		base := size(func(store.Store) {})
		withCallbacks := size(func(st store.Store) {
			for i := range n / 500 {
				callbacks(b, st, 500, time.Now(), fmt.Sprint("c", i))
			}
		})
		withRuns := size(func(st store.Store) { syncRuns(b, st, n, time.Now()) })
		b.ReportMetric(float64(withCallbacks-base)/n, "bytes/callback")
		b.ReportMetric(float64(withRuns-withCallbacks)/n, "bytes/run")
	}
}
