package ui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/horizon/reconciler/internal/account"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// filters are a list page's query parameters, checked.
type filters struct {
	Entity, Trigger, Result, Ticket, Since, State, Kind string
	since                                               time.Time
	before                                              store.Cursor
	Problem                                             string // a filter that could not be read
}

func readFilters(r *http.Request, now time.Time) filters {
	q := r.URL.Query()
	f := filters{Entity: q.Get("entity"), Trigger: q.Get("trigger"), Result: q.Get("result"),
		Ticket: strings.TrimSpace(q.Get("ticket")), Since: strings.TrimSpace(q.Get("since")), State: q.Get("state"), Kind: q.Get("kind")}
	var problems []string
	if f.Since != "" {
		t, err := parseSince(f.Since, now)
		if err != nil {
			problems = append(problems, err.Error())
		}
		f.since = t
	}
	if b := q.Get("before"); b != "" {
		c, err := parseCursor(b)
		if err != nil {
			problems = append(problems, err.Error())
		}
		f.before = c
	}
	f.Problem = strings.Join(problems, "; ")
	return f
}

// parseSince reads "since" as a duration back from now (90m, 24h, 7d) or
// a date (2006-01-02) or time (RFC 3339).
func parseSince(s string, now time.Time) (time.Time, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days >= 0 {
			return now.Add(-time.Duration(days) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("since %q: want a duration such as 24h or 7d, or a date such as 2026-03-01", s)
}

// A cursor is written in links as "<unix nanoseconds>.<id>".
func formatCursor(at time.Time, id int64) string {
	return strconv.FormatInt(at.UnixNano(), 10) + "." + strconv.FormatInt(id, 10)
}

func parseCursor(s string) (store.Cursor, error) {
	ns, id, ok := strings.Cut(s, ".")
	n, err1 := strconv.ParseInt(ns, 10, 64)
	i, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return store.Cursor{}, fmt.Errorf("before %q: not a page position", s)
	}
	return store.Cursor{At: time.Unix(0, n).UTC(), ID: i}, nil
}

// pageOf cuts rows (read with a limit of size+1) to one page and returns
// the link to the next page, "" when this is the last.
func pageOf[T any](r *http.Request, rows []T, size int, key func(T) (time.Time, int64)) ([]T, string) {
	if len(rows) <= size {
		return rows, ""
	}
	rows = rows[:size]
	at, id := key(rows[size-1])
	q := r.URL.Query()
	q.Set("before", formatCursor(at, id))
	q.Del("msg")
	return rows, "?" + q.Encode()
}

type syncRunsData struct {
	Filters  filters
	Runs     []store.SyncRun
	Next     string
	Entities []string
	Triggers []string
}

var (
	entityNames  = []string{"tickets", "contacts", "companies", "timeEntries", "notes", "members", "picklists"}
	triggerNames = []string{store.TriggerBackfill, store.TriggerPoll, store.TriggerCallback, store.TriggerManual}
)

func (h *Handler) syncRuns(r *http.Request) (string, any, error) {
	a, err := h.account()
	if err != nil {
		return "", nil, err
	}
	f := readFilters(r, h.now())
	d := syncRunsData{Filters: f, Entities: entityNames, Triggers: triggerNames}
	if f.Problem != "" {
		return "Sync runs", d, nil
	}
	runs, err := a.Store.SyncRuns(r.Context(), a.Scope, store.SyncRunFilter{Entity: helpdesk.Entity(f.Entity),
		Trigger: f.Trigger, Since: f.since, FailedOnly: f.Result == "failed", TicketID: f.Ticket,
		Before: f.before, Limit: h.o.PageSize + 1})
	if err != nil {
		return "", nil, fmt.Errorf("sync runs: %w", err)
	}
	d.Runs, d.Next = pageOf(r, runs, h.o.PageSize, func(x store.SyncRun) (time.Time, int64) { return x.StartedAt, x.ID })
	return "Sync runs", d, nil
}

// callbackRow is a callback-log row as shown: the payload with the
// callback secret redacted.
type callbackRow struct {
	store.CallbackRecord
	Payload string
}

type callbackLogData struct {
	Filters  filters
	Rows     []callbackRow
	Next     string
	Results  []string
	Entities []string
}

// callbackEntities are the entities callback events name.
var callbackEntities = []string{"ticket", "note", "contact", "company", "timeEntry"}

var callbackResults = []string{store.CallbackAccepted, store.CallbackProcessed, store.CallbackRejected,
	store.CallbackDuplicate, store.CallbackFailed}

func (h *Handler) callbackLog(r *http.Request) (string, any, error) {
	a, err := h.account()
	if err != nil {
		return "", nil, err
	}
	f := readFilters(r, h.now())
	d := callbackLogData{Filters: f, Results: callbackResults, Entities: callbackEntities}
	if f.Problem != "" {
		return "Callback log", d, nil
	}
	cf := store.CallbackFilter{ExternalID: f.Ticket, Entity: f.Entity, Since: f.since, Before: f.before, Limit: h.o.PageSize + 1}
	if f.Result == "failed" {
		cf.FailedOnly = true
	} else {
		cf.Result = f.Result
	}
	recs, err := a.Store.Callbacks(r.Context(), a.Scope, cf)
	if err != nil {
		return "", nil, fmt.Errorf("callback log: %w", err)
	}
	recs, d.Next = pageOf(r, recs, h.o.PageSize, func(x store.CallbackRecord) (time.Time, int64) { return x.ReceivedAt, x.ID })
	d.Rows = callbackRows(a, recs)
	return "Callback log", d, nil
}

func callbackRows(a *account.Account, recs []store.CallbackRecord) []callbackRow {
	out := make([]callbackRow, len(recs))
	for i, rec := range recs {
		p := ""
		if len(rec.Payload) > 0 {
			p = redactSecret(prettyJSON(rec.Payload), a.CallbackSecret)
		}
		rec.Payload = nil
		out[i] = callbackRow{CallbackRecord: rec, Payload: p}
	}
	return out
}

// redactSecret hides the callback secret wherever a payload echoes it
// (PSAs that send the registered token back in the body).
func redactSecret(s string, secret helpdesk.Secret) string {
	if v := secret.Reveal(); len(v) >= 4 {
		s = strings.ReplaceAll(s, v, "<secret>")
	}
	return s
}

// writeRow is an outbox item as shown.
type writeRow struct {
	store.OutboxItem
	Payload string
}

type writesData struct {
	Filters filters
	Stats   store.OutboxStats
	Rows    []writeRow
	Next    string
	States  []string
}

func (h *Handler) writes(r *http.Request) (string, any, error) {
	a, err := h.account()
	if err != nil {
		return "", nil, err
	}
	f := readFilters(r, h.now())
	d := writesData{Filters: f, States: []string{store.OutboxPending, store.OutboxInFlight, store.OutboxDone, store.OutboxDead}}
	if d.Stats, err = a.Store.OutboxStats(r.Context(), a.Scope); err != nil {
		return "", nil, fmt.Errorf("outbox backlog: %w", err)
	}
	if f.Problem != "" {
		return "Writes", d, nil
	}
	items, err := a.Store.OutboxItems(r.Context(), a.Scope, store.OutboxFilter{State: f.State, Kind: f.Kind,
		TicketID: f.Ticket, Before: f.before, Limit: h.o.PageSize + 1})
	if err != nil {
		return "", nil, fmt.Errorf("write-back log: %w", err)
	}
	items, d.Next = pageOf(r, items, h.o.PageSize, func(x store.OutboxItem) (time.Time, int64) { return x.CreatedAt, x.ID })
	d.Rows = writeRows(items)
	return "Writes", d, nil
}

func writeRows(items []store.OutboxItem) []writeRow {
	out := make([]writeRow, len(items))
	for i, it := range items {
		p := prettyJSON(it.Payload)
		it.Payload = nil
		out[i] = writeRow{OutboxItem: it, Payload: p}
	}
	return out
}

// ticketLimit bounds each trail on the ticket page; the full trail is a
// link away.
const ticketLimit = 20

type ticketData struct {
	Query     string // what was asked for: an API id or a display number
	ID        string // the external ID the trails are keyed by
	Ticket    *helpdesk.Ticket
	Raw       string
	Runs      []store.SyncRun
	Callbacks []callbackRow
	Writes    []writeRow
	// Notes are the ticket's stored notes, oldest first.
	Notes   []store.AttributedNote
	Escaped string // ID, escaped for links
}

// findTicket sends the overview's "find a ticket" form to the ticket page.
func (h *Handler) findTicket(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimSpace(r.URL.Query().Get("id"))
	if id == "" {
		http.Redirect(w, r, h.o.Base+"/", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, h.o.Base+"/tickets/"+url.PathEscape(id), http.StatusSeeOther)
}

func (h *Handler) ticket(r *http.Request) (string, any, error) {
	a, err := h.account()
	if err != nil {
		return "", nil, err
	}
	ctx := r.Context()
	q := r.PathValue("id")
	d := ticketData{Query: q, ID: q}
	t, err := store.LookupTicket(ctx, a.Store, a.Scope, q)
	switch {
	case err == nil:
		d.Ticket, d.ID = &t, t.ExternalID
		d.Raw = prettyJSON(t.Raw)
	case !errors.Is(err, store.ErrNotFound):
		return "", nil, err
	}
	d.Escaped = url.PathEscape(d.ID)
	if d.Runs, err = a.Store.SyncRuns(ctx, a.Scope, store.SyncRunFilter{TicketID: d.ID, Limit: ticketLimit}); err != nil {
		return "", nil, fmt.Errorf("sync runs: %w", err)
	}
	recs, err := a.Store.Callbacks(ctx, a.Scope, store.CallbackFilter{ExternalID: d.ID, Limit: ticketLimit})
	if err != nil {
		return "", nil, fmt.Errorf("callbacks: %w", err)
	}
	d.Callbacks = callbackRows(a, recs)
	items, err := a.Store.OutboxItems(ctx, a.Scope, store.OutboxFilter{TicketID: d.ID, Limit: ticketLimit})
	if err != nil {
		return "", nil, fmt.Errorf("writes: %w", err)
	}
	d.Writes = writeRows(items)
	if d.Notes, err = store.TicketNotes(ctx, a.Store, a.Scope, d.ID); err != nil {
		return "", nil, fmt.Errorf("notes: %w", err)
	}
	title := "Ticket " + q
	if d.Ticket == nil {
		return title, d, notFound{"ticket " + q}
	}
	return title, d, nil
}

func (h *Handler) syncTicket(r *http.Request) (string, string, error) {
	q := r.PathValue("id")
	back := h.o.Base + "/tickets/" + url.PathEscape(q)
	a, err := h.account()
	if err != nil {
		return back, "", err
	}
	id := q
	if t, err := store.LookupTicket(r.Context(), a.Store, a.Scope, q); err == nil {
		id = t.ExternalID
	} else if t, err := helpdesk.GetTicketByIDOrNumber(r.Context(), a.Provider, q); err == nil {
		id = t.ExternalID // the number agents see, of a ticket Horizon lacks
	}
	run, err := a.Syncer.SyncTicket(r.Context(), id, store.TriggerManual)
	if err != nil {
		return back, "", fmt.Errorf("sync ticket %s: %w", id, err)
	}
	if run.Created+run.Updated+run.Unchanged == 0 {
		return back, fmt.Sprintf("Neither the PSA nor Horizon has a ticket %s.", id), nil
	}
	return back, fmt.Sprintf("Synced ticket %s from the PSA: %d created, %d updated, %d unchanged.", id, run.Created, run.Updated, run.Unchanged), nil
}
