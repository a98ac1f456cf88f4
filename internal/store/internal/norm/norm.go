// Package norm holds the rules both store backends apply to what callers
// pass in before writing it: defaults, validation, de-duplication keys. Keeping
// them in one place keeps the backends' behaviour identical.
package norm

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/horizon/reconciler/internal/store"
)

// DefaultLimit is the page size of list queries whose limit is 0.
const DefaultLimit = 100

// Limit returns n, or DefaultLimit when n <= 0.
func Limit(n int) int {
	if n <= 0 {
		return DefaultLimit
	}
	return n
}

// Or returns t, or now when t is zero.
func Or(t time.Time, now func() time.Time) time.Time {
	if t.IsZero() {
		return now()
	}
	return t
}

// Callback fills a callback record's defaults (received now, the scope's
// provider, result accepted), drops empty and repeated external IDs, and
// returns the de-duplication key it claims: its delivery ID, unless it
// has none or was rejected (a forged delivery must not claim the ID of a
// genuine one to come).
func Callback(sc store.Scope, r store.CallbackRecord, now func() time.Time) (store.CallbackRecord, *string) {
	r.ReceivedAt = Or(r.ReceivedAt, now)
	if r.Provider == "" {
		r.Provider = sc.Provider
	}
	if r.Result == "" {
		r.Result = store.CallbackAccepted
	}
	r.ExternalIDs = uniq(r.ExternalIDs)
	if r.DeliveryID == "" || r.Result == store.CallbackRejected || r.Result == store.CallbackDuplicate {
		return r, nil
	}
	key := r.DeliveryID
	return r, &key
}

func uniq(ids []string) []string {
	var out []string
	for _, id := range ids {
		if id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// MarkResult checks a result MarkCallbacks may set.
func MarkResult(result string) error {
	switch result {
	case store.CallbackProcessed, store.CallbackFailed, store.CallbackAccepted, store.CallbackRejected:
		return nil
	}
	return fmt.Errorf("invalid callback result %q", result)
}

// Outbox validates an item to enqueue and fills its defaults: created
// now, due when created, pending, no attempts.
func Outbox(it store.OutboxItem, now func() time.Time) (store.OutboxItem, error) {
	if it.Key == "" {
		return it, errors.New("outbox item has no key")
	}
	if it.Kind == "" {
		return it, errors.New("outbox item has no kind")
	}
	it.CreatedAt = Or(it.CreatedAt, now)
	if it.NextAttempt.IsZero() {
		it.NextAttempt = it.CreatedAt
	}
	it.State, it.Attempts, it.ClaimedUntil, it.LastError = store.OutboxPending, 0, time.Time{}, ""
	return it, nil
}

// Widget returns the last success and last error time a check implies:
// a check that is up succeeded when it ran, one that is down failed then,
// unless the caller set those times itself. Zero means "keep the stored
// value".
func Widget(c store.WidgetCheck) (lastSuccess, lastErrorAt time.Time) {
	lastSuccess, lastErrorAt = c.LastSuccess, c.LastErrorAt
	if c.Up && lastSuccess.IsZero() {
		lastSuccess = c.CheckedAt
	}
	if !c.Up && lastErrorAt.IsZero() {
		lastErrorAt = c.CheckedAt
	}
	return lastSuccess, lastErrorAt
}

// Lease checks the arguments of AcquireLease.
func Lease(name, holder string, ttl time.Duration) error {
	switch {
	case name == "":
		return errors.New("lease has no name")
	case holder == "":
		return errors.New("lease holder is empty")
	case ttl < store.TimePrecision:
		return fmt.Errorf("lease ttl %s is shorter than %s", ttl, store.TimePrecision)
	}
	return nil
}
