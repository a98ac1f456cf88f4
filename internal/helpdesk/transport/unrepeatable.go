package transport

import (
	"context"
	"errors"

	"github.com/horizon/reconciler/internal/helpdesk"
)

type unrepeatableKey struct{}

// Unrepeatable marks ctx for a request that creates something and that
// the PSA cannot de-duplicate (no PSA offers idempotency keys): Do retries
// it only on answers that prove the PSA did not process it (429 and the
// PSA's other throttle refusals, a 401 followed by a credential refresh).
// A 5xx, a timeout, a dropped connection or an unreadable answer may come
// after the PSA applied the write: those are returned at once, so that the
// caller looks for the write's marker before sending it again.
func Unrepeatable(ctx context.Context) context.Context {
	return context.WithValue(ctx, unrepeatableKey{}, true)
}

// retrySafe reports whether err may be retried for the request of ctx.
func retrySafe(ctx context.Context, err error) bool {
	if v, _ := ctx.Value(unrepeatableKey{}).(bool); !v {
		return true
	}
	return errors.Is(err, helpdesk.ErrRateLimited)
}
