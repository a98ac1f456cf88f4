package daemon

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/syncer"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err        error
		cause      string
		needsHuman bool
		retryAfter time.Duration
	}{
		{&syncer.AuthError{Provider: "autotask", Err: &helpdesk.Error{Kind: helpdesk.ErrUnauthorized, Status: 401}}, "credentials", true, 0},
		{fmt.Errorf("list webhooks: %w", &helpdesk.Error{Kind: helpdesk.ErrForbidden, Status: 403}), "permissions", true, 0},
		{fmt.Errorf("apply: %w", errors.Join(errors.New("x"), &helpdesk.Error{Kind: helpdesk.ErrRateLimited, Status: 429, RetryAfter: time.Minute})), "rate limit", false, time.Minute},
		{&helpdesk.Error{Kind: helpdesk.ErrNotSent}, "rate limit", false, 0},
		{&helpdesk.Error{Kind: helpdesk.ErrTransient, Status: 503}, "PSA outage", false, 0},
		{errors.New("sqlite: database is locked"), "other", false, 0},
	} {
		f := classify(tc.err)
		if f.cause != tc.cause || f.needsHuman != tc.needsHuman || f.retryAfter != tc.retryAfter {
			t.Errorf("classify(%v) = %+v, want cause %q, needs human %v, retry after %v", tc.err, f, tc.cause, tc.needsHuman, tc.retryAfter)
		}
	}
}

func TestRetryIn(t *testing.T) {
	const base, interval = 10 * time.Second, 10 * time.Minute
	for _, tc := range []struct {
		f        failure
		n        int
		min, max time.Duration
	}{
		{failure{cause: "PSA outage"}, 1, 9 * time.Second, 11 * time.Second},
		{failure{cause: "PSA outage"}, 3, 36 * time.Second, 44 * time.Second},
		{failure{cause: "PSA outage"}, 12, interval, interval},
		{failure{cause: "rate limit", retryAfter: 2 * time.Minute}, 1, 2 * time.Minute, 2 * time.Minute},
		{failure{cause: "credentials", needsHuman: true}, 1, interval, interval},
	} {
		for range 20 {
			if got := tc.f.retryIn(tc.n, base, interval); got < tc.min || got > tc.max {
				t.Errorf("%+v failure %d: retry in %v, want within [%v, %v]", tc.f, tc.n, got, tc.min, tc.max)
				break
			}
		}
	}
}
