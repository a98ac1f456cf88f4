package callback

import (
	"strings"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/store"
)

func TestJudge(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name         string
		lastVerified time.Duration // before now; 0 means never
		lastAny      time.Duration
		webhooksErr  string
		staleAfter   time.Duration
		verdict      string
		healthy      bool
		reason       string
	}{
		{"fresh", 2 * time.Minute, 0, "", 15 * time.Minute, VerdictOK, true, "last verified callback 2m0s ago (staleAfter 15m0s)"},
		{"stale", 42 * time.Minute, 0, "", 15 * time.Minute, VerdictStale, false, "no verified callback for 42m0s (staleAfter 15m0s)"},
		{"never", 0, 0, "", 15 * time.Minute, VerdictStale, false, "no verified callback has ever arrived"},
		{"only forged ones arrive", 0, time.Minute, "", 15 * time.Minute, VerdictStale, false, "no verified callback has ever arrived"},
		{"fresh but PSA unreadable", time.Minute, 0, "HTTP 401", 15 * time.Minute, VerdictUnknown, false, "cannot be read: HTTP 401"},
		{"stale and PSA unreadable", time.Hour, 0, "HTTP 401", 15 * time.Minute, VerdictStale, false, "cannot be read: HTTP 401"},
		{"no callbacks in the file", 0, 0, "", 0, VerdictOff, true, "polling alone"},
		{"no callbacks, PSA unreadable", 0, 0, "HTTP 401", 0, VerdictOff, false, "polling alone"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := StatusReport{GeneratedAt: now, WebhooksError: c.webhooksErr}
			if c.lastVerified > 0 {
				rep.LastVerified = now.Add(-c.lastVerified)
			}
			if c.lastAny > 0 {
				rep.LastReceived = now.Add(-c.lastAny)
			}
			rep.Judge(c.staleAfter)
			if rep.Verdict != c.verdict || rep.Healthy() != c.healthy || !strings.Contains(rep.VerdictReason, c.reason) {
				t.Errorf("verdict %q (healthy %v): %q; want %q (%v) containing %q", rep.Verdict, rep.Healthy(),
					rep.VerdictReason, c.verdict, c.healthy, c.reason)
			}
		})
	}
}

func TestFailureKind(t *testing.T) {
	cases := []struct {
		rec  store.CallbackRecord
		want string
	}{
		{store.CallbackRecord{Result: store.CallbackFailed, Reason: "fetch tickets 4711: connectwise: get ticket 4711: HTTP 500"},
			"fetch failed: connectwise: get ticket …: HTTP 500"},
		{store.CallbackRecord{Result: store.CallbackFailed, Reason: "fetch tickets 99: connectwise: get ticket 99: HTTP 500"},
			"fetch failed: connectwise: get ticket …: HTTP 500"},
		{store.CallbackRecord{Result: store.CallbackRejected, Reason: "signature mismatch"}, "rejected: signature mismatch"},
		{store.CallbackRecord{Result: store.CallbackRejected}, "rejected: no reason recorded"},
	}
	for _, c := range cases {
		if got := FailureKind(c.rec); got != c.want {
			t.Errorf("FailureKind(%q) = %q, want %q", c.rec.Reason, got, c.want)
		}
	}
}
