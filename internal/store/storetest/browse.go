package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

var browseTests = map[string]func(*testing.T, store.Store){
	"TicketByNumber":   testTicketByNumber,
	"SyncRunsByTicket": testSyncRunsByTicketPaged,
	"CallbacksPaged":   testCallbacksByResultPaged,
	"OutboxItems":      testOutboxItems,
}

func testTicketByNumber(t *testing.T, s store.Store) {
	a := Ticket("29001", at(0), "printer")
	a.Number = "T20251205.1085"
	b := Ticket("29002", at(time.Minute), "scanner")
	b.Number = ""
	_, err := s.WriteBatch(ctx(t), Scope, store.Batch{Entity: helpdesk.EntityTickets, Tickets: []helpdesk.Ticket{a, b}})
	noErr(t, "WriteBatch", err)
	got, err := s.TicketByNumber(ctx(t), Scope, "T20251205.1085")
	noErr(t, "TicketByNumber", err)
	equal(t, "ticket", got.ExternalID, "29001")
	_, err = s.TicketByNumber(ctx(t), Scope, "")
	isErr(t, "empty number never matches", err, store.ErrNotFound)
	_, err = s.TicketByNumber(ctx(t), other, "T20251205.1085")
	isErr(t, "other scope", err, store.ErrNotFound)
}

// page reads a newest-first list two rows at a time through its cursor.
func page[T any](t *testing.T, list func(store.Cursor) ([]T, error), key func(T) (time.Time, int64)) []int64 {
	t.Helper()
	var ids []int64
	var c store.Cursor
	for range 10 {
		rows, err := list(c)
		noErr(t, "list", err)
		if len(rows) == 0 {
			return ids
		}
		for _, r := range rows {
			at, id := key(r)
			ids = append(ids, id)
			c = store.Cursor{At: at, ID: id}
		}
	}
	t.Fatal("paging did not end")
	return nil
}

func testSyncRunsByTicketPaged(t *testing.T, s store.Store) {
	var want []int64
	for i, tk := range []string{"101", "102", "101", "101", "101"} {
		start := at(time.Duration(i/2) * time.Minute) // pairs share a start time
		id, err := s.StartSyncRun(ctx(t), Scope, store.SyncRun{Trigger: store.TriggerCallback, Entity: helpdesk.EntityTickets,
			TicketID: tk, StartedAt: start})
		noErr(t, "StartSyncRun", err)
		if tk == "101" {
			want = append([]int64{id}, want...)
		}
	}
	got := page(t, func(c store.Cursor) ([]store.SyncRun, error) {
		return s.SyncRuns(ctx(t), Scope, store.SyncRunFilter{TicketID: "101", Before: c, Limit: 2})
	}, func(r store.SyncRun) (time.Time, int64) { return r.StartedAt, r.ID })
	equal(t, "runs of ticket 101, paged", got, want)
}

func testCallbacksByResultPaged(t *testing.T, s store.Store) {
	var recs []store.CallbackRecord
	for i := range 5 {
		r := cb("", time.Duration(i/2)*time.Second, "101")
		if i == 1 {
			r.Result, r.Reason = store.CallbackRejected, "bad signature"
		}
		if i == 3 {
			r.Event = "note.created"
		}
		recs = append(recs, r)
	}
	ids := insertAll(t, s, recs)
	got := page(t, func(c store.Cursor) ([]store.CallbackRecord, error) {
		return s.Callbacks(ctx(t), Scope, store.CallbackFilter{Result: store.CallbackAccepted, Before: c, Limit: 2})
	}, func(r store.CallbackRecord) (time.Time, int64) { return r.ReceivedAt, r.ID })
	equal(t, "accepted, paged", got, []int64{ids[4], ids[3], ids[2], ids[0]})
	notes, err := s.Callbacks(ctx(t), Scope, store.CallbackFilter{Entity: "note"})
	noErr(t, "Callbacks by entity", err)
	equal(t, "note events", len(notes), 1)
	tickets, err := s.Callbacks(ctx(t), Scope, store.CallbackFilter{Entity: "ticket"})
	noErr(t, "Callbacks by entity", err)
	equal(t, "ticket events", len(tickets), 4)
}

func insertAll(t *testing.T, s store.Store, recs []store.CallbackRecord) []int64 {
	t.Helper()
	ids, _, err := s.InsertCallbacks(ctx(t), Scope, recs)
	noErr(t, "InsertCallbacks", err)
	return ids
}

func testOutboxItems(t *testing.T, s store.Store) {
	mk := func(key, kind, ticket string, created time.Duration) int64 {
		payload, _ := json.Marshal(map[string]string{"ticketId": ticket, "text": "hello"})
		return enqueue(t, s, store.OutboxItem{Key: key, Kind: kind, Payload: payload, CreatedAt: at(created), NextAttempt: at(created)})
	}
	a := mk("k1", "note", "101", 0)
	b := mk("k2", "status", "102", 0)
	c := mk("k3", "note", "101", time.Minute)
	noErr(t, "FailOutbox", s.FailOutbox(ctx(t), Scope, a, "HTTP 400", at(time.Hour), true))
	_, err := s.Enqueue(ctx(t), other, store.OutboxItem{Key: "k9", Kind: "note", Payload: json.RawMessage(`{}`), CreatedAt: at(0), NextAttempt: at(0)})
	noErr(t, "Enqueue other", err)
	cases := []struct {
		name string
		f    store.OutboxFilter
		want []int64
	}{
		{"all newest first", store.OutboxFilter{}, []int64{c, b, a}},
		{"state", store.OutboxFilter{State: store.OutboxDead}, []int64{a}},
		{"kind", store.OutboxFilter{Kind: "note"}, []int64{c, a}},
		{"ticket", store.OutboxFilter{TicketID: "102"}, []int64{b}},
		{"before", store.OutboxFilter{Before: store.Cursor{At: at(0), ID: b}}, []int64{a}},
	}
	for _, tc := range cases {
		items, err := s.OutboxItems(ctx(t), Scope, tc.f)
		noErr(t, tc.name, err)
		equal(t, tc.name, itemIDs(items), tc.want)
	}
}
