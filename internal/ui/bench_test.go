package ui

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// benchTickets is the store size the pages must stay fast on.
const benchTickets = 200_000

// seedBulk fills the store with n tickets and a day of audit trails: a
// sync run and a callback per ticket of the last 2,000, and 500 writes.
func seedBulk(b *testing.B, f *fixture, n int) string {
	b.Helper()
	ctx, st, sc := context.Background(), f.acct.Store, f.acct.Scope
	base := time.Now().UTC().Add(-24 * time.Hour)
	batch := make([]helpdesk.Ticket, 0, 1000)
	for i := range n {
		id := strconv.Itoa(500000 + i)
		batch = append(batch, helpdesk.Ticket{ExternalID: id, Number: "T20251205." + id, Summary: "Bulk ticket " + id,
			Status: helpdesk.Ref{ID: "1", Name: "New"}, CreatedAt: base, UpdatedAt: base.Add(time.Duration(i) * time.Millisecond)})
		if len(batch) == cap(batch) {
			if _, err := st.WriteBatch(ctx, sc, store.Batch{Entity: helpdesk.EntityTickets, Tickets: batch}); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	var recs []store.CallbackRecord
	for i := range 2000 {
		id := strconv.Itoa(500000 + n - 1 - i)
		at := base.Add(time.Duration(i) * 30 * time.Second)
		r, err := st.StartSyncRun(ctx, sc, store.SyncRun{Trigger: store.TriggerCallback, Entity: helpdesk.EntityTickets, TicketID: id, StartedAt: at})
		if err != nil {
			b.Fatal(err)
		}
		st.FinishSyncRun(ctx, sc, store.SyncRun{ID: r, FinishedAt: at.Add(time.Second), Updated: 1})
		recs = append(recs, store.CallbackRecord{ReceivedAt: at, Provider: "connectwise", Event: "ticket.updated",
			DeliveryID: "bulk-" + id, ExternalIDs: []string{id}, Verified: true, Result: store.CallbackProcessed,
			Payload: []byte(`{"ID":` + id + `}`)})
	}
	if _, _, err := st.InsertCallbacks(ctx, sc, recs); err != nil {
		b.Fatal(err)
	}
	for i := range 500 {
		if _, err := st.Enqueue(ctx, sc, store.OutboxItem{Key: fmt.Sprint("bulk-", i), Kind: "note",
			Payload: []byte(`{"ticketId":"` + strconv.Itoa(500000+n-1-i) + `"}`), CreatedAt: base, NextAttempt: base}); err != nil {
			b.Fatal(err)
		}
	}
	return strconv.Itoa(500000 + n - 1)
}

// BenchmarkPages renders every page from a store holding 200,000 tickets
// (go test -run XXX -bench Pages ./internal/ui). Each page must stay
// under 200 ms.
func BenchmarkPages(b *testing.B) {
	f := newFixture(b, Options{})
	f.reconcile(b)
	last := seedBulk(b, f, benchTickets)
	paths := []string{"/", "/configuration", "/users", "/picklists", "/widgets", "/callbacks", "/sync-runs",
		"/sync-runs?ticket=" + last, "/callback-log", "/callback-log?ticket=" + last, "/writes", "/writes?ticket=" + last,
		"/tickets/" + last, "/tickets/T20251205." + last}
	for _, p := range paths {
		b.Run(p, func(b *testing.B) {
			for b.Loop() {
				rec := httptest.NewRecorder()
				f.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ui"+p, nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: HTTP %d", p, rec.Code)
				}
			}
		})
	}
}
