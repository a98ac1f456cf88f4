package syncer

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/store"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func sampleRuns() []store.SyncRun {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	return []store.SyncRun{
		{ID: 1, Trigger: store.TriggerBackfill, Entity: "tickets", StartedAt: at, FinishedAt: at.Add(83 * time.Second),
			Created: 5120, Requests: 12, Paused: 40 * time.Second},
		{ID: 3, Trigger: store.TriggerCallback, Entity: "tickets", TicketID: "48213", StartedAt: at.Add(10 * time.Minute),
			FinishedAt: at.Add(10*time.Minute + 140*time.Millisecond), Updated: 1, Requests: 1},
		{ID: 2, Trigger: store.TriggerPoll, Entity: "contacts", StartedAt: at.Add(5 * time.Minute),
			FinishedAt: at.Add(5*time.Minute + 2*time.Second), Unchanged: 12,
			Error: "sync contacts: ConnectWise rejected the credentials: check helpdesk.connectwise.publicKey/privateKey, companyId and clientId: connectwise: list contacts: unauthorized (HTTP 401)"},
		{ID: 4, Trigger: store.TriggerPoll, Entity: "tickets", StartedAt: at.Add(15 * time.Minute)},
		{ID: 5, Trigger: store.TriggerBackfill, Entity: "timeEntries", StartedAt: at.Add(20 * time.Minute),
			FinishedAt: at.Add(50 * time.Minute), Created: 8000, Outcome: store.RunInterrupted},
		{ID: 6, Trigger: store.TriggerPoll, Entity: "contacts", StartedAt: at.Add(55 * time.Minute),
			FinishedAt: at.Add(55*time.Minute + time.Second), Unchanged: 3, Outcome: store.RunCancelled,
			Error: "sync contacts: context canceled"},
		{ID: 7, Trigger: store.TriggerPoll, Entity: "tickets", StartedAt: at.Add(60 * time.Minute),
			FinishedAt: at.Add(60*time.Minute + time.Second), Created: 4, Outcome: store.RunOK, Skipped: 2,
			Skips: []store.SkippedRecord{{ID: "17", Reason: "id: a string where a number is due"}, {Reason: "summary larger than 1 MiB"}}},
	}
}

func TestWriteRuns(t *testing.T) {
	for _, c := range []struct{ format, golden string }{{"", "runs.txt"}, {"json", "runs.json"}} {
		t.Run(c.golden, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteRuns(&buf, sampleRuns(), c.format); err != nil {
				t.Fatal(err)
			}
			golden(t, c.golden, buf.Bytes())
		})
	}
	var buf bytes.Buffer
	if err := WriteRuns(&buf, nil, "json"); err != nil || buf.String() != "[]\n" {
		t.Errorf("empty JSON = %q, %v", buf.String(), err)
	}
	buf.Reset()
	if err := WriteRuns(&buf, nil, "text"); err != nil || buf.String() != "No sync runs.\n" {
		t.Errorf("empty text = %q, %v", buf.String(), err)
	}
	if err := WriteRuns(&buf, nil, "yaml"); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestWriteRunsJSONRoundTrips(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteRuns(&buf, sampleRuns(), "json"); err != nil {
		t.Fatal(err)
	}
	var got []store.SyncRun
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if n := len(sampleRuns()); len(got) != n || got[0].ID != int64(n) || got[n-1].ID != 1 {
		t.Errorf("order = %v, want newest first", got)
	}
}

func TestListRuns(t *testing.T) {
	st := newMemStore()
	for _, r := range sampleRuns() {
		st.StartSyncRun(context.Background(), store.Scope{}, r)
	}
	runs, err := ListRuns(context.Background(), st, store.Scope{}, store.SyncRunFilter{})
	if err != nil || len(runs) != len(sampleRuns()) {
		t.Fatalf("ListRuns = %d runs, %v", len(runs), err)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}
