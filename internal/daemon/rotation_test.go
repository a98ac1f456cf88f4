package daemon_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/callback"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	_ "github.com/horizon/reconciler/internal/helpdesk/sandbox/zohodesk"
)

// tokenStatus posts a body Zoho Desk would not send with token to the
// callback endpoint: 400 means the token passed (the body did not), 401
// that it was refused.
func tokenStatus(t *testing.T, r *running, token string) int {
	t.Helper()
	res, err := client.Post(r.base+"/callbacks/zohodesk?token="+token, "application/json", strings.NewReader("{"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestScheduledSecretRotation: with callbacks.rotateEvery, the secret
// registered with Zoho Desk (which carries it in the webhook URL) changes
// at each period's start; the previous one is accepted for the grace
// period, refused after; and the leader re-registers the webhook, so the
// PSA's own deliveries keep passing.
func TestScheduledSecretRotation(t *testing.T) {
	const every = time.Hour
	// Two seconds before a period starts, behind the real clock (the
	// emulator's event times must never look stale to the receiver).
	boundary := time.Now().Truncate(every)
	var clock atomic.Int64 // the daemon's clock, Unix nanoseconds
	clock.Store(boundary.Add(-2 * time.Second).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	r := startWith(t, startOptions{provider: "zohodesk", callback: "  rotateEvery: 1h\n", now: now})
	reconciled(t, r)
	base := "daemon-test-secret-0123"
	before := callback.Rotate("daemon-test-secret-0123", "daemon-test", every, now())
	if got := tokenStatus(t, r, before.Current.Reveal()); got != http.StatusBadRequest {
		t.Fatalf("this period's secret answered %d, want 400 (verified, body refused)", got)
	}
	if got := tokenStatus(t, r, base); got != http.StatusUnauthorized {
		t.Fatalf("callbacks.secret itself answered %d: under rotation only the derived secret is registered", got)
	}

	clock.Store(boundary.Add(time.Second).UnixNano()) // the next period begins
	after := callback.Rotate("daemon-test-secret-0123", "daemon-test", every, now())
	eventually(t, "the rotated secret accepted", func() bool {
		return tokenStatus(t, r, after.Current.Reveal()) == http.StatusBadRequest
	})
	if got := tokenStatus(t, r, before.Current.Reveal()); got != http.StatusBadRequest {
		t.Errorf("the previous secret answered %d within the grace period, want 400", got)
	}
	eventually(t, "the pass that re-registers the webhook", func() bool {
		return metric(t, r.base, `horizon_reconcile_total{result="success"}`) >= 2
	})

	clock.Store(boundary.Add(callback.DefaultSecretGrace + time.Minute).UnixNano()) // the grace is over
	eventually(t, "the previous secret refused", func() bool {
		return tokenStatus(t, r, before.Current.Reveal()) == http.StatusUnauthorized
	})
	// The PSA now sends with what it holds: the new secret.
	accepted := `horizon_callbacks_received_total{event="ticket.updated",provider="zohodesk",result="accepted"}`
	was := max(metric(t, r.base, accepted), 0)
	tk, _ := r.world.QueryTickets(sandbox.TicketQuery{Limit: 1})
	if _, err := r.world.UpdateTicket(tk[0].ID, sandbox.UI(r.world.Members()[1].ID), func(t *sandbox.Ticket) error {
		t.Summary = "changed after the rotation"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the PSA's delivery accepted", func() bool { return metric(t, r.base, accepted) > was })
}
