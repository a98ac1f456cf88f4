package callback

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/horizon/reconciler/internal/store"
)

// Output formats of WriteStatus and WriteLog.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// WriteStatus writes a StatusReport as text (for people) or JSON (one
// indented object).
func WriteStatus(w io.Writer, rep StatusReport, format string) error {
	switch format {
	case FormatJSON:
		return writeJSON(w, rep)
	case FormatText, "":
		return writeStatusText(w, rep)
	}
	return fmt.Errorf("unknown output format %q (want text or json)", format)
}

// WriteLog writes callback-log rows as a table (text) or a JSON array.
// In JSON a payload that is JSON is embedded as is, any other as a
// string.
func WriteLog(w io.Writer, recs []store.CallbackRecord, format string) error {
	switch format {
	case FormatJSON:
		out := make([]logEntry, len(recs))
		for i, r := range recs {
			out[i] = newLogEntry(r)
		}
		return writeJSON(w, out)
	case FormatText, "":
		return writeLogText(w, recs)
	}
	return fmt.Errorf("unknown output format %q (want text or json)", format)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// logEntry is a CallbackRecord with a readable payload.
type logEntry struct {
	store.CallbackRecord
	Payload any `json:"payload,omitempty"`
}

func newLogEntry(r store.CallbackRecord) logEntry {
	e := logEntry{CallbackRecord: r}
	switch {
	case len(r.Payload) == 0:
	case json.Valid(r.Payload):
		e.Payload = json.RawMessage(r.Payload)
	default:
		e.Payload = strings.ToValidUTF8(string(r.Payload), "?")
	}
	return e
}

// errWriter remembers the first write error so that text output can be
// written without checking each line.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

func writeStatusText(w io.Writer, rep StatusReport) error {
	ew := &errWriter{w: w}
	ew.printf("Account:        %s (%s)\n", rep.Account, rep.Provider)
	if rep.Verdict != "" {
		ew.printf("Verdict:        %s: %s\n", rep.Verdict, rep.VerdictReason)
	}
	ew.printf("Last callback:  %s\n", ago(rep.LastReceived, rep.GeneratedAt))
	ew.printf("Last verified:  %s\n", ago(rep.LastVerified, rep.GeneratedAt))
	ew.printf("Last hour:      %s\n", countsText(rep.LastHour))
	ew.printf("Pending:        %s\n", pendingText(rep))
	ew.printf("Failures (1h):  %s\n", countsText(rep.FailuresByKind))
	writeFailuresText(ew, rep.RecentFailures)
	writeWebhooksText(ew, rep)
	return ew.err
}

func writeFailuresText(ew *errWriter, recs []store.CallbackRecord) {
	if len(recs) == 0 {
		ew.printf("Recent failures: none\n")
		return
	}
	ew.printf("Recent failures:\n")
	for _, r := range recs {
		ew.printf("  %s  %-8s  %-16s  %s\n", stamp(r.ReceivedAt), r.Result, orDash(r.Event), r.Reason)
	}
}

func writeWebhooksText(ew *errWriter, rep StatusReport) {
	ew.printf("Webhooks (PSA vs horizon.yaml):\n")
	if rep.WebhooksError != "" {
		ew.printf("  cannot read the PSA's webhooks: %s\n", rep.WebhooksError)
		ew.printf("  (the wanted ones below may or may not be registered)\n")
	}
	if len(rep.Webhooks) == 0 {
		ew.printf("  none registered, none wanted\n")
		return
	}
	tw := tabwriter.NewWriter(ew.w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  KEY\tSTATE\tACTIVE\tMANAGED\tEVENTS\tURL")
	for _, h := range rep.Webhooks {
		state := h.State
		if len(h.Differences) > 0 {
			state += " (" + strings.Join(h.Differences, ", ") + ")"
		}
		events, u := joinEvents(h.Events), h.URL
		if h.State == WebhookMissing || h.State == WebhookUnknown {
			events, u = joinEvents(h.DesiredEvents), h.DesiredURL
		}
		active := fmt.Sprint(h.Active)
		if h.State == WebhookUnknown {
			active = "?"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%v\t%s\t%s\n", orDash(h.Key), state, active, h.Managed, events, orDash(u))
	}
	if err := tw.Flush(); err != nil && ew.err == nil {
		ew.err = err
	}
}

func writeLogText(w io.Writer, recs []store.CallbackRecord) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRECEIVED\tEVENT\tRECORDS\tRESULT\tDELIVERY\tREASON")
	for _, r := range recs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, stamp(r.ReceivedAt), orDash(r.Event),
			orDash(strings.Join(r.ExternalIDs, ",")), r.Result, orDash(r.DeliveryID), r.Reason)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write callback log: %w", err)
	}
	return nil
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return fmt.Sprintf("%s (%s ago)", stamp(t), now.Sub(t).Round(time.Second))
}

func countsText(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func pendingText(rep StatusReport) string {
	if rep.Pending == 0 {
		return "0"
	}
	n := fmt.Sprint(rep.Pending)
	if rep.Pending >= statusPendingCap {
		n += "+"
	}
	return fmt.Sprintf("%s, oldest received %s", n, ago(rep.PendingSince, rep.GeneratedAt))
}

func joinEvents[E ~string](ev []E) string {
	if len(ev) == 0 {
		return "-"
	}
	s := make([]string, len(ev))
	for i, e := range ev {
		s[i] = string(e)
	}
	return strings.Join(s, ",")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
