package syncer

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

func TestSkippedRecordsAreRecordedNotFailed(t *testing.T) {
	e := newEnv(t, nil)
	put(e.psa, &e.psa.tickets, spread(1, 120, time.Hour)...)
	e.psa.skips = map[helpdesk.Entity][]helpdesk.Skipped{helpdesk.EntityTickets: {
		{Entity: helpdesk.EntityTickets, ID: "4711", Reason: "id: a string where a number is due"},
		{Entity: helpdesk.EntityTickets, ID: "4712", Reason: "summary larger than 1 MiB"},
	}}
	runs := e.sync(t, helpdesk.EntityTickets)
	r := runs[0]
	if r.Outcome != store.RunOK || r.Error != "" || r.Failed != 0 {
		t.Errorf("run = %+v, want ok: skipped records do not fail it", r)
	}
	want := []store.SkippedRecord{{ID: "4711", Reason: "id: a string where a number is due"},
		{ID: "4712", Reason: "summary larger than 1 MiB"}}
	if r.Skipped != 2 || len(r.Skips) != 2 || r.Skips[0] != want[0] || r.Skips[1] != want[1] {
		t.Errorf("skipped %d: %+v, want %+v", r.Skipped, r.Skips, want)
	}
	if got := e.st.allRuns()[0]; got.Skipped != 2 {
		t.Errorf("run log row = %+v, want the skips recorded", got)
	}
	if v := testutil.ToFloat64(e.m.SyncedObjects.WithLabelValues("tickets", "skipped")); v != 2 {
		t.Errorf("synced_objects_total{op=skipped} = %v", v)
	}
	var buf strings.Builder
	if err := WriteRuns(&buf, e.st.allRuns(), "text"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "tickets 4711: id: a string where a number is due") {
		t.Errorf("logs sync does not name the skipped record:\n%s", buf.String())
	}
}

func TestSkipsAreBounded(t *testing.T) {
	e := newEnv(t, nil)
	put(e.psa, &e.psa.tickets, ticket(1, t0.Add(-time.Hour)))
	var sk []helpdesk.Skipped
	for range store.MaxSkips + 10 {
		sk = append(sk, helpdesk.Skipped{Entity: helpdesk.EntityTickets, ID: "x", Reason: "bad"})
	}
	e.psa.skips = map[helpdesk.Entity][]helpdesk.Skipped{helpdesk.EntityTickets: sk}
	r := e.sync(t, helpdesk.EntityTickets)[0]
	if r.Skipped != store.MaxSkips+10 || len(r.Skips) != store.MaxSkips {
		t.Errorf("skipped %d, named %d; want %d counted, %d named", r.Skipped, len(r.Skips), store.MaxSkips+10, store.MaxSkips)
	}
}

func TestGracefulShutdownIsCancelledNotFailed(t *testing.T) {
	e := newEnv(t, nil)
	put(e.psa, &e.psa.tickets, spread(1, 500, time.Hour)...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.st.before = func(n int, b store.Batch) error {
		if n == 2 {
			cancel() // SIGTERM
		}
		return nil
	}
	runs, _ := e.s.SyncEntity(ctx, helpdesk.EntityTickets, store.TriggerPoll, false)
	if r := runs[0]; r.Outcome != store.RunCancelled {
		t.Errorf("run = %+v, want cancelled", r)
	}
	failed, _ := e.st.SyncRuns(context.Background(), store.Scope{}, store.SyncRunFilter{})
	var buf strings.Builder
	if err := WriteRuns(&buf, failed, "text"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), " cancelled ") || strings.Contains(buf.String(), " failed ") {
		t.Errorf("logs sync:\n%s", buf.String())
	}
}

// dyingStore is a store whose process is killed after a number of
// batches: from then on nothing it does reaches the database, as after
// kill -9.
type dyingStore struct {
	store.Store
	writes, dieAfter int
}

var errDead = errors.New("process killed")

func (d *dyingStore) dead() bool { return d.writes > d.dieAfter }

func (d *dyingStore) WriteBatch(ctx context.Context, s store.Scope, b store.Batch) (store.UpsertResult, error) {
	if d.writes++; d.dead() {
		return store.UpsertResult{}, errDead
	}
	return d.Store.WriteBatch(ctx, s, b)
}

func (d *dyingStore) UpdateSyncRun(ctx context.Context, s store.Scope, r store.SyncRun) error {
	if d.dead() {
		return errDead
	}
	return d.Store.UpdateSyncRun(ctx, s, r)
}

func (d *dyingStore) FinishSyncRun(ctx context.Context, s store.Scope, r store.SyncRun) error {
	if d.dead() {
		return errDead
	}
	return d.Store.FinishSyncRun(ctx, s, r)
}

func TestKilledRunShowsInterruptedWithItsCommittedCounts(t *testing.T) {
	st := openSQLite(t, filepath.Join(t.TempDir(), "horizon.db"))
	e := newEnv(t, nil)
	put(e.psa, &e.psa.tickets, spread(1, 500, time.Hour)...)
	dying := &dyingStore{Store: st, dieAfter: 4}
	s1, err := New(e.psa, dying, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s1.SyncEntity(context.Background(), helpdesk.EntityTickets, store.TriggerPoll, false); !errors.Is(err, errDead) {
		t.Fatalf("first run err = %v, want the process killed", err)
	}
	// The process restarts.
	e.clock.Set(t0.Add(time.Minute))
	s2, err := New(e.psa, st, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.SyncEntity(context.Background(), helpdesk.EntityTickets, store.TriggerPoll, false); err != nil {
		t.Fatal(err)
	}
	failed, err := st.SyncRuns(context.Background(), e.opts.Scope, store.SyncRunFilter{FailedOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 1 {
		t.Fatalf("logs sync --failed = %+v, want the killed run", failed)
	}
	r := failed[0]
	if r.Outcome != store.RunInterrupted || r.Trigger != store.TriggerBackfill || r.Created != 4*e.psa.pageSize {
		t.Errorf("killed run = %+v, want interrupted with the %d tickets of its 4 committed pages", r, 4*e.psa.pageSize)
	}
	var buf strings.Builder
	if err := WriteRuns(&buf, failed, "text"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "interrupted") {
		t.Errorf("logs sync:\n%s", buf.String())
	}
}
