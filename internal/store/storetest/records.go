package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

var recordTests = map[string]func(*testing.T, store.Store){
	"Backend":                       testBackend,
	"CreateAndRoundTrip":            testCreateRoundTrip,
	"NeverBackwards":                testNeverBackwards,
	"EqualTimeComparesContent":      testEqualTime,
	"MixedCounts":                   testMixedCounts,
	"DuplicatesInOneBatch":          testBatchDuplicates,
	"AllEntities":                   testAllEntities,
	"ScopeIsolation":                testScopeIsolation,
	"InvalidBatch":                  testInvalidBatch,
	"InvalidRowRollsBackAll":        testInvalidRowRollsBack,
	"CancelledContextWritesNothing": testCancelled,
	"LargeBatch":                    testLargeBatch,
	"TimesUTCMicroseconds":          testTimePrecision,
	"Watermark":                     testWatermark,
	"TicketsIterator":               testTicketsIterator,
	"TicketNotFound":                testTicketNotFound,
}

func testBackend(t *testing.T, s store.Store) {
	if b := s.Backend(); b != "sqlite" && b != "postgres" {
		t.Fatalf("Backend() = %q", b)
	}
}

func testCreateRoundTrip(t *testing.T, s store.Store) {
	a, b := Ticket("101", at(0), "Printer"), Ticket("102", at(time.Second), "VPN")
	b.Closed, b.Deleted, b.Raw = true, true, nil
	b.Status = helpdesk.Ref{ID: "9", Name: "Closed"}
	wantResult(t, mustWrite(t, s, Scope, tickets(a, b)), 2, 0, 0)
	equal(t, "ticket 101", mustTicket(t, s, Scope, "101"), a)
	equal(t, "ticket 102", mustTicket(t, s, Scope, "102"), b)
	n, err := s.Count(ctx(t), Scope, helpdesk.EntityTickets)
	noErr(t, "Count", err)
	equal(t, "count", n, 2)
}

func testNeverBackwards(t *testing.T, s store.Store) {
	newer := Ticket("1", at(time.Hour), "newer")
	mustWrite(t, s, Scope, tickets(newer))
	older := Ticket("1", at(0), "older")
	wantResult(t, mustWrite(t, s, Scope, tickets(older)), 0, 0, 1)
	equal(t, "stored", mustTicket(t, s, Scope, "1"), newer)
	newest := Ticket("1", at(2*time.Hour), "newest")
	wantResult(t, mustWrite(t, s, Scope, tickets(newest)), 0, 1, 0)
	equal(t, "stored", mustTicket(t, s, Scope, "1"), newest)
}

func testEqualTime(t *testing.T, s store.Store) {
	a := Ticket("1", at(0), "same")
	mustWrite(t, s, Scope, tickets(a))
	wantResult(t, mustWrite(t, s, Scope, tickets(a)), 0, 0, 1)
	b := a
	b.Status = helpdesk.Ref{ID: "6", Name: "Waiting"}
	wantResult(t, mustWrite(t, s, Scope, tickets(b)), 0, 1, 0)
	equal(t, "stored", mustTicket(t, s, Scope, "1"), b)
	c := b
	c.Raw = json.RawMessage(`{"id":"1","changed":true}`)
	wantResult(t, mustWrite(t, s, Scope, tickets(c)), 0, 1, 0)
	d := c
	d.Raw = nil
	wantResult(t, mustWrite(t, s, Scope, tickets(d)), 0, 1, 0)
	wantResult(t, mustWrite(t, s, Scope, tickets(d)), 0, 0, 1)
	equal(t, "stored", mustTicket(t, s, Scope, "1"), d)
}

func testMixedCounts(t *testing.T, s store.Store) {
	mustWrite(t, s, Scope, tickets(Ticket("a", at(time.Hour), "a"), Ticket("b", at(time.Hour), "b"),
		Ticket("c", at(time.Hour), "c")))
	r := mustWrite(t, s, Scope, tickets(
		Ticket("a", at(0), "a older"),           // unchanged
		Ticket("b", at(time.Hour), "b"),         // unchanged: identical
		Ticket("c", at(2*time.Hour), "c newer"), // updated
		Ticket("d", at(0), "d"),                 // created
		Ticket("e", at(0), "e")))                // created
	wantResult(t, r, 2, 1, 2)
}

func testBatchDuplicates(t *testing.T, s store.Store) {
	r := mustWrite(t, s, Scope, tickets(Ticket("1", at(time.Hour), "middle"),
		Ticket("1", at(2*time.Hour), "newest"), Ticket("1", at(0), "oldest")))
	wantResult(t, r, 1, 0, 2)
	equal(t, "summary", mustTicket(t, s, Scope, "1").Summary, "newest")
	r = mustWrite(t, s, Scope, tickets(Ticket("1", at(3*time.Hour), "first"), Ticket("1", at(3*time.Hour), "last")))
	wantResult(t, r, 0, 1, 1)
	equal(t, "summary on a tie", mustTicket(t, s, Scope, "1").Summary, "last")
}

func testAllEntities(t *testing.T, s store.Store) {
	members := []helpdesk.Member{
		{ExternalID: "m1", Identifier: "jdoe", Name: "Jane Doe", Email: "jane@example.com", Active: true, UpdatedAt: at(0), Raw: json.RawMessage(`{"id":1}`)},
		{ExternalID: "m2", Name: "Old Timer", UpdatedAt: at(time.Second)},
	}
	batches := []store.Batch{
		{Entity: helpdesk.EntityContacts, Contacts: []helpdesk.Contact{{ExternalID: "c1", CompanyID: "250", FirstName: "Ann", LastName: "Lee", Email: "ann@example.com", Phone: "+1 555", Active: true, UpdatedAt: at(0), Raw: json.RawMessage(`{}`)}}},
		{Entity: helpdesk.EntityCompanies, Companies: []helpdesk.Company{{ExternalID: "250", Name: "Acme", Identifier: "ACME", Active: true, UpdatedAt: at(0)}, {ExternalID: "251", Name: "Globex", UpdatedAt: at(0)}}},
		{Entity: helpdesk.EntityTimeEntries, TimeEntries: []helpdesk.TimeEntry{{ExternalID: "t1", TicketID: "101", MemberID: "m1", Start: at(-time.Hour), Hours: 1.25, Notes: "fixed", Billable: true, UpdatedAt: at(0)}}},
		{Entity: helpdesk.EntityMembers, Members: members},
	}
	for _, b := range batches {
		r := mustWrite(t, s, Scope, b)
		n, err := s.Count(ctx(t), Scope, b.Entity)
		noErr(t, "Count", err)
		if r.Created == 0 || n != r.Created {
			t.Fatalf("%s: created %d, count %d", b.Entity, r.Created, n)
		}
		wantResult(t, mustWrite(t, s, Scope, b), 0, 0, r.Created)
	}
	got, err := s.Members(ctx(t), Scope)
	noErr(t, "Members", err)
	equal(t, "members", got, members)
	if _, err := s.Count(ctx(t), Scope, helpdesk.EntityNotes); err == nil {
		t.Fatal("Count(notes): want an error")
	}
}

func testScopeIsolation(t *testing.T, s store.Store) {
	mustWrite(t, s, Scope, tickets(Ticket("1", at(time.Hour), "acme")))
	wantResult(t, mustWrite(t, s, other, tickets(Ticket("1", at(0), "globex"))), 1, 0, 0)
	equal(t, "acme", mustTicket(t, s, Scope, "1").Summary, "acme")
	equal(t, "globex", mustTicket(t, s, other, "1").Summary, "globex")
	halo := store.Scope{Account: Scope.Account, Provider: helpdesk.HaloPSA}
	if _, err := s.Ticket(ctx(t), halo, "1"); err == nil {
		t.Fatal("a ticket leaked across providers")
	}
}

func testInvalidBatch(t *testing.T, s store.Store) {
	if _, err := s.WriteBatch(ctx(t), Scope, store.Batch{Entity: helpdesk.EntityNotes}); err == nil {
		t.Fatal("notes batch: want an error")
	}
	if _, err := s.WriteBatch(ctx(t), Scope, tickets(Ticket("", at(0), "no id"))); err == nil {
		t.Fatal("ticket without an ID: want an error")
	}
	r := mustWrite(t, s, Scope, tickets())
	wantResult(t, r, 0, 0, 0)
}

func testInvalidRowRollsBack(t *testing.T, s store.Store) {
	wm := store.Watermark{UpdatedThrough: at(0), Cursor: "page-1"}
	b := tickets(Ticket("1", at(0), "one"))
	b.Watermark = &wm
	mustWrite(t, s, Scope, b)
	bad := Ticket("3", at(time.Hour), "bad")
	bad.Raw = json.RawMessage(`{"truncated":`)
	next := store.Watermark{UpdatedThrough: at(time.Hour), Cursor: "page-2"}
	b = tickets(Ticket("1", at(time.Hour), "one updated"), Ticket("2", at(time.Hour), "two"), bad, Ticket("4", at(time.Hour), "four"))
	b.Watermark = &next
	if _, err := s.WriteBatch(ctx(t), Scope, b); err == nil {
		t.Fatal("batch with invalid raw JSON: want an error")
	}
	checkUnchangedAfterFailure(t, s, wm)
}

func checkUnchangedAfterFailure(t *testing.T, s store.Store, wm store.Watermark) {
	t.Helper()
	n, err := s.Count(context.Background(), Scope, helpdesk.EntityTickets)
	noErr(t, "Count", err)
	equal(t, "count after failed batch", n, 1)
	equal(t, "ticket 1", mustTicket(t, s, Scope, "1").Summary, "one")
	got, err := s.Watermark(context.Background(), Scope, helpdesk.EntityTickets)
	noErr(t, "Watermark", err)
	equal(t, "watermark after failed batch", got, wm)
}

func testCancelled(t *testing.T, s store.Store) {
	wm := store.Watermark{UpdatedThrough: at(0)}
	b := tickets(Ticket("1", at(0), "one"))
	b.Watermark = &wm
	mustWrite(t, s, Scope, b)
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	next := store.Watermark{UpdatedThrough: at(time.Hour)}
	b = tickets(Ticket("1", at(time.Hour), "one updated"), Ticket("2", at(time.Hour), "two"))
	b.Watermark = &next
	if _, err := s.WriteBatch(c, Scope, b); err == nil {
		t.Fatal("cancelled context: want an error")
	}
	checkUnchangedAfterFailure(t, s, wm)
}

func testLargeBatch(t *testing.T, s store.Store) {
	const n = 5000
	all := Tickets("T", n, at(0))
	wantResult(t, mustWrite(t, s, Scope, tickets(all...)), n, 0, 0)
	wantResult(t, mustWrite(t, s, Scope, tickets(all...)), 0, 0, n)
	for i := range all {
		if i%2 == 0 {
			all[i].UpdatedAt = at(time.Minute)
		} else {
			all[i].UpdatedAt = at(-time.Minute)
		}
	}
	wantResult(t, mustWrite(t, s, Scope, tickets(all...)), 0, n/2, n/2)
	got, err := s.Count(ctx(t), Scope, helpdesk.EntityTickets)
	noErr(t, "Count", err)
	equal(t, "count", got, n)
}

func testTimePrecision(t *testing.T, s store.Store) {
	paris := time.FixedZone("CET", 3600)
	tk := Ticket("1", time.Date(2024, 3, 1, 13, 0, 0, 123456789, paris), "ns")
	tk.CreatedAt = time.Date(1999, 12, 31, 23, 59, 59, 999999999, paris)
	mustWrite(t, s, Scope, tickets(tk))
	got := mustTicket(t, s, Scope, "1")
	equal(t, "updated", got.UpdatedAt, time.Date(2024, 3, 1, 12, 0, 0, 123456000, time.UTC))
	equal(t, "created", got.CreatedAt, time.Date(1999, 12, 31, 22, 59, 59, 999999000, time.UTC))
	if got.UpdatedAt.Location() != time.UTC {
		t.Fatalf("location %v, want UTC", got.UpdatedAt.Location())
	}
	// The same instant in another zone and with extra nanoseconds is
	// the same stored time: unchanged.
	tk.UpdatedAt = time.Date(2024, 3, 1, 12, 0, 0, 123456999, time.UTC)
	tk.CreatedAt = got.CreatedAt
	wantResult(t, mustWrite(t, s, Scope, tickets(tk)), 0, 0, 1)
	zero := Ticket("2", time.Time{}, "zero times")
	zero.CreatedAt = time.Time{}
	mustWrite(t, s, Scope, tickets(zero))
	equal(t, "zero times", mustTicket(t, s, Scope, "2"), zero)
}

func testWatermark(t *testing.T, s store.Store) {
	w, err := s.Watermark(ctx(t), Scope, helpdesk.EntityTickets)
	noErr(t, "Watermark", err)
	equal(t, "no watermark", w, store.Watermark{})
	want := store.Watermark{UpdatedThrough: at(time.Hour), BackfilledFrom: at(-30 * 24 * time.Hour), Cursor: "page=7"}
	noErr(t, "SetWatermark", s.SetWatermark(ctx(t), Scope, helpdesk.EntityTickets, want))
	w, err = s.Watermark(ctx(t), Scope, helpdesk.EntityTickets)
	noErr(t, "Watermark", err)
	equal(t, "watermark", w, want)
	w, err = s.Watermark(ctx(t), Scope, helpdesk.EntityContacts)
	noErr(t, "Watermark", err)
	equal(t, "contacts watermark", w, store.Watermark{})
	w, err = s.Watermark(ctx(t), other, helpdesk.EntityTickets)
	noErr(t, "Watermark", err)
	equal(t, "other scope's watermark", w, store.Watermark{})
	want.Cursor = ""
	b := store.Batch{Entity: helpdesk.EntityTickets, Watermark: &want}
	mustWrite(t, s, Scope, b)
	w, err = s.Watermark(ctx(t), Scope, helpdesk.EntityTickets)
	noErr(t, "Watermark", err)
	equal(t, "watermark from an empty batch", w, want)
}

func testTicketsIterator(t *testing.T, s store.Store) {
	ids := []string{"b", "B", "a", "10", "9", "_x", "Ä"}
	for i := range 1200 {
		ids = append(ids, fmt.Sprintf("n%05d", i))
	}
	var batch []helpdesk.Ticket
	for _, id := range ids {
		batch = append(batch, Ticket(id, at(0), id))
	}
	mustWrite(t, s, Scope, tickets(batch...))
	mustWrite(t, s, other, tickets(Ticket("zz", at(0), "other")))
	var got []string
	for tk, err := range s.Tickets(ctx(t), Scope) {
		noErr(t, "Tickets", err)
		got = append(got, tk.ExternalID)
	}
	slices.Sort(ids) // byte order
	equal(t, "order", got, ids)
	n := 0
	for range s.Tickets(ctx(t), Scope) {
		if n++; n == 3 {
			break
		}
	}
	equal(t, "stopped after", n, 3)
}

func testTicketNotFound(t *testing.T, s store.Store) {
	_, err := s.Ticket(ctx(t), Scope, "nope")
	isErr(t, "Ticket", err, store.ErrNotFound)
}
