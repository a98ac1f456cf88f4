package storetest

import (
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// syncStateTests cover what keeps a sync true under hostile PSAs and
// dying processes: authoritative batches, run outcomes and progress,
// and retention.
var syncStateTests = map[string]func(*testing.T, store.Store){
	"AuthoritativeReplacesNewer":  testAuthoritative,
	"RunOutcomesAndSkips":         testRunOutcomes,
	"RunProgressAndInterruption":  testRunInterruption,
	"PruneKeepsWhatIsStillNeeded": testPrune,
}

func testAuthoritative(t *testing.T, s store.Store) {
	frozen := Ticket("1", time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), "dated 2099")
	mustWrite(t, s, Scope, tickets(frozen, Ticket("2", at(0), "other")))
	fixed := Ticket("1", at(time.Hour), "the PSA's record")
	wantResult(t, mustWrite(t, s, Scope, tickets(fixed)), 0, 0, 1)
	equal(t, "after a plain batch", mustTicket(t, s, Scope, "1"), frozen)
	for range 2 { // twice: the second time the mode hint of the first applies
		b := tickets(fixed, Ticket("2", at(0), "other"), Ticket("3", at(0), "new"))
		b.Authoritative = true
		res := mustWrite(t, s, Scope, b)
		equal(t, "after an authoritative batch", mustTicket(t, s, Scope, "1"), fixed)
		if res.Created+res.Updated+res.Unchanged != 3 || res.Unchanged < 1 {
			t.Fatalf("authoritative result = %+v", res)
		}
	}
	b := tickets(fixed)
	b.Authoritative = true
	wantResult(t, mustWrite(t, s, Scope, b), 0, 0, 1)
}

func startRun(t *testing.T, s store.Store, r store.SyncRun) store.SyncRun {
	t.Helper()
	id, err := s.StartSyncRun(ctx(t), Scope, r)
	noErr(t, "StartSyncRun", err)
	r.ID = id
	return r
}

func testRunOutcomes(t *testing.T, s store.Store) {
	outcomes := []string{store.RunOK, store.RunFailed, store.RunCancelled, store.RunInterrupted}
	var want []store.SyncRun
	for i, o := range outcomes {
		r := startRun(t, s, store.SyncRun{Trigger: store.TriggerPoll, Entity: helpdesk.EntityTickets,
			StartedAt: at(time.Duration(i) * time.Minute)})
		r.FinishedAt, r.Outcome, r.Created = at(time.Duration(i)*time.Minute+time.Second), o, i
		if o != store.RunOK {
			r.Error = "sync tickets: " + o
		}
		if o == store.RunOK {
			r.Skipped = 3
			r.Skips = []store.SkippedRecord{{ID: "17", Reason: "id: a string where a number is due"}, {ID: "", Reason: "no id"}}
		}
		noErr(t, "FinishSyncRun", s.FinishSyncRun(ctx(t), Scope, r))
		want = append([]store.SyncRun{r}, want...)
	}
	got, err := s.SyncRuns(ctx(t), Scope, store.SyncRunFilter{})
	noErr(t, "SyncRuns", err)
	equal(t, "runs", got, want)
	failed, err := s.SyncRuns(ctx(t), Scope, store.SyncRunFilter{FailedOnly: true})
	noErr(t, "SyncRuns failed", err)
	var names []string
	for _, r := range failed {
		names = append(names, r.Outcome)
	}
	equal(t, "failed only", names, []string{store.RunInterrupted, store.RunFailed})
}

func testRunInterruption(t *testing.T, s store.Store) {
	dead := startRun(t, s, store.SyncRun{Trigger: store.TriggerBackfill, Entity: helpdesk.EntityTickets, StartedAt: at(0)})
	dead.Created, dead.Unchanged = 500, 20
	noErr(t, "UpdateSyncRun", s.UpdateSyncRun(ctx(t), Scope, dead))
	oneTicket := startRun(t, s, store.SyncRun{Trigger: store.TriggerCallback, Entity: helpdesk.EntityTickets, TicketID: "9", StartedAt: at(0)})
	contacts := startRun(t, s, store.SyncRun{Trigger: store.TriggerPoll, Entity: helpdesk.EntityContacts, StartedAt: at(0)})
	live := startRun(t, s, store.SyncRun{Trigger: store.TriggerPoll, Entity: helpdesk.EntityTickets, StartedAt: at(time.Hour)})

	n, err := s.InterruptSyncRuns(ctx(t), Scope, helpdesk.EntityTickets, at(time.Hour), at(2*time.Hour))
	noErr(t, "InterruptSyncRuns", err)
	equal(t, "interrupted", n, 1)
	n, err = s.InterruptSyncRuns(ctx(t), other, helpdesk.EntityTickets, at(3*time.Hour), at(3*time.Hour))
	noErr(t, "InterruptSyncRuns other scope", err)
	equal(t, "interrupted in another scope", n, 0)

	dead.FinishedAt, dead.Outcome = at(2*time.Hour), store.RunInterrupted
	got, err := s.SyncRuns(ctx(t), Scope, store.SyncRunFilter{})
	noErr(t, "SyncRuns", err)
	byID := map[int64]store.SyncRun{}
	for _, r := range got {
		byID[r.ID] = r
	}
	equal(t, "dead run", byID[dead.ID], dead)
	for _, r := range []store.SyncRun{oneTicket, contacts, live} {
		equal(t, "untouched run", byID[r.ID], r)
	}
	// A run that was alive after all (another process's) says so with
	// its next page.
	dead.FinishedAt, dead.Outcome, dead.Created = time.Time{}, "", 600
	noErr(t, "UpdateSyncRun", s.UpdateSyncRun(ctx(t), Scope, dead))
	got, err = s.SyncRuns(ctx(t), Scope, store.SyncRunFilter{Entity: helpdesk.EntityTickets, Trigger: store.TriggerBackfill})
	noErr(t, "SyncRuns", err)
	equal(t, "run alive again", got, []store.SyncRun{dead})
	if err := s.UpdateSyncRun(ctx(t), Scope, store.SyncRun{ID: dead.ID + 1000}); err == nil {
		t.Error("UpdateSyncRun of a missing run: no error")
	}
}

func testPrune(t *testing.T, s store.Store) {
	old, recent := at(-48*time.Hour), at(0)
	cb := func(when time.Time, result, id string) store.CallbackRecord {
		return store.CallbackRecord{ReceivedAt: when, Provider: Scope.Provider, Event: "ticket.updated",
			DeliveryID: id, ExternalIDs: []string{id}, Verified: true, Result: result}
	}
	_, _, err := s.InsertCallbacks(ctx(t), Scope, []store.CallbackRecord{
		cb(old, store.CallbackProcessed, "a"), cb(old, store.CallbackRejected, "b"),
		cb(old, store.CallbackAccepted, "c"), cb(recent, store.CallbackProcessed, "d")})
	noErr(t, "InsertCallbacks", err)
	_, _, err = s.InsertCallbacks(ctx(t), other, []store.CallbackRecord{cb(old, store.CallbackFailed, "e")})
	noErr(t, "InsertCallbacks", err)
	cut := at(-24 * time.Hour)
	n, err := s.PruneCallbacks(ctx(t), cut, 1)
	noErr(t, "PruneCallbacks", err)
	equal(t, "pruned callbacks, limit 1", n, 1)
	n, err = s.PruneCallbacks(ctx(t), cut, 0)
	noErr(t, "PruneCallbacks", err)
	equal(t, "pruned callbacks", n, 2)
	left, err := s.Callbacks(ctx(t), Scope, store.CallbackFilter{})
	noErr(t, "Callbacks", err)
	var ids []string
	for _, c := range left {
		ids = append(ids, c.DeliveryID)
	}
	equal(t, "callbacks kept", ids, []string{"d", "c"})
	pend, err := s.PendingCallbacks(ctx(t), Scope, 10)
	noErr(t, "PendingCallbacks", err)
	equal(t, "pending kept", len(pend), 1)

	ended := startRun(t, s, store.SyncRun{Trigger: store.TriggerPoll, Entity: helpdesk.EntityTickets, StartedAt: old})
	ended.FinishedAt, ended.Outcome = old.Add(time.Second), store.RunOK
	noErr(t, "FinishSyncRun", s.FinishSyncRun(ctx(t), Scope, ended))
	startRun(t, s, store.SyncRun{Trigger: store.TriggerBackfill, Entity: helpdesk.EntityTickets, StartedAt: old}) // its process died
	startRun(t, s, store.SyncRun{Trigger: store.TriggerPoll, Entity: helpdesk.EntityContacts, StartedAt: recent})
	n, err = s.PruneSyncRuns(ctx(t), cut, 0)
	noErr(t, "PruneSyncRuns", err)
	equal(t, "pruned runs", n, 2)
	runs, err := s.SyncRuns(ctx(t), Scope, store.SyncRunFilter{})
	noErr(t, "SyncRuns", err)
	equal(t, "runs kept", len(runs), 1)
	for _, r := range runs {
		if r.ID == ended.ID {
			t.Error("ended old run kept")
		}
	}

	item := func(key string) store.OutboxItem {
		return store.OutboxItem{Key: key, Kind: "note", Payload: []byte(`{}`), NextAttempt: old, CreatedAt: old, State: store.OutboxPending}
	}
	var idsOut []int64
	for _, k := range []string{"done", "dead", "pending"} {
		id, err := s.Enqueue(ctx(t), Scope, item(k))
		noErr(t, "Enqueue", err)
		idsOut = append(idsOut, id)
	}
	_, err = s.ClaimOutbox(ctx(t), Scope, 3, time.Minute, recent)
	noErr(t, "ClaimOutbox", err)
	noErr(t, "CompleteOutbox", s.CompleteOutbox(ctx(t), Scope, idsOut[0]))
	noErr(t, "FailOutbox", s.FailOutbox(ctx(t), Scope, idsOut[1], "gone", recent, true))
	noErr(t, "FailOutbox", s.FailOutbox(ctx(t), Scope, idsOut[2], "429", recent, false))
	n, err = s.PruneOutbox(ctx(t), cut, 0)
	noErr(t, "PruneOutbox", err)
	equal(t, "pruned outbox items", n, 2)
	st, err := s.OutboxStats(ctx(t), Scope)
	noErr(t, "OutboxStats", err)
	equal(t, "pending kept", st.Pending, 1)
	equal(t, "dead pruned", st.Dead, 0)
}
