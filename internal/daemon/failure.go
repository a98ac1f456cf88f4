package daemon

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// DefaultRetryBase is the first wait after a failed reconcile pass that
// will pass by itself.
const DefaultRetryBase = 10 * time.Second

// failure is what the daemon makes of a failed reconcile pass: its cause,
// and whether it needs a human (retrying cannot fix it) or will pass.
type failure struct {
	cause      string // credentials, permissions, rate limit, PSA outage, other
	needsHuman bool
	retryAfter time.Duration // the PSA's Retry-After, zero when none
}

// classify reads a pass's error. Credentials (401) and permissions (403)
// need a human: the PSA will answer the same until someone changes
// horizon.yaml's secrets or the API user. Everything else is taken to
// pass (rate limits, outages, timeouts, the database) and is retried with
// backoff.
func classify(err error) failure {
	switch {
	case errors.Is(err, helpdesk.ErrUnauthorized):
		return failure{cause: "credentials", needsHuman: true}
	case errors.Is(err, helpdesk.ErrForbidden):
		return failure{cause: "permissions", needsHuman: true}
	case errors.Is(err, helpdesk.ErrRateLimited), errors.Is(err, helpdesk.ErrNotSent):
		return failure{cause: "rate limit", retryAfter: helpdesk.RetryAfter(err)}
	case errors.Is(err, helpdesk.ErrTransient):
		return failure{cause: "PSA outage"}
	}
	return failure{cause: "other"}
}

// retryIn is the wait before the next pass after the n-th failure in a
// row: for a failure that needs a human, the interval (a PSA may lock an
// API user out after repeated rejected logins; a file change or SIGHUP
// retries at once); otherwise base × 2^(n-1) with ±10 % jitter, at least
// the PSA's Retry-After, at most the interval.
func (f failure) retryIn(n int, base, interval time.Duration) time.Duration {
	if f.needsHuman {
		return interval
	}
	d := base << min(max(n-1, 0), 16)
	d = time.Duration(float64(d) * (0.9 + 0.2*rand.Float64()))
	return min(max(d, f.retryAfter), interval)
}

// next says, for a human, what happens next.
func (f failure) next(wait time.Duration) string {
	if f.needsHuman {
		return fmt.Sprintf("this needs a human (check the %s Horizon uses); next try in %s, or at once on a file change or SIGHUP",
			f.cause, wait.Round(time.Second))
	}
	return fmt.Sprintf("it should pass; retrying in %s", wait.Round(time.Second))
}

// recordFailure exports the state after a pass: f is zero after a
// success; n is the failures in a row.
func (d *runner) recordFailure(f failure, n int) {
	needs := 0.0
	if f.needsHuman {
		needs = 1
	}
	d.m.ReconcileFailure.NeedsHuman.Set(needs)
	d.m.ReconcileFailure.Consecutive.Set(float64(n))
}
