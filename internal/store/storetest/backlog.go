package storetest

import (
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

var backlogTests = map[string]func(*testing.T, store.Store){
	"EveryScopeAtOnce": testBacklogsEveryScope,
	"DueFollowsClaims": testBacklogsDue,
}

func backlogs(t *testing.T, s store.Store) map[store.Scope]store.OutboxBacklog {
	t.Helper()
	got, err := s.OutboxBacklogs(ctx(t))
	noErr(t, "OutboxBacklogs", err)
	return got
}

// testBacklogsEveryScope: one call answers for every scope with live
// items, and only for those; final writes count for none; a generic
// outbox item counts in the backlog but is no write to claim.
func testBacklogsEveryScope(t *testing.T, s store.Store) {
	equal(t, "empty store", len(backlogs(t, s)), 0)
	enqueueWrite(t, s, newWrite("a1", "A", 2*time.Minute))
	enqueueWrite(t, s, newWrite("b1", "B", 3*time.Minute))
	enqueueWrite(t, s, newWrite("old", "C", 0))
	finish(t, s, claimWrites(t, s, 10, at(0))[0], store.WriteDone, at(time.Second))
	later := newWrite("g1", "", time.Minute)
	later.NextAttempt = at(time.Hour)
	if _, _, err := s.EnqueueWrite(ctx(t), other, later); err != nil {
		t.Fatal(err)
	}
	dead := newWrite("g0", "", 0)
	if _, _, err := s.EnqueueWrite(ctx(t), other, dead); err != nil {
		t.Fatal(err)
	}
	ws, err := s.ClaimWrites(ctx(t), other, 1, time.Minute, at(0))
	noErr(t, "ClaimWrites", err)
	noErr(t, "FinishWrite", s.FinishWrite(ctx(t), other, ws[0].ID, store.WriteOutcome{Attempt: 1, State: store.WriteDead, At: at(0)}))
	generic := store.Scope{Account: "initech", Provider: helpdesk.Autotask}
	it := item("k", 0)
	it.CreatedAt = at(5 * time.Minute)
	if _, err := s.Enqueue(ctx(t), generic, it); err != nil {
		t.Fatal(err)
	}
	equal(t, "backlogs", backlogs(t, s), map[store.Scope]store.OutboxBacklog{
		Scope:   {Pending: 2, Oldest: at(2 * time.Minute), Due: at(2 * time.Minute)},
		other:   {Pending: 1, Oldest: at(time.Minute), Due: at(time.Hour)},
		generic: {Pending: 1, Oldest: at(5 * time.Minute)},
	})
}

// testBacklogsDue: Due is when a claim could next return a write: the
// head of an order key, not the writes waiting behind it; a claim's
// expiry while in flight; a retry's next attempt.
func testBacklogsDue(t *testing.T, s store.Store) {
	head := enqueueWrite(t, s, newWrite("a1", "A", 0))
	enqueueWrite(t, s, newWrite("a2", "A", time.Minute))
	equal(t, "head due, the second waits", backlogs(t, s)[Scope], store.OutboxBacklog{Pending: 2, Oldest: at(0), Due: at(0)})
	got := claimWrites(t, s, 10, at(2*time.Minute))
	equal(t, "only the head claimed", writeIDs(got), []int64{head.ID})
	equal(t, "in flight: due at the claim's expiry", backlogs(t, s)[Scope],
		store.OutboxBacklog{Pending: 2, Oldest: at(0), Due: at(3 * time.Minute)})
	noErr(t, "FinishWrite", s.FinishWrite(ctx(t), Scope, head.ID, store.WriteOutcome{Attempt: 1, State: store.WritePending,
		Next: at(time.Hour), Answer: "HTTP 503", At: at(2 * time.Minute)}))
	equal(t, "retry: due at its next attempt, the second still waits", backlogs(t, s)[Scope],
		store.OutboxBacklog{Pending: 2, Oldest: at(0), Due: at(time.Hour)})
	got = claimWrites(t, s, 10, at(time.Hour))
	finish(t, s, got[0], store.WriteDone, at(time.Hour))
	equal(t, "head done: the second is due", backlogs(t, s)[Scope],
		store.OutboxBacklog{Pending: 1, Oldest: at(time.Minute), Due: at(time.Minute)})
	got = claimWrites(t, s, 10, at(time.Hour))
	finish(t, s, got[0], store.WriteFailed, at(time.Hour))
	if b, ok := backlogs(t, s)[Scope]; ok {
		t.Fatalf("no live write left, yet the scope has a backlog: %+v", b)
	}
}
