package storetest

import (
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// testSyncRunRequests checks that a run's requests and its time held at
// the budget reserve survive the round trip (logs sync shows them).
func testSyncRunRequests(t *testing.T, s store.Store) {
	r := store.SyncRun{Trigger: store.TriggerBackfill, Entity: helpdesk.EntityTimeEntries, StartedAt: at(0)}
	id, err := s.StartSyncRun(ctx(t), Scope, r)
	noErr(t, "StartSyncRun", err)
	r.ID, r.FinishedAt, r.Created = id, at(time.Hour), 40
	r.Requests, r.Paused = 5051, 42*time.Minute+1500*time.Millisecond
	noErr(t, "FinishSyncRun", s.FinishSyncRun(ctx(t), Scope, r))
	runs, err := s.SyncRuns(ctx(t), Scope, store.SyncRunFilter{})
	noErr(t, "SyncRuns", err)
	equal(t, "finished", runs, []store.SyncRun{r})
}
