package callback

import (
	"fmt"
	"strings"
	"time"

	"github.com/horizon/reconciler/internal/store"
)

// Verdicts of a StatusReport.
const (
	// VerdictOK: a verified callback arrived within staleAfter and the
	// PSA's webhooks could be read.
	VerdictOK = "ok"
	// VerdictStale: no verified callback within staleAfter (or never);
	// only the polling sweep keeps Horizon current.
	VerdictStale = "stale"
	// VerdictUnknown: callbacks are fresh, but the PSA's webhook
	// registrations could not be read.
	VerdictUnknown = "unknown"
	// VerdictOff: the file declares no callbacks; Horizon polls only.
	VerdictOff = "not configured"
)

// Judge sets the report's verdict against staleAfter (zero: the file has
// no callbacks section). Only verified deliveries count: a stream of
// forged or mis-signed ones is not a working feed.
func (r *StatusReport) Judge(staleAfter time.Duration) {
	if staleAfter <= 0 {
		r.Verdict, r.VerdictReason = VerdictOff, "the file declares no callbacks: Horizon relies on polling alone"
		return
	}
	r.StaleAfter = staleAfter.String()
	age := r.GeneratedAt.Sub(r.LastVerified)
	switch {
	case r.LastVerified.IsZero():
		r.Verdict, r.VerdictReason = VerdictStale, "no verified callback has ever arrived"
	case age > staleAfter:
		r.Verdict = VerdictStale
		r.VerdictReason = fmt.Sprintf("no verified callback for %s (staleAfter %s)", age.Round(time.Second), staleAfter)
	case r.WebhooksError != "":
		r.Verdict, r.VerdictReason = VerdictUnknown, "callbacks arrive, but the PSA's webhooks cannot be read: "+r.WebhooksError
	default:
		r.Verdict = VerdictOK
		r.VerdictReason = fmt.Sprintf("last verified callback %s ago (staleAfter %s)", age.Round(time.Second), staleAfter)
	}
	if r.Verdict == VerdictStale && r.WebhooksError != "" {
		r.VerdictReason += "; the PSA's webhooks cannot be read: " + r.WebhooksError
	}
}

// Healthy reports whether the verdict needs no action: callbacks are
// fresh and the PSA's webhooks could be read (or the file wants none).
func (r *StatusReport) Healthy() bool {
	return r.Verdict == VerdictOK || (r.Verdict == VerdictOff && r.WebhooksError == "")
}

// FailureKind names the kind of a rejected or failed delivery: the
// rejection reason, or "fetch failed: " and what the PSA answered, with
// record IDs left out so that one cause counts once.
func FailureKind(r store.CallbackRecord) string {
	reason := strings.TrimSpace(r.Reason)
	if r.Result == store.CallbackFailed {
		// "fetch tickets 4711: connectwise: get ticket 4711: HTTP 500"
		if rest, ok := strings.CutPrefix(reason, "fetch "); ok {
			if target, cause, ok := strings.Cut(rest, ": "); ok {
				_, id, _ := strings.Cut(target, " ")
				reason = cause
				if id != "" {
					reason = strings.ReplaceAll(cause, id, "…")
				}
			}
		}
		return "fetch failed: " + short(reason)
	}
	if reason == "" {
		reason = "no reason recorded"
	}
	return r.Result + ": " + short(reason)
}

func short(s string) string {
	if len(s) > 80 {
		return strings.ToValidUTF8(s[:80], "") + "…"
	}
	return s
}
