package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/account"
	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/pgtest"
	"github.com/horizon/reconciler/internal/writeback"
)

// TestOutboxFedToLeaders: each replica polls the outbox once for all its
// accounts and feeds the write-back engines of the accounts it leads. A
// write enqueued by another process (its own store handle and engine, as
// `reconciler ticket ... --no-wait` does) is delivered by the account's
// leader within a few polls; the backlog gauges follow on the leader; a
// replica never feeds an account it does not lead.
func TestOutboxFedToLeaders(t *testing.T) {
	u := pgtest.FreshURL(t)
	root := t.TempDir()
	dir := filepath.Join(root, "accounts")
	os.Mkdir(dir, 0o700)
	ln := listen(t)
	base := "http://" + ln.Addr().String()
	accts := map[string]*fleetAccount{}
	for _, name := range []string{"acme", "globex"} {
		a := newFleetAccount(t, name, "connectwise", 5)
		accts[name] = a
		body := strings.Replace(a.file(t, dir, base, "writeback:\n  unmappedAuthor: apiUser\n"), "ingestWindow: 30d", "ingestWindow: 1000d", 1)
		writeFile(t, filepath.Join(dir, name+".yaml"), body)
	}
	const poll = 100 * time.Millisecond
	replicas := map[string]*fleet{
		"replica-a": startFleet(t, dir, fleetOptions{store: openStore(t, u), holder: "replica-a", leaseTTL: 3 * time.Second, outboxPoll: poll}, ln),
		"replica-b": startFleet(t, dir, fleetOptions{store: openStore(t, u), holder: "replica-b", leaseTTL: 3 * time.Second, outboxPoll: poll}, listen(t)),
	}
	other := openStore(t, u) // the other process's handle
	leader := map[string]string{}
	eventuallyWithin(t, 30*time.Second, "one account led by each replica", func() bool {
		leases, err := other.Leases(context.Background(), "account/")
		if err != nil {
			t.Fatal(err)
		}
		clear(leader)
		for _, l := range leases {
			leader[strings.Split(l.Name, "/")[1]] = l.Holder
		}
		return len(leader) == 2 && leader["acme"] != leader["globex"]
	})
	// written: the account the other process writes to; held: the
	// account whose write waits for a retry an hour away.
	written, held := "acme", "globex"
	wScope := store.Scope{Account: written, Provider: helpdesk.ConnectWise}
	hScope := store.Scope{Account: held, Provider: helpdesk.ConnectWise}
	wLeader, hLeader := replicas[leader[written]], replicas[leader[held]]

	_, _, err := other.EnqueueWrite(context.Background(), hScope, store.Write{Op: store.OpAddNote, TicketID: "1", Author: "jane@horizon.example",
		Payload: json.RawMessage(`{}`), IdempotencyKey: "held", RequestHash: "h", Marker: "hz-held",
		CreatedAt: time.Now().Add(-time.Minute), NextAttempt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}

	cfg, _, err := config.Load(filepath.Join(dir, written+".yaml"), config.LoadOptions{})
	if err != nil || cfg == nil {
		t.Fatalf("load %s: %v", written, err)
	}
	a, err := account.New(context.Background(), cfg, account.Options{Store: other, RatePerSecond: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ticket := ""
	eventuallyWithin(t, 30*time.Second, "a ticket of "+written+" synced", func() bool {
		for tk, err := range other.Tickets(context.Background(), wScope) {
			if err != nil {
				t.Fatal(err)
			}
			ticket = tk.ExternalID
			return true
		}
		return false
	})
	text := fmt.Sprintf("written by another process (%d)", time.Now().UnixNano())
	w, _, err := a.Writeback.Enqueue(context.Background(), writeback.Request{Op: store.OpAddNote, TicketID: ticket,
		Author: "jane@horizon.example", Note: &writeback.AddNote{Text: text, Internal: true}})
	if err != nil {
		t.Fatal(err)
	}
	enqueued := time.Now()
	eventuallyWithin(t, 50*poll+10*time.Second, "the write delivered by its account's leader", func() bool {
		got, err := other.Write(context.Background(), wScope, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.State == store.WriteDone
	})
	t.Logf("delivered %s after the enqueue (outbox poll %s)", time.Since(enqueued).Round(time.Millisecond), poll)
	id, _ := strconv.ParseInt(ticket, 10, 64)
	if notes := accts[written].world.Notes(id); len(notes) == 0 || !strings.Contains(notes[len(notes)-1].Text, text) {
		t.Errorf("the PSA's notes of ticket %s: %+v, want the write's", ticket, notes)
	}

	// The feed that woke the writer's leader read the held write too: a
	// replica that fed every engine it runs would have set its gauge.
	if got := accountMetric(t, wLeader.base, held, "horizon_outbox_pending"); wLeader != hLeader && got != 0 {
		t.Errorf("%s's replica, which does not lead %s, set its outbox_pending to %v", written, held, got)
	}
	eventuallyWithin(t, 20*poll+10*time.Second, "the held write in its leader's gauges", func() bool {
		return accountMetric(t, hLeader.base, held, "horizon_outbox_pending") == 1 &&
			accountMetric(t, hLeader.base, held, "horizon_outbox_oldest_age_seconds") >= 60
	})
	eventuallyWithin(t, 20*poll+10*time.Second, "the delivered write gone from its leader's gauge", func() bool {
		return accountMetric(t, wLeader.base, written, "horizon_outbox_pending") == 0
	})

	// The held write ends: its scope leaves the backlog, the gauges go to 0.
	ws, err := other.ClaimWrites(context.Background(), hScope, 1, time.Minute, time.Now().Add(2*time.Hour))
	if err != nil || len(ws) != 1 {
		t.Fatalf("claim the held write: %v, %v", ws, err)
	}
	if err := other.FinishWrite(context.Background(), hScope, ws[0].ID, store.WriteOutcome{Attempt: ws[0].Attempts,
		State: store.WriteFailed, Answer: "given up"}); err != nil {
		t.Fatal(err)
	}
	eventuallyWithin(t, 20*poll+10*time.Second, "the held write gone from its leader's gauges", func() bool {
		return accountMetric(t, hLeader.base, held, "horizon_outbox_pending") == 0 &&
			accountMetric(t, hLeader.base, held, "horizon_outbox_oldest_age_seconds") == 0
	})
}
