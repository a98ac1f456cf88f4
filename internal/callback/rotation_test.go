package callback

import (
	"regexp"
	"testing"
	"time"
)

func TestRotate(t *testing.T) {
	const every = 24 * time.Hour
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r := Rotate("base-secret", "acme", every, at)
	if !r.Since.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) || !r.Next.Equal(r.Since.Add(every)) {
		t.Errorf("period %v..%v", r.Since, r.Next)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).MatchString(r.Current.Reveal()) {
		t.Errorf("secret %q is not 43 URL-safe characters", r.Current.Reveal())
	}
	same := Rotate("base-secret", "acme", every, r.Next.Add(-time.Nanosecond))
	next := Rotate("base-secret", "acme", every, r.Next)
	switch {
	case same != r:
		t.Error("two instants of one period disagree")
	case next.Previous != r.Current || next.Current == r.Current:
		t.Error("the next period must have a new secret and keep this one as previous")
	case Rotate("base-secret", "other", every, at).Current == r.Current:
		t.Error("two accounts share a derived secret")
	case Rotate("new-base", "acme", every, at).Current == r.Current:
		t.Error("a new base secret derives the same secret")
	}
}

// TestReceiverPreviousUntil: a receiver built after a scheduled rotation
// accepts the previous period's secret until the grace that began with the
// period ends, not for a whole grace from its own start.
func TestReceiverPreviousUntil(t *testing.T) {
	clock := newClock()
	h := newHarness(t, func(c *Config) {
		c.PreviousSecret, c.PreviousUntil = "old-secret", clock.Now().Add(time.Minute)
	})
	body := envelope(ticketEvent("d-1", "101"))
	if res := post(h.rc, "/callbacks/fakepsa", body, sign("old-secret", body)); res.Code != 200 {
		t.Fatalf("previous secret within its grace: %d", res.Code)
	}
	h.clock.Add(time.Minute + time.Second)
	body = envelope(ticketEvent("d-2", "101"))
	if res := post(h.rc, "/callbacks/fakepsa", body, sign("old-secret", body)); res.Code != 401 {
		t.Fatalf("previous secret after its grace: %d, want 401", res.Code)
	}
}
