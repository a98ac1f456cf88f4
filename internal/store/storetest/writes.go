package storetest

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

var writeTests = map[string]func(*testing.T, store.Store){
	"EnqueueIdempotent":  testWriteIdempotent,
	"RoundTrip":          testWriteRoundTrip,
	"OrderPerTicket":     testWriteOrder,
	"ExpiredClaim":       testWriteExpiredClaim,
	"ClaimLost":          testWriteClaimLost,
	"FilterAndStats":     testWriteFilter,
	"ConcurrentClaimers": testWriteConcurrentClaimers,
	"Notes":              testNotes,
	"GenericOutboxApart": testWritesApartFromOutbox,
}

func newWrite(key, ticket string, created time.Duration) store.Write {
	return store.Write{Op: store.OpAddNote, TicketID: ticket, OrderKey: ticket, Author: "jane.doe@acme-msp.com",
		MemberID: "17", MemberName: "Jane Doe", Payload: json.RawMessage(`{"text":"Called the client"}`),
		IdempotencyKey: key, RequestHash: "h-" + key, Marker: "hz-" + key, CreatedAt: at(created)}
}

func enqueueWrite(t *testing.T, s store.Store, w store.Write) store.Write {
	t.Helper()
	got, created, err := s.EnqueueWrite(ctx(t), Scope, w)
	noErr(t, "EnqueueWrite", err)
	if !created {
		t.Fatalf("EnqueueWrite(%s): not created", w.IdempotencyKey)
	}
	return got
}

func claimWrites(t *testing.T, s store.Store, n int, now time.Time) []store.Write {
	t.Helper()
	got, err := s.ClaimWrites(ctx(t), Scope, n, time.Minute, now)
	noErr(t, "ClaimWrites", err)
	return got
}

func writeIDs(ws []store.Write) []int64 {
	ids := []int64{}
	for _, w := range ws {
		ids = append(ids, w.ID)
	}
	return ids
}

func finish(t *testing.T, s store.Store, w store.Write, state string, now time.Time) {
	t.Helper()
	noErr(t, "FinishWrite", s.FinishWrite(ctx(t), Scope, w.ID, store.WriteOutcome{
		Attempt: w.Attempts, State: state, Next: now, Answer: "answer " + state, At: now}))
}

func testWriteIdempotent(t *testing.T, s store.Store) {
	a := enqueueWrite(t, s, newWrite("k1", "101", 0))
	again, created, err := s.EnqueueWrite(ctx(t), Scope, newWrite("k1", "101", time.Second))
	noErr(t, "EnqueueWrite again", err)
	equal(t, "created", created, false)
	equal(t, "same key, first write", again, a)
	finish(t, s, claimWrites(t, s, 1, at(0))[0], store.WriteDone, at(time.Second))
	again, created, err = s.EnqueueWrite(ctx(t), Scope, newWrite("k1", "101", time.Hour))
	noErr(t, "EnqueueWrite after done", err)
	equal(t, "done write still answers its key", [2]any{again.ID, created}, [2]any{a.ID, false})
	equal(t, "state", again.State, store.WriteDone)
	diff := newWrite("k1", "101", 0)
	diff.RequestHash = "other"
	_, _, err = s.EnqueueWrite(ctx(t), Scope, diff)
	isErr(t, "key reused for another request", err, store.ErrIdempotencyConflict)
	if _, created, err := s.EnqueueWrite(ctx(t), other, newWrite("k1", "101", 0)); err != nil || !created {
		t.Fatalf("same key in another scope: created %v, %v", created, err)
	}
	if _, _, err := s.EnqueueWrite(ctx(t), Scope, store.Write{Op: store.OpAddNote, Marker: "m"}); err == nil {
		t.Fatal("EnqueueWrite without a key: want an error")
	}
}

func testWriteRoundTrip(t *testing.T, s store.Store) {
	w := enqueueWrite(t, s, newWrite("k1", "101", 0))
	want := newWrite("k1", "101", 0)
	want.ID, want.State, want.NextAttempt, want.UpdatedAt = w.ID, store.WritePending, at(0), at(0)
	equal(t, "enqueued", w, want)
	got := claimWrites(t, s, 10, at(time.Second))
	want.State, want.Attempts, want.ClaimedUntil, want.UpdatedAt = store.WriteInFlight, 1, at(time.Second+time.Minute), at(time.Second)
	equal(t, "claimed", got, []store.Write{want})
	noErr(t, "FinishWrite", s.FinishWrite(ctx(t), Scope, w.ID, store.WriteOutcome{Attempt: 1, State: store.WriteDone,
		Answer: "note 9001 added", ResultID: "9001", Duration: 1500 * time.Millisecond, At: at(2 * time.Second)}))
	stored, err := s.Write(ctx(t), Scope, w.ID)
	noErr(t, "Write", err)
	want.State, want.Answer, want.ResultID, want.LastDuration = store.WriteDone, "note 9001 added", "9001", 1500*time.Millisecond
	want.ClaimedUntil, want.UpdatedAt, want.FinishedAt, want.NextAttempt = time.Time{}, at(2*time.Second), at(2*time.Second), at(2*time.Second)
	equal(t, "done", stored, want)
	_, err = s.Write(ctx(t), other, w.ID)
	isErr(t, "Write in another scope", err, store.ErrNotFound)
}

func testWriteOrder(t *testing.T, s store.Store) {
	a1 := enqueueWrite(t, s, newWrite("a1", "A", 0))
	a2 := enqueueWrite(t, s, newWrite("a2", "A", 0))
	b1 := enqueueWrite(t, s, newWrite("b1", "B", 0))
	free := newWrite("c", "", 0)
	c := enqueueWrite(t, s, free)
	got := claimWrites(t, s, 10, at(0))
	equal(t, "one head per ticket, unordered writes too", writeIDs(got), []int64{a1.ID, b1.ID, c.ID})
	finish(t, s, got[1], store.WriteDone, at(0))
	finish(t, s, got[2], store.WriteDone, at(0))
	equal(t, "a2 waits while a1 is in flight", len(claimWrites(t, s, 10, at(time.Second))), 0)
	// a1 fails transiently: a2 still waits for it.
	noErr(t, "FinishWrite", s.FinishWrite(ctx(t), Scope, a1.ID, store.WriteOutcome{Attempt: 1, State: store.WritePending,
		Next: at(time.Hour), Answer: "HTTP 503", At: at(time.Second)}))
	equal(t, "a2 waits for a1's retry", len(claimWrites(t, s, 10, at(2*time.Second))), 0)
	got = claimWrites(t, s, 10, at(time.Hour))
	equal(t, "a1 again", writeIDs(got), []int64{a1.ID})
	finish(t, s, got[0], store.WriteFailed, at(time.Hour))
	got = claimWrites(t, s, 10, at(time.Hour))
	equal(t, "after a final outcome, a2 goes", writeIDs(got), []int64{a2.ID})
}

func testWriteExpiredClaim(t *testing.T, s store.Store) {
	w := enqueueWrite(t, s, newWrite("k", "101", 0))
	first := claimWrites(t, s, 1, at(0))
	equal(t, "not uncertain on the first claim", first[0].Uncertain, false)
	equal(t, "live claim", len(claimWrites(t, s, 1, at(59*time.Second))), 0)
	got := claimWrites(t, s, 1, at(time.Minute))
	equal(t, "expired claim is claimable", writeIDs(got), []int64{w.ID})
	equal(t, "attempts", got[0].Attempts, 2)
	equal(t, "a taken-over claim is uncertain", got[0].Uncertain, true)
	noErr(t, "FinishWrite", s.FinishWrite(ctx(t), Scope, w.ID, store.WriteOutcome{Attempt: 2, State: store.WritePending,
		Next: at(2 * time.Minute), Uncertain: true, At: at(time.Minute)}))
	got = claimWrites(t, s, 1, at(2*time.Minute))
	equal(t, "stays uncertain", got[0].Uncertain, true)
}

func testWriteClaimLost(t *testing.T, s store.Store) {
	w := enqueueWrite(t, s, newWrite("k", "101", 0))
	old := claimWrites(t, s, 1, at(0))[0]
	cur := claimWrites(t, s, 1, at(time.Minute))[0]
	err := s.FinishWrite(ctx(t), Scope, w.ID, store.WriteOutcome{Attempt: old.Attempts, State: store.WriteDone, At: at(time.Minute)})
	isErr(t, "outcome of a taken-over claim", err, store.ErrClaimLost)
	finish(t, s, cur, store.WriteDone, at(time.Minute))
	isErr(t, "outcome after done", s.FinishWrite(ctx(t), Scope, w.ID, store.WriteOutcome{Attempt: cur.Attempts, State: store.WriteFailed}), store.ErrClaimLost)
	isErr(t, "unknown write", s.FinishWrite(ctx(t), Scope, w.ID+100, store.WriteOutcome{State: store.WriteDone}), store.ErrNotFound)
	if err := s.FinishWrite(ctx(t), Scope, w.ID, store.WriteOutcome{State: "bogus"}); err == nil {
		t.Fatal("FinishWrite with an invalid state: want an error")
	}
}

func testWriteFilter(t *testing.T, s store.Store) {
	st, err := s.WriteStats(ctx(t), Scope)
	noErr(t, "WriteStats", err)
	equal(t, "empty", st, store.WriteStats{ByState: map[string]int{}})
	var ids []int64
	for i, tk := range []string{"A", "B", "C", "D"} {
		ids = append(ids, enqueueWrite(t, s, newWrite(tk, tk, time.Duration(i)*time.Minute)).ID)
	}
	got := claimWrites(t, s, 3, at(time.Hour))
	finish(t, s, got[0], store.WriteDone, at(time.Hour))
	finish(t, s, got[1], store.WriteFailed, at(time.Hour))
	finish(t, s, got[2], store.WriteDead, at(time.Hour))
	list := func(f store.WriteFilter) []int64 {
		ws, err := s.Writes(ctx(t), Scope, f)
		noErr(t, "Writes", err)
		return writeIDs(ws)
	}
	equal(t, "all, newest first", list(store.WriteFilter{}), []int64{ids[3], ids[2], ids[1], ids[0]})
	equal(t, "ticket", list(store.WriteFilter{TicketID: "B"}), []int64{ids[1]})
	equal(t, "idempotency key", list(store.WriteFilter{IdempotencyKey: "C"}), []int64{ids[2]})
	equal(t, "failed", list(store.WriteFilter{FailedOnly: true}), []int64{ids[2], ids[1]})
	equal(t, "state", list(store.WriteFilter{States: []string{store.WriteDone, store.WritePending}}), []int64{ids[3], ids[0]})
	equal(t, "finished since", list(store.WriteFilter{FinishedSince: at(time.Hour)}), []int64{ids[2], ids[1], ids[0]})
	equal(t, "limit", list(store.WriteFilter{Limit: 1}), []int64{ids[3]})
	equal(t, "since", list(store.WriteFilter{Since: at(2 * time.Minute)}), []int64{ids[3], ids[2]})
	st, err = s.WriteStats(ctx(t), Scope)
	noErr(t, "WriteStats", err)
	equal(t, "stats", st, store.WriteStats{ByState: map[string]int{"done": 1, "failed": 1, "dead": 1, "pending": 1}, OldestLive: at(3 * time.Minute)})
	ob, err := s.OutboxStats(ctx(t), Scope)
	noErr(t, "OutboxStats", err)
	equal(t, "outbox backlog counts writes", ob, store.OutboxStats{Pending: 1, Oldest: at(3 * time.Minute), Dead: 1})
}

// testWriteConcurrentClaimers: workers claiming at once never hold two
// writes of one ticket, and deliver each ticket's writes in order.
func testWriteConcurrentClaimers(t *testing.T, s store.Store) {
	const tickets, perTicket, workers = 5, 6, 4
	for i := range perTicket {
		for tk := range tickets {
			enqueueWrite(t, s, newWrite(fmt.Sprintf("%d-%d", tk, i), fmt.Sprint(tk), 0))
		}
	}
	var mu sync.Mutex
	inFlight := map[string]bool{}
	done := map[string][]string{}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for idle := 0; idle < 200; {
				ws, err := s.ClaimWrites(ctx(t), Scope, 2, time.Hour, at(0))
				if err != nil {
					errs <- err
					return
				}
				if len(ws) == 0 {
					idle++
					continue
				}
				for _, w := range ws {
					mu.Lock()
					if inFlight[w.TicketID] {
						errs <- fmt.Errorf("ticket %s has two writes in flight", w.TicketID)
					}
					inFlight[w.TicketID] = true
					mu.Unlock()
				}
				for _, w := range ws {
					mu.Lock()
					inFlight[w.TicketID] = false
					done[w.TicketID] = append(done[w.TicketID], w.IdempotencyKey)
					mu.Unlock()
					if err := s.FinishWrite(ctx(t), Scope, w.ID, store.WriteOutcome{Attempt: w.Attempts, State: store.WriteDone, At: at(0)}); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for tk := range tickets {
		var want []string
		for i := range perTicket {
			want = append(want, fmt.Sprintf("%d-%d", tk, i))
		}
		equal(t, "order of ticket "+fmt.Sprint(tk), done[fmt.Sprint(tk)], want)
	}
}

func testNotes(t *testing.T, s store.Store) {
	n1 := helpdesk.Note{ExternalID: "n1", TicketID: "101", Text: "Called the client", Internal: true, AuthorID: "17",
		CreatedAt: at(time.Minute), Raw: json.RawMessage(`{"id":1}`)}
	n2 := helpdesk.Note{ExternalID: "n2", TicketID: "101", Text: "Fixed", AuthorID: "18", CreatedAt: at(0)}
	res, err := s.UpsertNotes(ctx(t), Scope, []helpdesk.Note{n1, n2})
	noErr(t, "UpsertNotes", err)
	wantResult(t, res, 2, 0, 0)
	n2.Text = "Fixed for good"
	res, err = s.UpsertNotes(ctx(t), Scope, []helpdesk.Note{n1, n2})
	noErr(t, "UpsertNotes again", err)
	wantResult(t, res, 0, 1, 1)
	got, err := s.Notes(ctx(t), Scope, "101")
	noErr(t, "Notes", err)
	equal(t, "notes, oldest first", got, []helpdesk.Note{n2, n1})
	got, err = s.Notes(ctx(t), other, "101")
	noErr(t, "Notes other scope", err)
	equal(t, "other scope", len(got), 0)
}

func testWritesApartFromOutbox(t *testing.T, s store.Store) {
	enqueueWrite(t, s, newWrite("k", "101", 0))
	got := claim(t, s, 10, time.Minute, at(time.Hour))
	equal(t, "generic claims leave writes alone", len(got), 0)
	id := enqueue(t, s, item("generic", 0))
	equal(t, "write claims leave generic items alone", len(claimWrites(t, s, 10, at(time.Hour))), 1)
	_, err := s.Write(ctx(t), Scope, id)
	isErr(t, "a generic item is no write", err, store.ErrNotFound)
}
