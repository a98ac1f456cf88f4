package callback

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

func TestCompareWebhooks(t *testing.T) {
	const secret = helpdesk.Secret("tok-123456")
	events := []helpdesk.Event{helpdesk.EventTicketUpdated, helpdesk.EventTicketCreated}
	want := func(key string) helpdesk.Webhook {
		return helpdesk.Webhook{Key: key, Name: "horizon acme " + key, URL: "https://h.example/callbacks/x?token=tok-123456",
			Events: events, Active: true, Managed: true, Fingerprint: "aa"}
	}
	have := func(key string, edit func(*helpdesk.Webhook)) helpdesk.Webhook {
		w := want(key)
		w.ID = "id-" + key
		w.URL = "https://h.example/callbacks/x?recordId=" // as ConnectWise reports it
		if edit != nil {
			edit(&w)
		}
		return w
	}
	desired := []helpdesk.Webhook{want("ok"), want("missing"), want("url"), want("events"), want("off"), want("rotated")}
	observed := []helpdesk.Webhook{
		have("ok", nil),
		have("url", func(w *helpdesk.Webhook) { w.URL = "https://old.example/callbacks/x" }),
		have("events", func(w *helpdesk.Webhook) { w.Events = events[:1] }),
		have("off", func(w *helpdesk.Webhook) { w.Active = false }),
		have("rotated", func(w *helpdesk.Webhook) { w.Fingerprint = "bb" }),
		have("stale", nil),
		{ID: "z1", Name: "Zapier", URL: "https://hooks.zapier.example/abc?key=zzz", Active: true},
	}
	got := CompareWebhooks(desired, observed, secret)
	var summary []string
	for _, w := range got {
		summary = append(summary, w.Key+"="+w.State+strings.Join(w.Differences, "+"))
		for _, u := range []string{w.URL, w.DesiredURL} {
			if strings.Contains(u, secret.Reveal()) || strings.Contains(u, "zzz") {
				t.Errorf("secret left in %s", u)
			}
		}
	}
	wantSummary := []string{"ok=ok", "missing=missing", "url=differsurl", "events=differsevents", "off=differsinactive",
		"rotated=differssecret", "stale=unwanted", "=unmanaged"}
	if !slices.Equal(summary, wantSummary) {
		t.Errorf("states\n got %v\nwant %v", summary, wantSummary)
	}
	if got[0].ID != "id-ok" || got[1].ID != "" || got[7].Name != "Zapier" || got[7].Managed {
		t.Errorf("observed fields not carried: %+v", got)
	}
}

func TestStatus(t *testing.T) {
	st := newMemStore()
	now := time.Now().UTC()
	seed(t, st,
		store.CallbackRecord{ReceivedAt: now.Add(-2 * time.Hour), Verified: true, Result: "processed", Event: "ticket.updated"},
		store.CallbackRecord{ReceivedAt: now.Add(-30 * time.Minute), Verified: true, Result: "failed", Reason: "fetch tickets 1: boom",
			Event: "ticket.updated", Payload: []byte("{}")},
		store.CallbackRecord{ReceivedAt: now.Add(-20 * time.Minute), Verified: true, Event: "ticket.created"},
		store.CallbackRecord{ReceivedAt: now.Add(-10 * time.Minute), Result: "rejected", Reason: "signature mismatch"},
	)
	p := &fakeProvider{webhooksErr: errors.New("connectwise: list callbacks: unauthorized")}
	spec := helpdesk.WebhookSpec{URL: "https://h.example/callbacks/fakepsa", Secret: "tok-123456", Events: []helpdesk.Event{"ticket.updated"}}
	rep, err := Status(context.Background(), st, testScope, p, spec)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.LastReceived.Equal(now.Add(-10*time.Minute)) || !rep.LastVerified.Equal(now.Add(-20*time.Minute)) {
		t.Errorf("last received %v, verified %v", rep.LastReceived, rep.LastVerified)
	}
	if rep.LastHour["failed"] != 1 || rep.LastHour["accepted"] != 1 || rep.LastHour["rejected"] != 1 || rep.LastHour["processed"] != 0 {
		t.Errorf("last hour %v", rep.LastHour)
	}
	if rep.Pending != 1 || len(rep.RecentFailures) != 2 || rep.RecentFailures[1].Payload != nil {
		t.Errorf("pending %d, failures %+v", rep.Pending, rep.RecentFailures)
	}
	if rep.WebhooksError == "" || len(rep.Webhooks) != 1 || rep.Webhooks[0].State != WebhookUnknown {
		t.Errorf("webhooks %+v (error %q)", rep.Webhooks, rep.WebhooksError)
	}
	var text, js bytes.Buffer
	if err := WriteStatus(&text, rep, FormatText); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Last hour:      accepted 1, failed 1, rejected 1", "Pending:        1, oldest received",
		"failed    ticket.updated    fetch tickets 1: boom", "cannot read the PSA's webhooks: connectwise: list callbacks: unauthorized",
		"unknown", "https://h.example/callbacks/fakepsa?token=<secret>"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text status lacks %q:\n%s", want, text.String())
		}
	}
	if strings.Contains(text.String(), "tok-123456") {
		t.Error("secret in text status")
	}
	if err := WriteStatus(&js, rep, FormatJSON); err != nil {
		t.Fatal(err)
	}
	var back StatusReport
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Pending != 1 || back.Webhooks[0].State != WebhookUnknown {
		t.Errorf("json status round trip: %v %+v", err, back)
	}
	if err := WriteStatus(&js, rep, "yaml"); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestWriteLog(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	recs := []store.CallbackRecord{
		{ID: 2, ReceivedAt: at, Provider: "connectwise", Event: "ticket.updated", DeliveryID: "m-1", ExternalIDs: []string{"n-1", "42"},
			Verified: true, Result: "processed", Payload: []byte(`{"ID":42}`), ProcessedAt: at},
		{ID: 1, ReceivedAt: at, Provider: "connectwise", Result: "rejected", Reason: "signature mismatch", Payload: []byte("\xffnot json")},
	}
	var text bytes.Buffer
	if err := WriteLog(&text, recs, FormatText); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(text.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") ||
		!strings.Contains(lines[1], "2026-03-01T12:00:00Z  ticket.updated  n-1,42") || !strings.Contains(lines[2], "signature mismatch") {
		t.Errorf("text log:\n%s", text.String())
	}
	var js bytes.Buffer
	if err := WriteLog(&js, recs, FormatJSON); err != nil {
		t.Fatal(err)
	}
	var back []map[string]any
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if p, ok := back[0]["payload"].(map[string]any); !ok || p["ID"] != float64(42) {
		t.Errorf("JSON payload not embedded: %v", back[0]["payload"])
	}
	if p, ok := back[1]["payload"].(string); !ok || !strings.HasSuffix(p, "not json") {
		t.Errorf("non-JSON payload: %v", back[1]["payload"])
	}
	if back[0]["externalIds"] == nil || back[0]["result"] != "processed" {
		t.Errorf("fields: %v", back[0])
	}
}
