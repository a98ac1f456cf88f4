package storetest

import (
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

var syncRunTests = map[string]func(*testing.T, store.Store){
	"StartFinish": testSyncRunStartFinish,
	"Filters":     testSyncRunFilters,
	"Requests":    testSyncRunRequests,
}

func testSyncRunStartFinish(t *testing.T, s store.Store) {
	r := store.SyncRun{Trigger: store.TriggerCallback, Entity: helpdesk.EntityTickets, TicketID: "101", StartedAt: at(0)}
	id, err := s.StartSyncRun(ctx(t), Scope, r)
	noErr(t, "StartSyncRun", err)
	r.ID = id
	runs, err := s.SyncRuns(ctx(t), Scope, store.SyncRunFilter{})
	noErr(t, "SyncRuns", err)
	equal(t, "running", runs, []store.SyncRun{r})
	r.FinishedAt, r.Created, r.Updated, r.Unchanged, r.Failed, r.Error = at(time.Second), 1, 2, 3, 4, "boom"
	noErr(t, "FinishSyncRun", s.FinishSyncRun(ctx(t), Scope, r))
	runs, err = s.SyncRuns(ctx(t), Scope, store.SyncRunFilter{})
	noErr(t, "SyncRuns", err)
	equal(t, "finished", runs, []store.SyncRun{r})
	r.ID = id + 1000
	isErr(t, "FinishSyncRun unknown", s.FinishSyncRun(ctx(t), Scope, r), store.ErrNotFound)
	r.ID = id
	isErr(t, "FinishSyncRun other scope", s.FinishSyncRun(ctx(t), other, r), store.ErrNotFound)
}

func testSyncRunFilters(t *testing.T, s store.Store) {
	type run struct {
		trigger string
		entity  helpdesk.Entity
		start   time.Duration
		failed  int
		err     string
	}
	runs := []run{
		{store.TriggerBackfill, helpdesk.EntityTickets, 0, 0, ""},
		{store.TriggerPoll, helpdesk.EntityTickets, time.Minute, 0, "HTTP 500"},
		{store.TriggerPoll, helpdesk.EntityContacts, 2 * time.Minute, 2, ""},
		{store.TriggerPoll, helpdesk.EntityTickets, 3 * time.Minute, 0, ""},
		{store.TriggerManual, helpdesk.EntityTickets, 3 * time.Minute, 0, ""}, // same start: higher ID first
	}
	ids := make([]int64, len(runs))
	for i, r := range runs {
		var err error
		ids[i], err = s.StartSyncRun(ctx(t), Scope, store.SyncRun{Trigger: r.trigger, Entity: r.entity, StartedAt: at(r.start)})
		noErr(t, "StartSyncRun", err)
		noErr(t, "FinishSyncRun", s.FinishSyncRun(ctx(t), Scope, store.SyncRun{ID: ids[i], FinishedAt: at(r.start + time.Second), Failed: r.failed, Error: r.err}))
	}
	_, err := s.StartSyncRun(ctx(t), other, store.SyncRun{Trigger: store.TriggerPoll, Entity: helpdesk.EntityTickets, StartedAt: at(time.Hour)})
	noErr(t, "StartSyncRun", err)
	cases := []struct {
		name string
		f    store.SyncRunFilter
		want []int
	}{
		{"all newest first", store.SyncRunFilter{}, []int{4, 3, 2, 1, 0}},
		{"entity", store.SyncRunFilter{Entity: helpdesk.EntityContacts}, []int{2}},
		{"trigger", store.SyncRunFilter{Trigger: store.TriggerPoll}, []int{3, 2, 1}},
		{"since inclusive", store.SyncRunFilter{Since: at(2 * time.Minute)}, []int{4, 3, 2}},
		{"failed only", store.SyncRunFilter{FailedOnly: true}, []int{2, 1}},
		{"limit", store.SyncRunFilter{Limit: 2}, []int{4, 3}},
		{"combined", store.SyncRunFilter{Entity: helpdesk.EntityTickets, Trigger: store.TriggerPoll, FailedOnly: true}, []int{1}},
	}
	for _, c := range cases {
		got, err := s.SyncRuns(ctx(t), Scope, c.f)
		noErr(t, c.name, err)
		var gotIDs, want []int64
		for _, r := range got {
			gotIDs = append(gotIDs, r.ID)
		}
		for _, i := range c.want {
			want = append(want, ids[i])
		}
		equal(t, c.name, gotIDs, want)
	}
}
