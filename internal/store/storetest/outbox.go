package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/store"
)

var outboxTests = map[string]func(*testing.T, store.Store){
	"EnqueueIdempotent": testEnqueueIdempotent,
	"ClaimCompleteFail": testClaimCompleteFail,
	"ExpiredClaim":      testExpiredClaim,
	"Stats":             testOutboxStats,
	"UnknownItem":       testOutboxUnknown,
}

func item(key string, next time.Duration) store.OutboxItem {
	return store.OutboxItem{Key: key, Kind: "note", Payload: json.RawMessage(`{"ticket":"101","text":"hello"}`),
		CreatedAt: at(0), NextAttempt: at(next)}
}

func enqueue(t *testing.T, s store.Store, it store.OutboxItem) int64 {
	t.Helper()
	id, err := s.Enqueue(ctx(t), Scope, it)
	noErr(t, "Enqueue", err)
	return id
}

func claim(t *testing.T, s store.Store, n int, lease time.Duration, now time.Time) []store.OutboxItem {
	t.Helper()
	got, err := s.ClaimOutbox(ctx(t), Scope, n, lease, now)
	noErr(t, "ClaimOutbox", err)
	return got
}

func itemIDs(items []store.OutboxItem) []int64 {
	var ids []int64
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	return ids
}

func testEnqueueIdempotent(t *testing.T, s store.Store) {
	a := enqueue(t, s, item("k1", 0))
	equal(t, "same key, same item", enqueue(t, s, item("k1", time.Hour)), a)
	b := enqueue(t, s, item("k2", 0))
	if b == a {
		t.Fatal("different keys share an item")
	}
	if _, err := s.Enqueue(ctx(t), other, item("k1", 0)); err != nil {
		t.Fatalf("Enqueue in another scope: %v", err)
	}
	claim(t, s, 10, time.Minute, at(0))
	equal(t, "in flight: still the same item", enqueue(t, s, item("k1", 0)), a)
	noErr(t, "CompleteOutbox", s.CompleteOutbox(ctx(t), Scope, a))
	if c := enqueue(t, s, item("k1", 0)); c == a {
		t.Fatal("a done item blocks the same write from being queued again")
	}
	if _, err := s.Enqueue(ctx(t), Scope, store.OutboxItem{Kind: "note"}); err == nil {
		t.Fatal("Enqueue without a key: want an error")
	}
}

func testClaimCompleteFail(t *testing.T, s store.Store) {
	a := enqueue(t, s, item("a", time.Second))
	b := enqueue(t, s, item("b", 0))
	c := enqueue(t, s, item("c", time.Hour))
	got := claim(t, s, 10, time.Minute, at(time.Second))
	equal(t, "due items, by next attempt", itemIDs(got), []int64{b, a})
	want := item("b", 0)
	want.ID, want.Attempts, want.State, want.ClaimedUntil = b, 1, store.OutboxInFlight, at(time.Second+time.Minute)
	equal(t, "claimed item", got[0], want)
	equal(t, "nothing left due", len(claim(t, s, 10, time.Minute, at(2*time.Second))), 0)
	noErr(t, "CompleteOutbox", s.CompleteOutbox(ctx(t), Scope, b))
	noErr(t, "FailOutbox", s.FailOutbox(ctx(t), Scope, a, "HTTP 503", at(time.Hour), false))
	got = claim(t, s, 1, time.Minute, at(time.Hour))
	equal(t, "retried item comes first", itemIDs(got), []int64{a})
	equal(t, "attempts", got[0].Attempts, 2)
	equal(t, "last error", got[0].LastError, "HTTP 503")
	noErr(t, "FailOutbox dead", s.FailOutbox(ctx(t), Scope, a, "HTTP 400", at(2*time.Hour), true))
	got = claim(t, s, 10, time.Minute, at(3*time.Hour))
	equal(t, "dead and done items are never claimed", itemIDs(got), []int64{c})
	noErr(t, "CompleteOutbox late", s.CompleteOutbox(ctx(t), Scope, a))
	st, err := s.OutboxStats(ctx(t), Scope)
	noErr(t, "OutboxStats", err)
	equal(t, "dead stays dead", st.Dead, 1)
}

func testExpiredClaim(t *testing.T, s store.Store) {
	a := enqueue(t, s, item("a", 0))
	equal(t, "claim", itemIDs(claim(t, s, 1, time.Minute, at(0))), []int64{a})
	equal(t, "live claim", len(claim(t, s, 1, time.Minute, at(59*time.Second))), 0)
	got := claim(t, s, 1, time.Minute, at(time.Minute))
	equal(t, "expired claim is claimable", itemIDs(got), []int64{a})
	equal(t, "attempts", got[0].Attempts, 2)
	equal(t, "new claim", got[0].ClaimedUntil, at(2*time.Minute))
}

func testOutboxStats(t *testing.T, s store.Store) {
	st, err := s.OutboxStats(ctx(t), Scope)
	noErr(t, "OutboxStats", err)
	equal(t, "empty", st, store.OutboxStats{})
	for i, k := range []string{"a", "b", "c", "d"} {
		it := item(k, 0)
		it.CreatedAt = at(time.Duration(i) * time.Minute)
		enqueue(t, s, it)
	}
	got := claim(t, s, 2, time.Minute, at(time.Hour))
	noErr(t, "CompleteOutbox", s.CompleteOutbox(ctx(t), Scope, got[0].ID))
	noErr(t, "FailOutbox", s.FailOutbox(ctx(t), Scope, got[1].ID, "no", at(0), true))
	st, err = s.OutboxStats(ctx(t), Scope)
	noErr(t, "OutboxStats", err)
	equal(t, "stats", st, store.OutboxStats{Pending: 2, Oldest: at(2 * time.Minute), Dead: 1})
}

func testOutboxUnknown(t *testing.T, s store.Store) {
	id := enqueue(t, s, item("a", 0))
	isErr(t, "CompleteOutbox", s.CompleteOutbox(ctx(t), Scope, id+100), store.ErrNotFound)
	isErr(t, "FailOutbox", s.FailOutbox(ctx(t), Scope, id+100, "x", at(0), false), store.ErrNotFound)
	isErr(t, "CompleteOutbox other scope", s.CompleteOutbox(ctx(t), other, id), store.ErrNotFound)
}
