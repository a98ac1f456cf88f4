package transport

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// DefaultReservePause is how long a paced request waits at the reserve
// before one request is let through to read the remaining count again.
const DefaultReservePause = 10 * time.Minute

// Reserve holds back the requests of paced runs (backfills, see
// helpdesk.Meter) while only the reserve of the PSA's allowance is left,
// so that a backfill never spends what other integrations, the PSA's own
// users and Horizon's writes need. It learns what is left from the PSA:
// response headers (Config.Remaining) or a usage endpoint (Observe).
type Reserve struct {
	// Fraction of the allowance to leave; 0 holds nothing back.
	Fraction float64
	// Pause between probes while at the reserve; default
	// DefaultReservePause.
	Pause time.Duration
	// Probe, when set, reads what is left after a pause (Autotask's
	// usage endpoint) and reports it with Observe; without it the held
	// request itself is the probe (Zoho Desk's headers).
	Probe func(ctx context.Context) error

	mu        sync.Mutex
	remaining int // -1: unknown
	allowance int // the PSA's allowance, or the highest remaining seen
}

// NewReserve returns a Reserve leaving fraction of the allowance.
func NewReserve(fraction float64, pause time.Duration) *Reserve {
	if pause <= 0 {
		pause = DefaultReservePause
	}
	return &Reserve{Fraction: fraction, Pause: pause, remaining: -1}
}

// Observe records what the PSA reports is left (-1: nothing yet).
// allowance is the PSA's allowance per period when known (Autotask's
// threshold, or a configured minimum); 0 means it is not (Zoho Desk sends
// only the remaining credits), and the highest remaining count seen
// raises it: never more than the real allowance, so the reserve it
// yields is never more than asked.
func (r *Reserve) Observe(remaining, allowance int) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.remaining = remaining
	if allowance > 0 {
		r.allowance = allowance
	}
	r.allowance = max(r.allowance, remaining)
}

// Remaining returns what the PSA last reported left, -1 when unknown.
func (r *Reserve) Remaining() int {
	if r == nil {
		return -1
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.remaining
}

// floor is the count at or below which paced requests wait.
func (r *Reserve) floor() int {
	return int(float64(r.allowance) * r.Fraction)
}

// held reports whether a paced request must wait, with what is left and
// the floor.
func (r *Reserve) held() (bool, int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Fraction <= 0 || r.remaining < 0 {
		return false, r.remaining, 0
	}
	f := r.floor()
	return r.remaining <= f, r.remaining, f
}

// forget marks the remaining count unknown after a pause, so that the
// next request goes and reads it again.
func (r *Reserve) forget() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.remaining = -1
}

// hold waits while a paced request's run would eat into the reserve: a
// pause, then a probe (Reserve.Probe, or else the request itself) reads
// what is left again. Other requests (writes, plans, polls) never wait.
func (c *Client) hold(ctx context.Context, op string) error {
	r, m := c.cfg.Reserve, helpdesk.MeterFrom(ctx)
	if r == nil || m == nil || !m.Paced {
		return nil
	}
	var paused time.Duration
	for {
		held, left, floor := r.held()
		if !held {
			break
		}
		c.cfg.Logger.InfoContext(ctx, "psa budget at reserve; backfill paused", "provider", c.cfg.Provider,
			"entity", m.Entity, "op", op, "remaining", left, "reserve", floor, "pause", r.Pause)
		start := time.Now()
		err := c.sleep(ctx, r.Pause)
		d := time.Since(start)
		paused += d
		m.AddPause(d)
		if c.cfg.Metrics != nil {
			c.cfg.Metrics.Budget.Paused.WithLabelValues(c.cfg.Provider).Add(d.Seconds())
		}
		if err != nil {
			return c.errorf(op, helpdesk.ErrNotSent, 0, "", err)
		}
		r.forget()
		if r.Probe == nil || r.Probe(ctx) != nil {
			break // the request itself reads what is left
		}
	}
	if paused > 0 {
		c.cfg.Logger.InfoContext(ctx, "psa budget pause over; backfill resumes", "provider", c.cfg.Provider,
			"entity", m.Entity, "paused", paused.Round(time.Second))
	}
	return nil
}

// count records a request sent: in the run's meter and by entity.
func (c *Client) count(ctx context.Context, h http.Header) {
	entity := "other"
	if m := helpdesk.MeterFrom(ctx); m != nil {
		m.AddRequest()
		entity = string(m.Entity)
	}
	if c.cfg.Metrics != nil {
		c.cfg.Metrics.Budget.RequestsByEntity.WithLabelValues(c.cfg.Provider, entity).Inc()
	}
	if h == nil || c.cfg.Remaining == nil {
		return
	}
	if left, ok := c.cfg.Remaining(h); ok {
		c.cfg.Reserve.Observe(left, 0)
		if c.cfg.Metrics != nil {
			c.cfg.Metrics.Budget.Remaining.WithLabelValues(c.cfg.Provider).Set(float64(left))
		}
	}
}
