package syncer

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// A one-ticket sync records its run once, whole, when it has ended: one
// write, with the outcome, error and counts a started and finished run
// would have.
func TestSyncTicketRecordsItsRunInOneWrite(t *testing.T) {
	e := newEnv(t, nil)
	put(e.psa, &e.psa.tickets, ticket(1, t0.Add(-time.Hour)))
	e.sync(t, helpdesk.EntityTickets)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name    string
		ctx     context.Context
		getErr  error
		outcome string
		updated int
	}{
		{"ok", context.Background(), nil, store.RunOK, 1},
		{"failed", context.Background(), &helpdesk.Error{Provider: "connectwise", Op: "get ticket", Kind: helpdesk.ErrTransient, Status: 500}, store.RunFailed, 0},
		{"cancelled", cancelled, context.Canceled, store.RunCancelled, 0},
	}
	for i, c := range cases {
		e.psa.getErr = c.getErr
		up := ticket(1, t0.Add(time.Duration(i+1)*time.Minute))
		put(e.psa, &e.psa.tickets, up)
		before, recorded := len(e.st.allRuns()), e.st.recorded
		r, err := e.s.SyncTicket(c.ctx, "1", store.TriggerCallback)
		if (err != nil) != (c.getErr != nil) {
			t.Fatalf("%s: err = %v", c.name, err)
		}
		runs := e.st.allRuns()
		if len(runs) != before+1 || e.st.recorded != recorded+1 {
			t.Fatalf("%s: %d run log writes, %d of them RecordSyncRun; want one", c.name, len(runs)-before, e.st.recorded-recorded)
		}
		got := runs[len(runs)-1]
		if !reflect.DeepEqual(got, r) || r.ID == 0 || r.Outcome != c.outcome || r.Updated != c.updated || r.TicketID != "1" ||
			r.Trigger != store.TriggerCallback || r.FinishedAt.IsZero() || (r.Error != "") != (c.getErr != nil) {
			t.Errorf("%s: returned %+v, recorded %+v", c.name, r, got)
		}
	}
}

// A run whose log row cannot be written still returns the sync's own
// result, and the metrics count it.
func TestSyncTicketRunNotRecorded(t *testing.T) {
	e := newEnv(t, nil)
	put(e.psa, &e.psa.tickets, ticket(1, t0.Add(-time.Hour)))
	e.st.recordErr = errors.New("database is down")
	r, err := e.s.SyncTicket(context.Background(), "1", store.TriggerCallback)
	if err != nil || r.Created != 1 || r.Outcome != store.RunOK || r.ID != 0 {
		t.Fatalf("run = %+v, err = %v; want the ticket synced, with no log row", r, err)
	}
	if _, err := e.st.Ticket(context.Background(), store.Scope{}, "1"); err != nil {
		t.Fatalf("ticket not stored: %v", err)
	}
	if n := testutil.ToFloat64(e.m.SyncRuns.WithLabelValues("tickets", store.TriggerCallback, ResultSuccess)); n != 1 {
		t.Errorf("sync_runs_total{result=success} = %v, want 1", n)
	}
}
