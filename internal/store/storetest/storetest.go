// Package storetest is the conformance suite every store backend passes:
// Run exercises each Store method and each semantic the interface promises
// (upserts that never go backwards with exact counts, batch and watermark
// atomicity, callback de-duplication, audit filters and ordering, outbox
// claims, lease fencing) plus concurrency between writers, outbox workers
// and lease holders. Backends call it from their own tests with a function
// that opens a fresh, empty store.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// Opener opens a fresh, empty store for one test; it registers its own
// cleanup.
type Opener func(t *testing.T) store.Store

// Run runs the whole conformance suite. Subtests run in parallel, each on
// its own store.
func Run(t *testing.T, open Opener) {
	groups := []struct {
		name  string
		tests map[string]func(*testing.T, store.Store)
	}{
		{"Records", recordTests},
		{"Directory", directoryTests},
		{"SyncRuns", syncRunTests},
		{"Callbacks", callbackTests},
		{"Outbox", outboxTests},
		{"Writes", writeTests},
		{"Lease", leaseTests},
		{"Concurrent", concurrentTests},
		{"Tokens", tokenTests},
		{"Browse", browseTests},
		{"SyncState", syncStateTests},
		{"Backlogs", backlogTests},
		{"OneWrite", oneWriteTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for name, f := range g.tests {
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					f(t, open(t))
				})
			}
		})
	}
}

// Scope is the scope most tests write to.
var Scope = store.Scope{Account: "acme", Provider: helpdesk.ConnectWise}

// other is a second scope that must never see Scope's rows.
var other = store.Scope{Account: "globex", Provider: helpdesk.ConnectWise}

// T0 is a base time, UTC and whole microseconds, so it round-trips.
var T0 = time.Date(2024, 3, 1, 12, 0, 0, 123456000, time.UTC)

func at(d time.Duration) time.Time { return T0.Add(d) }

func ctx(t *testing.T) context.Context { return t.Context() }

// Ticket returns a ticket with every field set, so that round trips check
// every column.
func Ticket(id string, updated time.Time, summary string) helpdesk.Ticket {
	raw, _ := json.Marshal(map[string]any{"id": id, "summary": summary, "_info": map[string]string{
		"lastUpdated": updated.Format(time.RFC3339Nano), "updatedBy": "jdoe"}})
	return helpdesk.Ticket{
		ExternalID: id, Number: "#" + id, Summary: summary, Description: "printer on fire\nsecond line",
		Status: helpdesk.Ref{ID: "5", Name: "In Progress"}, Closed: false,
		Priority:  helpdesk.Ref{ID: "2", Name: "Priority 2 - High"},
		Type:      helpdesk.Ref{ID: "7", Name: "Incident"},
		Queue:     helpdesk.Ref{ID: "1", Name: "Service Desk"},
		CompanyID: "250", ContactID: "3301", AssigneeID: "m17",
		CreatedAt: T0.Add(-48 * time.Hour), UpdatedAt: updated, Raw: raw,
	}
}

// Tickets returns n distinct tickets "<prefix>000001"... updated at
// updated, each with about half a kilobyte of raw JSON.
func Tickets(prefix string, n int, updated time.Time) []helpdesk.Ticket {
	out := make([]helpdesk.Ticket, n)
	for i := range out {
		out[i] = Ticket(fmt.Sprintf("%s%06d", prefix, i+1), updated, fmt.Sprintf("Ticket %d: VPN drops every hour for the sales team", i+1))
	}
	return out
}

func tickets(ts ...helpdesk.Ticket) store.Batch {
	return store.Batch{Entity: helpdesk.EntityTickets, Tickets: ts}
}

func mustWrite(t *testing.T, s store.Store, sc store.Scope, b store.Batch) store.UpsertResult {
	t.Helper()
	r, err := s.WriteBatch(ctx(t), sc, b)
	if err != nil {
		t.Fatalf("WriteBatch: %v", err)
	}
	return r
}

func wantResult(t *testing.T, got store.UpsertResult, created, updated, unchanged int) {
	t.Helper()
	want := store.UpsertResult{Created: created, Updated: updated, Unchanged: unchanged}
	if got != want {
		t.Fatalf("result = %+v, want %+v", got, want)
	}
}

func mustTicket(t *testing.T, s store.Store, sc store.Scope, id string) helpdesk.Ticket {
	t.Helper()
	got, err := s.Ticket(ctx(t), sc, id)
	if err != nil {
		t.Fatalf("Ticket(%s): %v", id, err)
	}
	return got
}

func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func isErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want %v", what, err, target)
	}
}

// eventually polls cond every few milliseconds until it holds or the
// deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		<-tick.C
	}
}
