package postgres

import (
	"reflect"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/storetest"
)

// A batch of few rows is written with one statement (no lookup, staging
// table or COPY), with the counts and rows the bulk path gives.
func TestWriteSmallCounts(t *testing.T) {
	s := openStore(t)
	s.beforeWrite = func(m writeMode, direct bool) { t.Fatalf("a small batch took the bulk path (%v copy=%v)", m, direct) }
	at := func(h int) time.Time { return storetest.T0.Add(time.Duration(h) * time.Hour) }
	mustWrite(t, s, storetest.Ticket("a", at(1), "a1"), storetest.Ticket("b", at(1), "b1"),
		storetest.Ticket("c", at(1), "c1"), storetest.Ticket("d", at(1), "d1"))
	steps := []struct {
		name                        string
		batch                       store.Batch
		created, updated, unchanged int
		want                        map[string]string
	}{
		{"new, newer, older, identical, as new and different",
			ticketBatch([]helpdesk.Ticket{storetest.Ticket("e", at(0), "e0"), storetest.Ticket("a", at(2), "a2"),
				storetest.Ticket("b", at(0), "b0"), storetest.Ticket("c", at(1), "c1"), storetest.Ticket("d", at(1), "d1'")}),
			1, 2, 2, map[string]string{"a": "a2", "b": "b1", "c": "c1", "d": "d1'", "e": "e0"}},
		{"duplicates: the newest is kept, the others unchanged",
			ticketBatch([]helpdesk.Ticket{storetest.Ticket("f", at(1), "f1"), storetest.Ticket("f", at(3), "f3"),
				storetest.Ticket("f", at(2), "f2")}),
			1, 0, 2, map[string]string{"f": "f3"}},
		{"authoritative: an older row replaces the stored one",
			store.Batch{Entity: helpdesk.EntityTickets, Authoritative: true,
				Tickets: []helpdesk.Ticket{storetest.Ticket("a", at(1), "a1 again"), storetest.Ticket("c", at(1), "c1")}},
			0, 1, 1, map[string]string{"a": "a1 again", "c": "c1"}},
		{"empty", ticketBatch(nil), 0, 0, 0, nil},
	}
	for _, st := range steps {
		res, err := s.WriteBatch(t.Context(), storetest.Scope, st.batch)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if want := (store.UpsertResult{Created: st.created, Updated: st.updated, Unchanged: st.unchanged}); res != want {
			t.Fatalf("%s: result %+v, want %+v", st.name, res, want)
		}
		for id, summary := range st.want {
			wantSummary(t, s, id, summary)
		}
	}
}

// Rows written by writeSmall read back equal to those the bulk path
// writes, NULLs, zero times and non-ASCII text included.
func TestWriteSmallRoundTrip(t *testing.T) {
	small, bulk := openStore(t), openStore(t)
	bulk.smallBatch = 0
	ts := vary(storetest.Tickets("r", DefaultSmallBatch, storetest.T0))
	for _, s := range []*Store{small, bulk} {
		mustWrite(t, s, ts...)
	}
	var got [2][]helpdesk.Ticket
	for i, s := range []*Store{small, bulk} {
		for tk, err := range s.Tickets(t.Context(), storetest.Scope) {
			if err != nil {
				t.Fatal(err)
			}
			got[i] = append(got[i], tk)
		}
	}
	if len(got[0]) != len(ts) || !reflect.DeepEqual(got[0], got[1]) {
		t.Fatalf("writeSmall stored\n%+v\nthe bulk path\n%+v", got[0], got[1])
	}
}

// The watermark of a small batch is written with its rows, or neither is.
func TestWriteSmallWatermarkIsAtomic(t *testing.T) {
	s := openStore(t)
	wm := func(cursor string) *store.Watermark {
		return &store.Watermark{UpdatedThrough: storetest.T0, BackfilledFrom: storetest.T0.Add(-time.Hour), Cursor: cursor}
	}
	write := func(w *store.Watermark, ts ...helpdesk.Ticket) error {
		_, err := s.WriteBatch(t.Context(), storetest.Scope, store.Batch{Entity: helpdesk.EntityTickets, Tickets: ts, Watermark: w})
		return err
	}
	wantWM := func(want store.Watermark) {
		t.Helper()
		got, err := s.Watermark(t.Context(), storetest.Scope, helpdesk.EntityTickets)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("watermark %+v, want %+v", got, want)
		}
	}
	if err := write(wm("c1"), storetest.Ticket("a", storetest.T0, "a")); err != nil {
		t.Fatal(err)
	}
	wantSummary(t, s, "a", "a")
	wantWM(*wm("c1"))
	// PostgreSQL refuses a NUL in text: the watermark fails after the
	// upsert ran, and the upsert must not stay.
	if err := write(wm("bad\x00cursor"), storetest.Ticket("a", storetest.T0.Add(time.Second), "a newer")); err == nil {
		t.Fatal("a watermark with a NUL byte was stored")
	}
	wantSummary(t, s, "a", "a")
	wantWM(*wm("c1"))
	// A failing row leaves the watermark.
	bad := storetest.Ticket("b", storetest.T0, "b\x00")
	if err := write(wm("c2"), bad); err == nil {
		t.Fatal("a summary with a NUL byte was stored")
	}
	wantWM(*wm("c1"))
	// A batch of no rows still moves the watermark.
	if err := write(wm("c3")); err != nil {
		t.Fatal(err)
	}
	wantWM(*wm("c3"))
}
