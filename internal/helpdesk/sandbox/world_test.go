package sandbox

import (
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

var anchor = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestGenerateIsDeterministic(t *testing.T) {
	a := Generate(GenOptions{Tickets: 300, Seed: 42, Now: anchor})
	b := Generate(GenOptions{Tickets: 300, Seed: 42, Now: anchor})
	c := Generate(GenOptions{Tickets: 300, Seed: 43, Now: anchor})
	ta, _ := a.QueryTickets(TicketQuery{})
	tb, _ := b.QueryTickets(TicketQuery{})
	tc, _ := c.QueryTickets(TicketQuery{})
	if len(ta) != 300 || len(tb) != 300 {
		t.Fatalf("got %d and %d tickets, want 300", len(ta), len(tb))
	}
	for i := range ta {
		if ta[i] != tb[i] {
			t.Fatalf("ticket %d differs between runs with the same seed", i)
		}
	}
	same := 0
	for i := range ta {
		if ta[i] == tc[i] {
			same++
		}
	}
	if same == len(ta) {
		t.Fatal("a different seed produced the same tickets")
	}
	for i, tk := range ta {
		if tk.Updated.Before(tk.Created) || tk.Updated.After(anchor) {
			t.Fatalf("ticket %d: updated %v outside [created %v, now]", i, tk.Updated, tk.Created)
		}
		if i > 0 && tk.ID <= ta[i-1].ID {
			t.Fatal("tickets not in ID order")
		}
	}
	if a.APIUser().ID == 0 {
		t.Fatal("no API user generated")
	}
}

func TestQueryTicketsPaging(t *testing.T) {
	w := Generate(GenOptions{Tickets: 95, Seed: 1, Now: anchor})
	var all []Ticket
	var after int64
	for {
		page, _ := w.QueryTickets(TicketQuery{AfterID: after, Limit: 10})
		all = append(all, page...)
		if len(page) < 10 {
			break
		}
		after = page[len(page)-1].ID
	}
	if len(all) != 95 {
		t.Fatalf("keyset paging returned %d tickets, want 95", len(all))
	}
	cut := anchor.Add(-30 * 24 * time.Hour)
	recent, total := w.QueryTickets(TicketQuery{Filter: func(t *Ticket) bool { return t.Updated.After(cut) }, Limit: 5})
	if total < len(recent) || len(recent) > 5 {
		t.Fatalf("filtered page %d of %d", len(recent), total)
	}
}

func TestEditsEmitChangesAndAdvanceUpdated(t *testing.T) {
	clock := anchor
	w := Generate(GenOptions{Tickets: 10, Seed: 1, Now: anchor, Clock: func() time.Time { return clock }})
	var got []Change
	w.Subscribe(func(c Change) { got = append(got, c) })
	tk, _ := w.QueryTickets(TicketQuery{Limit: 1})
	before := tk[0]
	after, err := w.UpdateTicket(before.ID, UI(5), func(t *Ticket) error { t.Summary = "changed"; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if !after.Updated.After(before.Updated) {
		t.Fatalf("updated did not advance: %v -> %v", before.Updated, after.Updated)
	}
	again, _ := w.UpdateTicket(before.ID, API(1, "src"), func(t *Ticket) error { return nil })
	if !again.Updated.After(after.Updated) {
		t.Fatal("a second edit in the same millisecond did not advance updated")
	}
	if _, err := w.AddNote(Note{TicketID: before.ID, Text: "hi"}, UI(5)); err != nil {
		t.Fatal(err)
	}
	if err := w.DeleteTicket(before.ID, UI(5)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddNote(Note{TicketID: before.ID}, UI(5)); !errors.Is(err, ErrNoSuchRecord) {
		t.Fatalf("note on deleted ticket: err = %v", err)
	}
	want := []string{"ticket/updated/ui", "ticket/updated/api", "note/created/ui", "ticket/updated/ui", "ticket/deleted/ui"}
	if len(got) != len(want) {
		t.Fatalf("got %d changes, want %d: %+v", len(got), len(want), got)
	}
	for i, c := range got {
		via := "ui"
		if c.ViaAPI {
			via = "api"
		}
		if s := c.Kind + "/" + c.Action + "/" + via; s != want[i] {
			t.Errorf("change %d = %s, want %s", i, s, want[i])
		}
	}
	if got[1].Source != "src" {
		t.Errorf("source tag lost: %+v", got[1])
	}
}

func TestFaultsWrap(t *testing.T) {
	f := NewFaults(1)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"items":[1,2,3,4,5,6]}`) })
	ew := ErrorWriters{
		RateLimited:  func(w http.ResponseWriter, _ time.Duration) { w.WriteHeader(429) },
		ServerError:  func(w http.ResponseWriter) { w.WriteHeader(500) },
		Unauthorized: func(w http.ResponseWriter) { w.WriteHeader(401) },
	}
	srv := httptest.NewServer(f.Wrap(ok, ew, nil))
	defer srv.Close()
	get := func() (int, error) {
		res, err := http.Get(srv.URL)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		_, err = io.ReadAll(res.Body)
		return res.StatusCode, err
	}
	f.Set(FaultSettings{RateLimitEvery: 2, RetryAfter: 3 * time.Second})
	if s, _ := get(); s != 200 {
		t.Fatalf("first request = %d", s)
	}
	if s, _ := get(); s != 429 {
		t.Fatalf("second request = %d, want 429", s)
	}
	f.Set(FaultSettings{Unauthorized: true})
	if s, _ := get(); s != 401 {
		t.Fatalf("unauthorized = %d", s)
	}
	f.Set(FaultSettings{TruncateRate: 1})
	if _, err := get(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated body read error = %v, want unexpected EOF", err)
	}
}

func TestDelivererRetriesThenSucceeds(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(503)
			return
		}
		w.WriteHeader(204)
	}))
	defer srv.Close()
	d := NewDeliverer(Options{DeliveryScale: 0.001})
	defer d.Close()
	done := make(chan int, 1)
	d.Send(Delivery{URL: srv.URL, Body: []byte(`{}`), Policy: RetryPolicy{Delays: []time.Duration{time.Second, time.Second, time.Second}},
		OnResult: func(status int, err error) { done <- status }})
	select {
	case s := <-done:
		if s != 204 {
			t.Fatalf("final status %d", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("delivery never finished")
	}
	r := d.Records()
	if len(r) != 1 || r[0].Attempts != 3 || !r[0].Delivered {
		t.Fatalf("records = %+v", r)
	}
}

func TestSimulateEdits(t *testing.T) {
	w := Generate(GenOptions{Tickets: 50, Seed: 3, Now: anchor})
	var changes int
	w.Subscribe(func(Change) { changes++ })
	r := randFor(7)
	made := 0
	for range 40 {
		if _, ok := w.randomEdit(r); ok {
			made++
		}
	}
	if made == 0 || changes < made {
		t.Fatalf("made %d edits, saw %d changes", made, changes)
	}
}

func randFor(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 1)) }
