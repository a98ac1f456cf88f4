package storetest

import (
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/store"
)

var callbackTests = map[string]func(*testing.T, store.Store){
	"RoundTrip":      testCallbackRoundTrip,
	"Dedupe":         testCallbackDedupe,
	"ByExternalID":   testCallbacksByExternalID,
	"Filters":        testCallbackFilters,
	"PendingAndMark": testCallbackPendingMark,
	"Stats":          testCallbackStats,
	"Batches":        testCallbackBatches,
}

func cb(delivery string, received time.Duration, ids ...string) store.CallbackRecord {
	return store.CallbackRecord{ReceivedAt: at(received), Provider: Scope.Provider, Event: "ticket.updated",
		DeliveryID: delivery, ExternalIDs: ids, Verified: true, Result: store.CallbackAccepted,
		Payload: []byte(`{"ID":101,"Action":"updated"}`)}
}

func insert(t *testing.T, s store.Store, sc store.Scope, recs ...store.CallbackRecord) ([]int64, []bool) {
	t.Helper()
	ids, dup, err := s.InsertCallbacks(ctx(t), sc, recs)
	noErr(t, "InsertCallbacks", err)
	if len(ids) != len(recs) || len(dup) != len(recs) {
		t.Fatalf("InsertCallbacks returned %d ids and %d flags for %d records", len(ids), len(dup), len(recs))
	}
	return ids, dup
}

func callbacks(t *testing.T, s store.Store, f store.CallbackFilter) []store.CallbackRecord {
	t.Helper()
	got, err := s.Callbacks(ctx(t), Scope, f)
	noErr(t, "Callbacks", err)
	return got
}

func idsOf(recs []store.CallbackRecord) []int64 {
	var ids []int64
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	return ids
}

func testCallbackRoundTrip(t *testing.T, s store.Store) {
	a := cb("d1", 0, "101", "102")
	b := store.CallbackRecord{ReceivedAt: at(time.Second), Provider: "autotask", Result: store.CallbackRejected,
		Reason: "bad signature", Payload: []byte("not json \x00\xff")}
	ids, dup := insert(t, s, Scope, a, b)
	equal(t, "dup", dup, []bool{false, false})
	if ids[1] <= ids[0] {
		t.Fatalf("ids %v not increasing", ids)
	}
	a.ID, b.ID = ids[0], ids[1]
	equal(t, "log", callbacks(t, s, store.CallbackFilter{}), []store.CallbackRecord{b, a})
	ids, _ = insert(t, s, Scope, store.CallbackRecord{Event: "x"})
	got := callbacks(t, s, store.CallbackFilter{Limit: 1})[0]
	if got.ID != ids[0] || got.Provider != Scope.Provider || got.Result != store.CallbackAccepted || got.ReceivedAt.IsZero() {
		t.Fatalf("defaults not applied: %+v", got)
	}
}

func testCallbackDedupe(t *testing.T, s store.Store) {
	_, dup := insert(t, s, Scope, cb("d1", 0, "101"), cb("", 0, "101"), cb("d1", time.Second, "101"))
	equal(t, "dup in one call", dup, []bool{false, false, true})
	ids, dup := insert(t, s, Scope, cb("d1", 2*time.Second, "101"), cb("", 2*time.Second), cb("d2", 2*time.Second))
	equal(t, "dup across calls", dup, []bool{true, false, false})
	got := callbacks(t, s, store.CallbackFilter{ExternalID: "101"})
	equal(t, "duplicate is logged", got[0].ID, ids[0])
	equal(t, "duplicate result", got[0].Result, store.CallbackDuplicate)
	equal(t, "logged rows", len(callbacks(t, s, store.CallbackFilter{})), 6)
	_, dup = insert(t, s, other, cb("d1", 0))
	equal(t, "another scope has its own IDs", dup, []bool{false})
	forged := cb("d9", 0)
	forged.Result, forged.Verified = store.CallbackRejected, false
	_, dup = insert(t, s, Scope, forged, cb("d9", time.Second))
	equal(t, "a rejected delivery does not claim its ID", dup, []bool{false, false})
}

func testCallbacksByExternalID(t *testing.T, s store.Store) {
	ids, _ := insert(t, s, Scope, cb("a", 0, "12", "123"), cb("b", time.Second, "123"), cb("c", 2*time.Second, "1234"),
		cb("d", 3*time.Second, "23"), cb("e", 4*time.Second, "123", "123"))
	insert(t, s, other, cb("f", 0, "123"))
	equal(t, "exact match, newest first", idsOf(callbacks(t, s, store.CallbackFilter{ExternalID: "123"})),
		[]int64{ids[4], ids[1], ids[0]})
	equal(t, "12", idsOf(callbacks(t, s, store.CallbackFilter{ExternalID: "12"})), []int64{ids[0]})
	equal(t, "none", len(callbacks(t, s, store.CallbackFilter{ExternalID: "2"})), 0)
	got := callbacks(t, s, store.CallbackFilter{ExternalID: "123", Since: at(time.Second), Until: at(4 * time.Second)})
	equal(t, "with time range", idsOf(got), []int64{ids[1]})
	equal(t, "repeated IDs kept once", callbacks(t, s, store.CallbackFilter{ExternalID: "123", Limit: 1})[0].ExternalIDs, []string{"123"})
}

func testCallbackFilters(t *testing.T, s store.Store) {
	recs := make([]store.CallbackRecord, 0, 120)
	for i := range 110 {
		recs = append(recs, cb("", time.Duration(i)*time.Second))
	}
	recs[3].Result, recs[7].Result = store.CallbackRejected, store.CallbackFailed
	ids, _ := insert(t, s, Scope, recs...)
	equal(t, "default limit", len(callbacks(t, s, store.CallbackFilter{})), 100)
	got := callbacks(t, s, store.CallbackFilter{Since: at(5 * time.Second), Until: at(8 * time.Second)})
	equal(t, "since inclusive, until exclusive", idsOf(got), []int64{ids[7], ids[6], ids[5]})
	got = callbacks(t, s, store.CallbackFilter{FailedOnly: true})
	equal(t, "failed only", idsOf(got), []int64{ids[7], ids[3]})
	got = callbacks(t, s, store.CallbackFilter{Result: store.CallbackRejected})
	equal(t, "one result", idsOf(got), []int64{ids[3]})
	got = callbacks(t, s, store.CallbackFilter{Limit: 2})
	equal(t, "newest first", idsOf(got), []int64{ids[109], ids[108]})
}

func testCallbackPendingMark(t *testing.T, s store.Store) {
	rejected := cb("r", 0)
	rejected.Result = store.CallbackRejected
	ids, _ := insert(t, s, Scope, cb("b", 2*time.Second), cb("a", time.Second), rejected, cb("c", 3*time.Second))
	insert(t, s, Scope, cb("a", 4*time.Second)) // duplicate: not pending
	pending, err := s.PendingCallbacks(ctx(t), Scope, 0)
	noErr(t, "PendingCallbacks", err)
	equal(t, "oldest first", idsOf(pending), []int64{ids[1], ids[0], ids[3]})
	noErr(t, "MarkCallbacks", s.MarkCallbacks(ctx(t), Scope, ids[:2], store.CallbackProcessed, "", at(time.Minute)))
	noErr(t, "MarkCallbacks", s.MarkCallbacks(ctx(t), Scope, ids[3:], store.CallbackFailed, "PSA 404", at(time.Minute)))
	pending, err = s.PendingCallbacks(ctx(t), Scope, 10)
	noErr(t, "PendingCallbacks", err)
	equal(t, "none pending", len(pending), 0)
	got := callbacks(t, s, store.CallbackFilter{FailedOnly: true})
	equal(t, "failed", idsOf(got), []int64{ids[3], ids[2]})
	equal(t, "reason", got[0].Reason, "PSA 404")
	equal(t, "processed at", got[0].ProcessedAt, at(time.Minute))
	if s.MarkCallbacks(ctx(t), Scope, ids[:1], "bogus", "", at(0)) == nil {
		t.Fatal("MarkCallbacks with an invalid result: want an error")
	}
	isErr(t, "MarkCallbacks unknown", s.MarkCallbacks(ctx(t), Scope, []int64{ids[3] + 100}, store.CallbackProcessed, "", at(0)), store.ErrNotFound)
	isErr(t, "MarkCallbacks other scope", s.MarkCallbacks(ctx(t), other, ids[:1], store.CallbackProcessed, "", at(0)), store.ErrNotFound)
}

func testCallbackStats(t *testing.T, s store.Store) {
	st, err := s.CallbackStats(ctx(t), Scope, at(0))
	noErr(t, "CallbackStats", err)
	equal(t, "empty", st, store.CallbackStats{ByResult: map[string]int{}})
	rejected := cb("", 3*time.Second)
	rejected.Result = store.CallbackRejected
	ids, _ := insert(t, s, Scope, cb("a", 0), cb("b", time.Second), cb("a", 2*time.Second), rejected, cb("c", 4*time.Second))
	insert(t, s, other, cb("z", time.Hour))
	noErr(t, "MarkCallbacks", s.MarkCallbacks(ctx(t), Scope, ids[4:], store.CallbackProcessed, "", at(time.Minute)))
	st, err = s.CallbackStats(ctx(t), Scope, at(time.Second))
	noErr(t, "CallbackStats", err)
	equal(t, "stats", st, store.CallbackStats{LastReceived: at(4 * time.Second), ByResult: map[string]int{
		store.CallbackAccepted: 1, store.CallbackDuplicate: 1, store.CallbackRejected: 1, store.CallbackProcessed: 1}})
}

// testCallbackBatches: one insert for several scopes (a process serving
// many accounts) keys duplicates per scope, in order, within the call too.
func testCallbackBatches(t *testing.T, s store.Store) {
	insert(t, s, Scope, cb("d1", 0, "101"))
	bs := []store.CallbackBatch{
		{Scope: Scope, Records: []store.CallbackRecord{cb("d1", time.Second, "101"), cb("d2", time.Second, "102")}},
		{Scope: other, Records: []store.CallbackRecord{cb("d1", time.Second, "201"), cb("d2", time.Second)}},
		{Scope: Scope, Records: []store.CallbackRecord{cb("d2", 2*time.Second, "102")}},
		{Scope: other},
	}
	noErr(t, "InsertCallbackBatches", s.InsertCallbackBatches(ctx(t), bs))
	equal(t, "dup", [][]bool{bs[0].Dup, bs[1].Dup, bs[2].Dup, bs[3].Dup},
		[][]bool{{true, false}, {false, false}, {true}, {}})
	for i, b := range bs {
		if len(b.IDs) != len(b.Records) {
			t.Fatalf("batch %d: %d ids for %d records", i, len(b.IDs), len(b.Records))
		}
	}
	got := callbacks(t, s, store.CallbackFilter{ExternalID: "102"})
	equal(t, "rows of 102, newest first", idsOf(got), []int64{bs[2].IDs[0], bs[0].IDs[1]})
	equal(t, "duplicate result", got[0].Result, store.CallbackDuplicate)
	o, err := s.Callbacks(ctx(t), other, store.CallbackFilter{ExternalID: "201"})
	noErr(t, "Callbacks", err)
	equal(t, "the other scope's row", idsOf(o), []int64{bs[1].IDs[0]})
	pending, err := s.PendingCallbacks(ctx(t), other, 10)
	noErr(t, "PendingCallbacks", err)
	equal(t, "the other scope's pending rows", idsOf(pending), bs[1].IDs)
}
