package callback

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// Reasons recorded on rows that are not failures.
const (
	ReasonEcho     = "echo of Horizon's own write"
	ReasonNoEvents = "delivery carried no events Horizon follows"
)

// baseRecord returns a log row for a delivery received now, before
// verification.
func (rc *Receiver) baseRecord(payload []byte) store.CallbackRecord {
	return store.CallbackRecord{
		ReceivedAt: store.NormalizeTime(rc.cfg.Now()),
		Provider:   rc.cfg.Scope.Provider,
		Payload:    payload,
	}
}

// eventRecords returns one row per event of a verified delivery. A batched
// delivery keeps its body excerpt on its first row only. A delivery with
// no event Horizon follows still gets one row, processed.
func (rc *Receiver) eventRecords(events []helpdesk.CallbackEvent, body []byte) []store.CallbackRecord {
	base := rc.baseRecord(excerpt(body, rc.cfg.PayloadLimit))
	base.Verified = true
	if len(events) == 0 {
		base.Result, base.Reason, base.ProcessedAt = store.CallbackProcessed, ReasonNoEvents, base.ReceivedAt
		return []store.CallbackRecord{base}
	}
	recs := make([]store.CallbackRecord, len(events))
	for i, ev := range events {
		rec := base
		if i > 0 {
			rec.Payload = nil
		}
		rec.Event = EventName(ev.Entity, ev.Action)
		rec.DeliveryID = sanitize(ev.DeliveryID, 200)
		rec.ExternalIDs = externalIDs(ev)
		rc.classify(&rec, ev)
		recs[i] = rec
	}
	return recs
}

// classify sets the row's result: rejected as a replay when the event is
// older than the tolerance, processed when it is an echo of Horizon's own
// write, accepted otherwise.
func (rc *Receiver) classify(rec *store.CallbackRecord, ev helpdesk.CallbackEvent) {
	now := rc.cfg.Now()
	tol := rc.cfg.ReplayTolerance
	switch {
	case tol > 0 && !ev.OccurredAt.IsZero() && now.Sub(ev.OccurredAt) > tol:
		rec.Result = store.CallbackRejected
		rec.Reason = fmt.Sprintf("replayed or late: event time %s is older than the %s tolerance",
			ev.OccurredAt.UTC().Format(time.RFC3339), tol)
	case rc.cfg.APIUser != "" && ev.Actor == rc.cfg.APIUser:
		rec.Result, rec.Reason, rec.ProcessedAt = store.CallbackProcessed, ReasonEcho, rec.ReceivedAt
	default:
		rec.Result = store.CallbackAccepted
	}
}

// objects maps entities to the object half of an event name.
var objects = map[helpdesk.Entity]string{
	helpdesk.EntityTickets:     "ticket",
	helpdesk.EntityNotes:       "note",
	helpdesk.EntityContacts:    "contact",
	helpdesk.EntityCompanies:   "company",
	helpdesk.EntityTimeEntries: "timeEntry",
	helpdesk.EntityMembers:     "member",
}

// EventName returns the normalised event a callback reports, as
// horizon.yaml writes it ("ticket.updated"), or "other" for an entity
// or action Horizon does not know. It is a bounded metric label.
func EventName(e helpdesk.Entity, a helpdesk.Action) string {
	obj, ok := objects[e]
	switch a {
	case helpdesk.ActionCreated, helpdesk.ActionUpdated, helpdesk.ActionDeleted:
	default:
		ok = false
	}
	if !ok {
		return "other"
	}
	return obj + "." + string(a)
}

// entityOf is EventName's inverse for the object half.
func entityOf(event string) (helpdesk.Entity, bool) {
	obj, _, _ := strings.Cut(event, ".")
	for e, o := range objects {
		if o == obj {
			return e, true
		}
	}
	return "", false
}

// externalIDs lists the record's own ID first, then its parent ticket's
// (notes, time entries), so that `logs callbacks --ticket` finds both and
// the dispatcher can fetch the ticket.
func externalIDs(ev helpdesk.CallbackEvent) []string {
	var ids []string
	if id := sanitize(ev.ExternalID, 100); id != "" {
		ids = append(ids, id)
	}
	if t := sanitize(ev.TicketID, 100); t != "" && t != ev.ExternalID {
		ids = append(ids, t)
	}
	return ids
}

// excerpt returns at most n bytes of b (a copy: the row outlives the
// request's buffer only through this).
func excerpt(b []byte, n int) []byte {
	if len(b) == 0 {
		return nil
	}
	if len(b) > n {
		b = b[:n]
	}
	return append([]byte(nil), b...)
}

// sanitize bounds untrusted text for a log row or a log line: valid
// UTF-8, no control characters, at most n bytes.
func sanitize(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	if utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
}
