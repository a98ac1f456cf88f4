package storetest

import (
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// oneWriteTests cover the writes a callback's one-ticket sync makes in
// one statement: its run recorded once finished, its callbacks marked.
var oneWriteTests = map[string]func(*testing.T, store.Store){
	"RecordSyncRun":          testRecordSyncRun,
	"RecordSyncRunFilters":   testRecordSyncRunFilters,
	"MarkCallbacksAllOrNone": testMarkCallbacksAllOrNone,
}

func testRecordSyncRun(t *testing.T, s store.Store) {
	r := store.SyncRun{Trigger: store.TriggerCallback, Entity: helpdesk.EntityTickets, TicketID: "101",
		StartedAt: at(0), FinishedAt: at(40 * time.Millisecond), Created: 1, Updated: 2, Unchanged: 3, Failed: 4,
		Error: "tickets: ticket 101: HTTP 500", Outcome: store.RunFailed, Skipped: 2,
		Skips:    []store.SkippedRecord{{ID: "101", Reason: "bad"}, {ID: "102", Reason: "worse"}},
		Requests: 3, Paused: 1500 * time.Millisecond}
	id, err := s.RecordSyncRun(ctx(t), Scope, r)
	noErr(t, "RecordSyncRun", err)
	r.ID = id
	runs, err := s.SyncRuns(ctx(t), Scope, store.SyncRunFilter{})
	noErr(t, "SyncRuns", err)
	equal(t, "recorded", runs, []store.SyncRun{r})
	runs, err = s.SyncRuns(ctx(t), other, store.SyncRunFilter{})
	noErr(t, "SyncRuns other scope", err)
	equal(t, "other scope", len(runs), 0)

	// A finished run is no one's to interrupt.
	_, err = s.InterruptSyncRuns(ctx(t), Scope, helpdesk.EntityTickets, at(time.Hour), at(time.Hour))
	noErr(t, "InterruptSyncRuns", err)
	runs, err = s.SyncRuns(ctx(t), Scope, store.SyncRunFilter{})
	noErr(t, "SyncRuns", err)
	equal(t, "after InterruptSyncRuns", runs, []store.SyncRun{r})

	// Zero times are now; a run recorded is never shown running.
	id, err = s.RecordSyncRun(ctx(t), Scope, store.SyncRun{Trigger: store.TriggerManual, Entity: helpdesk.EntityNotes,
		TicketID: "101", Outcome: store.RunOK})
	noErr(t, "RecordSyncRun", err)
	runs, err = s.SyncRuns(ctx(t), Scope, store.SyncRunFilter{Entity: helpdesk.EntityNotes})
	noErr(t, "SyncRuns", err)
	if len(runs) != 1 || runs[0].ID != id || runs[0].StartedAt.IsZero() || runs[0].FinishedAt.IsZero() || runs[0].Skips != nil {
		t.Fatalf("run recorded with zero times: %+v", runs)
	}
}

// Recorded runs sit among started and finished ones by their start, and
// the filters select them as they do the others.
func testRecordSyncRunFilters(t *testing.T, s store.Store) {
	started := func(trigger string, start time.Duration) int64 {
		t.Helper()
		id, err := s.StartSyncRun(ctx(t), Scope, store.SyncRun{Trigger: trigger, Entity: helpdesk.EntityTickets, StartedAt: at(start)})
		noErr(t, "StartSyncRun", err)
		return id
	}
	recorded := func(r store.SyncRun) int64 {
		t.Helper()
		r.Entity, r.FinishedAt = helpdesk.EntityTickets, r.StartedAt.Add(time.Second)
		id, err := s.RecordSyncRun(ctx(t), Scope, r)
		noErr(t, "RecordSyncRun", err)
		return id
	}
	poll := started(store.TriggerPoll, 2*time.Minute)
	// Recorded after the poll started, though one started before it.
	early := recorded(store.SyncRun{Trigger: store.TriggerCallback, TicketID: "7", StartedAt: at(time.Minute), Outcome: store.RunOK, Updated: 1})
	failed := recorded(store.SyncRun{Trigger: store.TriggerCallback, TicketID: "8", StartedAt: at(3 * time.Minute),
		Outcome: store.RunFailed, Error: "HTTP 500"})
	manual := recorded(store.SyncRun{Trigger: store.TriggerManual, TicketID: "7", StartedAt: at(4 * time.Minute), Outcome: store.RunOK})
	_, err := s.RecordSyncRun(ctx(t), other, store.SyncRun{Trigger: store.TriggerCallback, Entity: helpdesk.EntityTickets,
		TicketID: "7", StartedAt: at(5 * time.Minute)})
	noErr(t, "RecordSyncRun other scope", err)
	cases := []struct {
		name string
		f    store.SyncRunFilter
		want []int64
	}{
		{"all by start", store.SyncRunFilter{}, []int64{manual, failed, poll, early}},
		{"ticket", store.SyncRunFilter{TicketID: "7"}, []int64{manual, early}},
		{"trigger", store.SyncRunFilter{Trigger: store.TriggerCallback}, []int64{failed, early}},
		{"failed only", store.SyncRunFilter{FailedOnly: true}, []int64{failed}},
		{"since", store.SyncRunFilter{Since: at(2 * time.Minute)}, []int64{manual, failed, poll}},
	}
	for _, c := range cases {
		runs, err := s.SyncRuns(ctx(t), Scope, c.f)
		noErr(t, c.name, err)
		var got []int64
		for _, r := range runs {
			got = append(got, r.ID)
		}
		equal(t, c.name, got, c.want)
	}
}

// MarkCallbacks changes no callback when one of the IDs is unknown.
func testMarkCallbacksAllOrNone(t *testing.T, s store.Store) {
	ids, _ := insert(t, s, Scope, cb("a", 0), cb("b", time.Second))
	theirs, _ := insert(t, s, other, cb("c", 0))
	for name, batch := range map[string][]int64{
		"unknown": {ids[0], ids[1], ids[1] + 1000}, "other scope": {ids[0], theirs[0]},
	} {
		isErr(t, "MarkCallbacks "+name, s.MarkCallbacks(ctx(t), Scope, batch, store.CallbackProcessed, "", at(time.Minute)), store.ErrNotFound)
		pending, err := s.PendingCallbacks(ctx(t), Scope, 0)
		noErr(t, "PendingCallbacks", err)
		equal(t, name+": still pending", idsOf(pending), ids)
	}
	// Repeated IDs count once.
	noErr(t, "MarkCallbacks", s.MarkCallbacks(ctx(t), Scope, []int64{ids[1], ids[0], ids[1]}, store.CallbackFailed, "PSA 404", at(time.Minute)))
	got := callbacks(t, s, store.CallbackFilter{})
	equal(t, "marked", len(got), 2)
	for _, c := range got {
		equal(t, "result", c.Result, store.CallbackFailed)
		equal(t, "reason", c.Reason, "PSA 404")
		equal(t, "processed at", c.ProcessedAt, at(time.Minute))
	}
	noErr(t, "MarkCallbacks none", s.MarkCallbacks(ctx(t), Scope, nil, store.CallbackProcessed, "", at(0)))
}
