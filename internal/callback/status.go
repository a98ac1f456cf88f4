package callback

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// StatusReport is the callback health of one account, as
// `reconciler callbacks status` shows it.
type StatusReport struct {
	Account     string    `json:"account"`
	Provider    string    `json:"provider"`
	GeneratedAt time.Time `json:"generatedAt"`
	// LastReceived is when the newest delivery was logged (any result);
	// LastVerified the newest one that passed verification.
	LastReceived time.Time `json:"lastReceived,omitzero"`
	LastVerified time.Time `json:"lastVerified,omitzero"`
	// LastHour counts the last hour's callback-log rows by result.
	LastHour map[string]int `json:"lastHour"`
	// Pending is how many accepted callbacks await a fetch (at most
	// statusPendingCap) and PendingSince when the oldest was received.
	Pending      int       `json:"pending"`
	PendingSince time.Time `json:"pendingSince,omitzero"`
	// RecentFailures are the newest rejected or failed rows, without
	// payloads.
	RecentFailures []store.CallbackRecord `json:"recentFailures"`
	// Webhooks compares the PSA's registrations with horizon.yaml.
	Webhooks []WebhookStatus `json:"webhooks"`
	// WebhooksError says why the PSA's registrations could not be read;
	// every wanted registration is then WebhookUnknown.
	WebhooksError string `json:"webhooksError,omitempty"`
	// FailuresByKind counts the last hour's rejected and failed
	// deliveries by the kind of failure (FailureKind).
	FailuresByKind map[string]int `json:"failuresByKind"`
	// Verdict, StaleAfter and VerdictReason are set by Judge.
	Verdict       string `json:"verdict,omitempty"`
	StaleAfter    string `json:"staleAfter,omitempty"`
	VerdictReason string `json:"verdictReason,omitempty"`
}

// Webhook states in a StatusReport.
const (
	WebhookOK       = "ok"        // registered as the file wants
	WebhookMissing  = "missing"   // the file wants it; the PSA has none
	WebhookDiffers  = "differs"   // registered, but not as the file wants
	WebhookUnwanted = "unwanted"  // Horizon's, but the file no longer wants it
	WebhookForeign  = "unmanaged" // another tool's; Horizon leaves it alone
	// WebhookUnknown: the file wants it, and the PSA's registrations
	// could not be read, so whether it exists is not known.
	WebhookUnknown = "unknown"
)

// WebhookStatus is one registration slot: what the PSA holds and what
// horizon.yaml wants. URLs are redacted (helpdesk.RedactURL).
type WebhookStatus struct {
	Key           string           `json:"key"`
	Name          string           `json:"name"`
	ID            string           `json:"id,omitempty"`
	State         string           `json:"state"`
	Differences   []string         `json:"differences,omitempty"`
	URL           string           `json:"url,omitempty"`
	Events        []helpdesk.Event `json:"events,omitempty"`
	Active        bool             `json:"active"`
	Managed       bool             `json:"managed"`
	DesiredURL    string           `json:"desiredUrl,omitempty"`
	DesiredEvents []helpdesk.Event `json:"desiredEvents,omitempty"`
}

const (
	statusFailures   = 10
	statusPendingCap = 1000
)

// Status builds the callback health report of one account: the callback
// log's last hour, pending backlog and recent failures from st, and the
// PSA's webhook registrations (p.Webhooks) against those spec asks for
// (p.DesiredWebhooks). A PSA that cannot be reached is reported in
// WebhooksError, not returned; a store error is returned.
func Status(ctx context.Context, st store.Store, scope store.Scope, p helpdesk.Provider, spec helpdesk.WebhookSpec) (StatusReport, error) {
	rep, err := LogStatus(ctx, st, scope)
	if err != nil {
		return StatusReport{}, err
	}
	var desired []helpdesk.Webhook
	if spec.URL != "" {
		desired = p.DesiredWebhooks(spec)
	}
	observed, err := p.Webhooks(ctx)
	if err != nil {
		rep.WebhooksError = helpdesk.RedactURL(err.Error(), spec.Secret)
		rep.Webhooks = CompareWebhooks(desired, nil, spec.Secret)
		for i := range rep.Webhooks {
			rep.Webhooks[i].State = WebhookUnknown
		}
		return rep, nil
	}
	rep.Webhooks = CompareWebhooks(desired, observed, spec.Secret)
	return rep, nil
}

// LogStatus builds the callback-log part of the report only, without
// asking the PSA (the status overview, which must not call the PSA on
// every view).
func LogStatus(ctx context.Context, st store.Store, scope store.Scope) (StatusReport, error) {
	now := time.Now().UTC()
	rep := StatusReport{Account: scope.Account, Provider: scope.Provider, GeneratedAt: now}
	if err := logStatus(ctx, st, scope, now, &rep); err != nil {
		return StatusReport{}, err
	}
	return rep, nil
}

// logStatus fills the report's callback-log part.
func logStatus(ctx context.Context, st store.Store, scope store.Scope, now time.Time, rep *StatusReport) error {
	stats, err := st.CallbackStats(ctx, scope, now.Add(-time.Hour))
	if err != nil {
		return fmt.Errorf("callback stats: %w", err)
	}
	rep.LastHour = stats.ByResult
	if rep.LastHour == nil {
		rep.LastHour = map[string]int{}
	}
	recent, err := st.Callbacks(ctx, scope, store.CallbackFilter{Limit: 200})
	if err != nil {
		return fmt.Errorf("recent callbacks: %w", err)
	}
	if len(recent) > 0 {
		rep.LastReceived = recent[0].ReceivedAt
	}
	if i := slices.IndexFunc(recent, func(r store.CallbackRecord) bool { return r.Verified }); i >= 0 {
		rep.LastVerified = recent[i].ReceivedAt
	}
	pending, err := st.PendingCallbacks(ctx, scope, statusPendingCap)
	if err != nil {
		return fmt.Errorf("pending callbacks: %w", err)
	}
	rep.Pending = len(pending)
	if len(pending) > 0 {
		rep.PendingSince = pending[0].ReceivedAt
	}
	failed, err := st.Callbacks(ctx, scope, store.CallbackFilter{FailedOnly: true, Limit: statusFailures})
	if err != nil {
		return fmt.Errorf("failed callbacks: %w", err)
	}
	rep.RecentFailures = withoutPayloads(failed)
	hour, err := st.Callbacks(ctx, scope, store.CallbackFilter{FailedOnly: true, Since: now.Add(-time.Hour), Limit: statusPendingCap})
	if err != nil {
		return fmt.Errorf("failed callbacks: %w", err)
	}
	rep.FailuresByKind = map[string]int{}
	for _, r := range hour {
		rep.FailuresByKind[FailureKind(r)]++
	}
	return nil
}

func withoutPayloads(recs []store.CallbackRecord) []store.CallbackRecord {
	out := make([]store.CallbackRecord, len(recs))
	for i, r := range recs {
		r.Payload = nil
		out[i] = r
	}
	return out
}

// CompareWebhooks matches desired and observed registrations by Key (by
// URL for observed ones with no key) and says, for each slot, whether the
// PSA holds it as desired. Secrets are redacted from every URL.
func CompareWebhooks(desired, observed []helpdesk.Webhook, secret helpdesk.Secret) []WebhookStatus {
	var out []WebhookStatus
	used := make([]bool, len(observed))
	for _, d := range desired {
		i := slices.IndexFunc(observed, func(o helpdesk.Webhook) bool { return o.Managed && o.Key != "" && o.Key == d.Key })
		ws := WebhookStatus{Key: d.Key, Name: d.Name, State: WebhookMissing, Managed: true,
			DesiredURL: helpdesk.RedactURL(d.URL, secret), DesiredEvents: d.SortedEvents()}
		if i >= 0 {
			used[i] = true
			fillObserved(&ws, observed[i], secret)
			ws.Differences = differences(d, observed[i], secret)
			ws.State = WebhookOK
			if len(ws.Differences) > 0 {
				ws.State = WebhookDiffers
			}
		}
		out = append(out, ws)
	}
	for i, o := range observed {
		if used[i] {
			continue
		}
		ws := WebhookStatus{Key: o.Key, Name: o.Name, State: WebhookForeign}
		if o.Managed {
			ws.State = WebhookUnwanted
		}
		fillObserved(&ws, o, secret)
		out = append(out, ws)
	}
	return out
}

func fillObserved(ws *WebhookStatus, o helpdesk.Webhook, secret helpdesk.Secret) {
	ws.ID, ws.URL, ws.Events, ws.Active, ws.Managed = o.ID, helpdesk.RedactURL(o.URL, secret), o.SortedEvents(), o.Active, o.Managed
	if ws.Name == "" {
		ws.Name = o.Name
	}
}

// differences lists what differs between a desired registration and the
// PSA's: url, events, inactive, secret (by fingerprint, where both sides
// have one).
func differences(d, o helpdesk.Webhook, secret helpdesk.Secret) []string {
	var diff []string
	if comparableURL(d.URL, secret) != comparableURL(o.URL, secret) {
		diff = append(diff, "url")
	}
	if !slices.Equal(d.SortedEvents(), o.SortedEvents()) {
		diff = append(diff, "events")
	}
	if !o.Active {
		diff = append(diff, "inactive")
	}
	if d.Fingerprint != "" && o.Fingerprint != "" && d.Fingerprint != o.Fingerprint {
		diff = append(diff, "secret")
	}
	return diff
}

// comparableURL is a URL without its secrets and without the parameters a
// PSA appends (ConnectWise's recordId), so that the URL Horizon asked for
// and the one the PSA reports compare equal.
func comparableURL(raw string, secret helpdesk.Secret) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	for k := range q {
		if helpdesk.SensitiveParam(k) || strings.EqualFold(k, "recordId") {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	u.User = nil
	return strings.TrimSuffix(helpdesk.RedactURL(u.String(), secret), "?")
}
