package smoke

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/metrics"
	"github.com/horizon/reconciler/internal/store"
)

// results renders a report's step results as "connect=pass create=pass ...".
func results(r Report) string {
	var b []string
	for _, s := range r.Steps {
		b = append(b, s.Step+"="+s.Result)
	}
	return strings.Join(b, " ")
}

func detail(r Report, step string) string {
	for _, s := range r.Steps {
		if s.Step == step {
			return s.Detail
		}
	}
	return ""
}

func TestRun(t *testing.T) {
	const allPass = "connect=pass create=pass callback=pass status=pass note=pass assign=pass time=pass cleanup=pass"
	tests := []struct {
		name  string
		setup func(t *testing.T, e *fakeEnv)
		want  string
		// details: step → substrings its detail must hold.
		details map[string][]string
		left    bool
	}{
		{name: "all pass", setup: func(t *testing.T, e *fakeEnv) { e.callbacks(t) }, want: allPass,
			details: map[string][]string{StepCallback: {"arrived by callback after"},
				StepNote: {"by Jane Doe (helpdesk user m7)"}, StepCleanup: {"closed (Closed)"}}},
		{name: "callbacks lost, the daemon's poll brings it", setup: func(t *testing.T, e *fakeEnv) {
			e.psa.onCreate = func(tk helpdesk.Ticket) { e.sync.SyncTicket(context.Background(), tk.ExternalID, "poll") }
		}, want: strings.Replace(allPass, "callback=pass", "callback=fail", 1),
			details: map[string][]string{StepCallback: {"no callback within 300ms: callbacks are not reaching Horizon",
				"polling works: the ticket arrived by polling after"}}},
		{name: "no daemon: one poll tells polling works", setup: func(t *testing.T, e *fakeEnv) { e.opts.Daemon = false },
			want:    strings.Replace(allPass, "callback=pass", "callback=fail", 1),
			details: map[string][]string{StepCallback: {"no daemon runs for this account", "polling works"}}},
		{name: "neither callback nor a poll within the wait: polling is not blamed", setup: func(t *testing.T, e *fakeEnv) {},
			want: strings.Replace(allPass, "callback=pass", "callback=fail", 1),
			details: map[string][]string{StepCallback: {"no poll of tickets ran within the",
				"(the daemon polls every 5m0s, sync.pollInterval), so polling was not tested", "reconciler logs sync -f horizon.yaml"}}},
		{name: "a poll ran and missed the ticket", setup: func(t *testing.T, e *fakeEnv) {
			e.psa.onCreate = func(helpdesk.Ticket) {
				// The daemon's poll, dated after the callback step began.
				at := time.Now().UTC().Add(time.Minute)
				ctx := context.Background()
				id, err := e.opts.Store.StartSyncRun(ctx, e.opts.Scope, store.SyncRun{Trigger: store.TriggerPoll, Entity: helpdesk.EntityTickets, StartedAt: at})
				if err == nil {
					err = e.opts.Store.FinishSyncRun(ctx, e.opts.Scope, store.SyncRun{ID: id, Trigger: store.TriggerPoll,
						Entity: helpdesk.EntityTickets, StartedAt: at, FinishedAt: at.Add(time.Second), Outcome: store.RunOK})
				}
				if err != nil {
					t.Error(err)
				}
			}
		}, want: strings.Replace(allPass, "callback=pass", "callback=fail", 1),
			details: map[string][]string{StepCallback: {"polling did not bring it either: the daemon's poll of tickets at",
				"ran and missed it (check reconciler logs sync -f horizon.yaml)"}}},
		{name: "the webhook was not registered when the ticket was made", setup: func(t *testing.T, e *fakeEnv) {
			e.opts.Webhooks = helpdesk.WebhookSpec{URL: "https://h.example/callbacks/halopsa", Events: []helpdesk.Event{"ticket.created"}}
		}, want: strings.Replace(allPass, "callback=pass", "callback=fail", 1),
			details: map[string][]string{StepCallback: {"no callback within 300ms: when the test ticket was made, the PSA did not hold the webhook the file asks for: \"horizon tickets\" (missing)",
				"reconciler apply -f horizon.yaml"}}},
		{name: "the webhook registered but no callback", setup: func(t *testing.T, e *fakeEnv) {
			e.opts.Webhooks = helpdesk.WebhookSpec{URL: "https://h.example/callbacks/halopsa", Events: []helpdesk.Event{"ticket.created"}}
			e.psa.hooks = e.psa.DesiredWebhooks(e.opts.Webhooks)
		}, want: strings.Replace(allPass, "callback=pass", "callback=fail", 1),
			details: map[string][]string{StepCallback: {"no callback within 300ms: callbacks are not reaching Horizon"}}},
		{name: "a write refused names the step and reason", setup: func(t *testing.T, e *fakeEnv) {
			e.callbacks(t)
			e.writer.refuse = map[string]string{OpAssign: "ConnectWise refused: member jdoe is inactive"}
		}, want: strings.Replace(allPass, "assign=pass", "assign=fail", 1),
			details: map[string][]string{StepAssign: {"assign to jane@msp.example", "member jdoe is inactive"}}},
		{name: "credentials revoked mid-run", setup: func(t *testing.T, e *fakeEnv) {
			e.psa.onCreate = func(tk helpdesk.Ticket) {
				e.callbacks(t)
				e.psa.onCreate(tk)
				e.psa.revoked = true
			}
		}, want: "connect=pass create=pass callback=pass status=fail note=skip assign=skip time=skip cleanup=fail", left: true,
			details: map[string][]string{StepStatus: {"rejected the credentials"}, StepNote: {"the PSA refused the credentials"},
				StepCleanup: {"was left open"}}},
		{name: "no connection", setup: func(t *testing.T, e *fakeEnv) { e.psa.revoked = true },
			want:    "connect=fail create=skip callback=skip status=skip note=skip assign=skip time=skip cleanup=skip",
			details: map[string][]string{StepConnect: {"HaloPSA rejected the credentials: check helpdesk.halopsa.clientId"}}},
		{name: "a PSA that suppresses Horizon's own callbacks: not verified without other activity", setup: func(t *testing.T, e *fakeEnv) {
			e.useProvider(t, helpdesk.ConnectWise)
			e.psa.onCreate = func(tk helpdesk.Ticket) { e.sync.SyncTicket(context.Background(), tk.ExternalID, "poll") }
		}, want: strings.Replace(allPass, "callback=pass", "callback=skip", 1),
			details: map[string][]string{StepCallback: {"not verified: FakePSA does not call back for Horizon's own test ticket"}}},
		{name: "a PSA that suppresses Horizon's own callbacks: another callback proves them", setup: func(t *testing.T, e *fakeEnv) {
			e.useProvider(t, helpdesk.ConnectWise)
			e.psa.onCreate = func(tk helpdesk.Ticket) {
				e.opts.Store.InsertCallbacks(context.Background(), e.opts.Scope, []store.CallbackRecord{{ReceivedAt: time.Now().UTC(),
					Provider: "connectwise", Event: "ticket.updated", DeliveryID: "d-other", ExternalIDs: []string{"1"},
					Verified: true, Result: store.CallbackProcessed}})
			}
		}, want: allPass, details: map[string][]string{StepCallback: {"callbacks reach Horizon: a verified callback (ticket.updated 1)"}}},
		{name: "keep", setup: func(t *testing.T, e *fakeEnv) { e.callbacks(t); e.opts.Keep = true },
			want: strings.Replace(allPass, "cleanup=pass", "cleanup=skip", 1), left: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newFakeEnv(t)
			tc.setup(t, e)
			reg := prometheus.NewRegistry()
			e.opts.Metrics = metrics.New(reg)
			rep, err := Run(context.Background(), e.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := results(rep); got != tc.want {
				var b bytes.Buffer
				rep.Write(&b, FormatText)
				t.Fatalf("results\n got %s\nwant %s\n%s", got, tc.want, b.String())
			}
			for step, subs := range tc.details {
				for _, s := range subs {
					if d := detail(rep, step); !strings.Contains(d, s) {
						t.Errorf("%s detail %q lacks %q", step, d, s)
					}
				}
			}
			if (rep.Left != "") != tc.left {
				t.Errorf("left open = %q, want left %v", rep.Left, tc.left)
			}
			if tk, ok := e.psa.tickets[rep.TicketID]; ok && !tc.left && !tk.Closed {
				t.Errorf("test ticket %s still open in the PSA", rep.TicketID)
			}
			if rep.Passed() != !strings.Contains(tc.want, "=fail") {
				t.Errorf("passed = %v", rep.Passed())
			}
			// The summary row in the sync run log, and the metrics.
			last, ok, err := LastRun(context.Background(), e.opts.Store, e.opts.Scope)
			if err != nil || !ok || last.FinishedAt.IsZero() || (last.Error == "") == !rep.Passed() || last.TicketID != rep.TicketID {
				t.Errorf("last run = %+v, %v, %v", last, ok, err)
			}
			if got := testutil.ToFloat64(e.opts.Metrics.Smoke.Success); (got == 1) != rep.Passed() {
				t.Errorf("horizon_smoke_success = %v", got)
			}
			if got := testutil.ToFloat64(e.opts.Metrics.Smoke.Runs.WithLabelValues(rep.Result())); got != 1 {
				t.Errorf("horizon_smoke_runs_total{result=%s} = %v", rep.Result(), got)
			}
		})
	}
}

func TestReportFormats(t *testing.T) {
	rep := Report{Account: "acme", Provider: "connectwise", TicketID: "101", StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Duration: 2 * time.Second, Steps: []StepResult{
			{Step: StepConnect, Result: Pass, Duration: 120 * time.Millisecond, Detail: "ok"},
			{Step: StepCallback, Result: Fail, Duration: time.Minute, Detail: "no callback within 1m0s", Next: "reconciler logs callbacks -f horizon.yaml"},
			{Step: StepCleanup, Result: Pass, Duration: 10 * time.Millisecond, Detail: "closed"},
		}}
	var text bytes.Buffer
	if err := rep.Write(&text, FormatText); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"STEP", "callback  fail    1m0s", "FAILED at step callback: no callback within 1m0s",
		"Next: reconciler logs callbacks -f horizon.yaml"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	var js bytes.Buffer
	if err := rep.Write(&js, FormatJSON); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Result       string
		Steps        []map[string]any
		FirstFailure struct{ Step, Next string }
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Result != "failed" || len(got.Steps) != 3 || got.Steps[1]["durationSeconds"] != 60.0 ||
		got.FirstFailure.Step != StepCallback || got.FirstFailure.Next == "" {
		t.Errorf("json = %s", js.String())
	}
}

// A failed callback's processing is reported as such, not as lost.
func TestCallbackFailedProcessing(t *testing.T) {
	e := newFakeEnv(t)
	e.psa.onCreate = func(tk helpdesk.Ticket) {
		e.opts.Store.InsertCallbacks(context.Background(), e.opts.Scope, []store.CallbackRecord{{ReceivedAt: time.Now().UTC(),
			Provider: "connectwise", Event: "ticket.created", DeliveryID: "d1", ExternalIDs: []string{tk.ExternalID},
			Verified: true, Result: store.CallbackFailed, Reason: "fetch ticket: 503"}})
	}
	rep, err := Run(context.Background(), e.opts)
	if err != nil {
		t.Fatal(err)
	}
	if d := detail(rep, StepCallback); !strings.Contains(d, "could not process it: fetch ticket: 503") {
		t.Errorf("callback detail = %q", d)
	}
	if got := results(rep); !strings.Contains(got, "status=pass") {
		t.Errorf("the ticket fetched after the failed callback lets the writes run: %s", got)
	}
}
