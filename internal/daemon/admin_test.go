package daemon_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/smoke"
	"github.com/horizon/reconciler/internal/store"
)

// TestStatusPagesFollowTheDaemon: the admin listener serves the pages,
// which show the daemon's last pass and the newest file's validity.
func TestStatusPagesFollowTheDaemon(t *testing.T) {
	r := start(t)
	// Readiness does not wait for a reconcile: wait for the first pass.
	eventually(t, "the first reconcile on the overview", func() bool {
		_, body := get(t, r.admin+"/ui/")
		return strings.Contains(body, "succeeded")
	})
	if s, _ := get(t, r.base+"/ui/"); s != 404 {
		t.Errorf("the public listener serves the status pages: HTTP %d", s)
	}
	s, body := get(t, r.admin+"/")
	if s != 200 || !strings.Contains(body, "<h1>Overview</h1>") {
		t.Fatalf("admin root: HTTP %d\n%s", s, body)
	}
	for _, want := range []string{"valid (hash", "succeeded", "Sync: tickets"} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	breakFile(t, r.file)
	eventually(t, "the overview to show the invalid file", func() bool {
		_, body := get(t, r.admin+"/ui/")
		return strings.Contains(body, "the newest file is invalid")
	})
	_, body = get(t, r.admin+"/ui/configuration")
	if !strings.Contains(body, "ingestWindow") || !strings.Contains(body, "runs on the last good file") {
		t.Errorf("configuration page does not say why:\n%s", body)
	}
}

// breakFile saves an invalid version of file as an editor does (a new
// file renamed over it).
func breakFile(t *testing.T, file string) {
	t.Helper()
	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Replace(string(good), "ingestWindow: 30d", "ingestWindow: 30 days", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
}

// TestOverviewShowsLastSmokeTest: the overview's smoke line is the last
// finished run in the sync run log, red with its first failure.
func TestOverviewShowsLastSmokeTest(t *testing.T) {
	r := start(t)
	eventually(t, "the overview", func() bool {
		_, body := get(t, r.admin+"/ui/")
		return strings.Contains(body, "never run")
	})
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+r.db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	scope := store.Scope{Account: "daemon-test", Provider: "connectwise"}
	sr := store.SyncRun{Trigger: smoke.Trigger, Entity: smoke.Entity, TicketID: "4711", StartedAt: time.Now().UTC()}
	id, err := st.StartSyncRun(ctx, scope, sr)
	if err != nil {
		t.Fatal(err)
	}
	sr.ID, sr.FinishedAt, sr.Created, sr.Failed = id, time.Now().UTC(), 6, 1
	sr.Error = "callback: no callback within 60s"
	if err := st.FinishSyncRun(ctx, scope, sr); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the failed smoke test on the overview", func() bool {
		_, body := get(t, r.admin+"/ui/")
		return strings.Contains(body, "callback: no callback within 60s")
	})
}
