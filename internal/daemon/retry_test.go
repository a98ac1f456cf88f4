package daemon_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// failingPSA answers every request with status while it is non-zero.
func failingPSA(status *atomic.Int32) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if s := status.Load(); s != 0 {
				http.Error(w, http.StatusText(int(s)), int(s))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// TestFailedPassRetriesWithBackoff: after a pass fails for a reason that
// needs no human the daemon tries again with backoff, not after the full
// interval (an hour here). (A 400 stands for the outage: the PSA client
// does not retry it itself, which keeps the test fast.)
func TestFailedPassRetriesWithBackoff(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusBadRequest)
	r := startWith(t, startOptions{psa: failingPSA(&status), retry: 20 * time.Millisecond})
	eventually(t, "two failed passes", func() bool {
		return metric(t, r.base, "horizon_reconcile_consecutive_failures") >= 2
	})
	if got := metric(t, r.base, "horizon_reconcile_failure_needs_human"); got != 0 {
		t.Errorf("needs_human %v, want 0", got)
	}
	status.Store(0)
	reconciled(t, r)
	eventually(t, "the failure count reset", func() bool {
		return metric(t, r.base, "horizon_reconcile_consecutive_failures") == 0
	})
}

// TestFailedPassNeedsHuman: a PSA that rejects the credentials makes a
// failure that needs a human, said in the metric and the event.
func TestFailedPassNeedsHuman(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusUnauthorized)
	r := startWith(t, startOptions{psa: failingPSA(&status), retry: 20 * time.Millisecond})
	eventually(t, "needs_human 1", func() bool { return metric(t, r.base, "horizon_reconcile_failure_needs_human") == 1 })
	deadline := time.After(20 * time.Second)
	for {
		select {
		case e := <-r.events:
			if e.Kind != "reconcile-failed" {
				continue
			}
			if !strings.Contains(e.Message, "needs a human") || !strings.Contains(e.Message, "(credentials)") {
				t.Fatalf("failure event %q does not say it needs a human", e.Message)
			}
			if got := metric(t, r.base, "horizon_reconcile_consecutive_failures"); got != 1 {
				t.Fatalf("%v failures in a row: a credentials failure must wait the interval, not back off", got)
			}
			return
		case <-deadline:
			t.Fatal("no reconcile-failed event")
		}
	}
}
