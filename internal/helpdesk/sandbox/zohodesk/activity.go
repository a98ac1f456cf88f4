package zohodesk

import (
	"cmp"
	"net/http"
	"slices"
	"unicode/utf8"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// liveTicket returns a ticket that exists and is not trashed.
func (e *Emulator) liveTicket(id int64) (sandbox.Ticket, bool) {
	t, ok := e.world.Ticket(id)
	return t, ok && !t.Deleted
}

// handleComments serves GET and POST /tickets/{id}/comments.
func (e *Emulator) handleComments(w http.ResponseWriter, r *http.Request, id int64) {
	if _, ok := e.liveTicket(id); !ok {
		writeAPIError(w, notFound())
		return
	}
	switch r.Method {
	case http.MethodGet:
		e.listComments(w, r, id)
	case http.MethodPost:
		e.addComment(w, r, id)
	default:
		methodNotAllowed(w)
	}
}

func (e *Emulator) listComments(w http.ResponseWriter, r *http.Request, id int64) {
	q := r.URL.Query()
	if ae := checkParams(q, "from", "limit", "sortBy", "include"); ae != nil {
		writeAPIError(w, ae)
		return
	}
	from, limit, ae := paging(q, 100)
	if ae != nil {
		writeAPIError(w, ae)
		return
	}
	_, desc, ae := sortParam(q, "commentedTime", "commentedTime")
	if ae != nil {
		writeAPIError(w, ae)
		return
	}
	notes := e.world.Notes(id)
	slices.SortStableFunc(notes, func(a, b sandbox.Note) int {
		c := cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
		if desc {
			return -c
		}
		return c
	})
	l := e.lookups()
	var data []map[string]any
	for _, n := range sandbox.Window(notes, from, limit) {
		data = append(data, renderComment(n, l))
	}
	writeList(w, data, 0, false)
}

func (e *Emulator) addComment(w http.ResponseWriter, r *http.Request, id int64) {
	b, ae := readBody(r, "content", "contentType", "isPublic", "attachmentIds")
	if ae != nil {
		writeAPIError(w, ae)
		return
	}
	content, ae := b.str("content")
	if ae == nil && (content == "" || utf8.RuneCountInString(content) > 32000) {
		ae = invalidData("content", "missing", "content is required and at most 32000 characters")
	}
	if ct, err := b.str("contentType"); ae == nil && (err != nil || (ct != "" && ct != "plainText" && ct != "html")) {
		ae = firstErr(err, invalidData("contentType", "invalid", "contentType must be plainText or html"))
	}
	public, present, err := b.boolean("isPublic")
	if ae == nil {
		ae = err
	}
	if ae != nil {
		writeAPIError(w, ae)
		return
	}
	if !present {
		public = e.opt.CommentsPublicByDefault
	}
	n, werr := e.world.AddNote(sandbox.Note{TicketID: id, Text: content, Internal: !public}, e.apiActor(r))
	if werr != nil {
		writeAPIError(w, notFound())
		return
	}
	writeJSON(w, http.StatusOK, renderComment(n, e.lookups()))
}

// handleTimeEntries serves GET and POST /tickets/{id}/timeEntry.
func (e *Emulator) handleTimeEntries(w http.ResponseWriter, r *http.Request, id int64) {
	t, ok := e.liveTicket(id)
	if !ok {
		writeAPIError(w, notFound())
		return
	}
	switch r.Method {
	case http.MethodGet:
		e.listTimeEntries(w, r, t)
	case http.MethodPost:
		e.addTimeEntry(w, r, t)
	default:
		methodNotAllowed(w)
	}
}

func (e *Emulator) listTimeEntries(w http.ResponseWriter, r *http.Request, t sandbox.Ticket) {
	q := r.URL.Query()
	if ae := checkParams(q, "from", "limit", "billStatus", "orderBy", "createdTimeRange", "modifiedTimeRange", "include", "module"); ae != nil {
		writeAPIError(w, ae)
		return
	}
	from, limit, ae := paging(q, 100)
	if ae != nil {
		writeAPIError(w, ae)
		return
	}
	keep, desc, ae := timeEntryFilter(q)
	if ae != nil {
		writeAPIError(w, ae)
		return
	}
	var match []sandbox.TimeEntry
	for _, te := range e.world.TimeEntries(t.ID) {
		if keep(te) {
			match = append(match, te)
		}
	}
	slices.SortStableFunc(match, func(a, b sandbox.TimeEntry) int {
		c := cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.ID, b.ID))
		if desc {
			return -c
		}
		return c
	})
	l := e.lookups()
	var data []map[string]any
	for _, te := range sandbox.Window(match, from, limit) {
		data = append(data, e.renderTimeEntry(te, t, l, q.Get("include") == "owner"))
	}
	writeList(w, data, 0, false)
}

func timeEntryFilter(q map[string][]string) (func(sandbox.TimeEntry) bool, bool, *apiError) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	mod, ae := rangeParam(q, "modifiedTimeRange")
	if ae != nil {
		return nil, false, ae
	}
	created, ae := rangeParam(q, "createdTimeRange")
	if ae != nil {
		return nil, false, ae
	}
	order, bill := get("orderBy"), get("billStatus")
	if order != "" && order != "ASC" && order != "DESC" {
		return nil, false, unprocessable("The value passed for field 'orderBy' is invalid.")
	}
	if bill != "" && bill != "billable" && bill != "nonBillable" && bill != "billed" {
		return nil, false, unprocessable("The value passed for field 'billStatus' is invalid.")
	}
	if inc := get("include"); inc != "" && inc != "owner" {
		return nil, false, unprocessable("The value passed for field 'include' is invalid.")
	}
	return func(te sandbox.TimeEntry) bool {
		return mod.has(te.Updated) && created.has(te.Created) &&
			(bill == "" || (bill == "nonBillable") != te.Billable)
	}, order == "DESC", nil
}

var timeEntryFields = []string{"executedTime", "hoursSpent", "minutesSpent", "secondsSpent", "ownerId", "isBillable",
	"description", "mode", "requestChargeType", "additionalCost", "agentCostPerHour", "fixedCost", "invoiceId",
	"billingType", "cf", "customFields", "layoutId"}

func (e *Emulator) addTimeEntry(w http.ResponseWriter, r *http.Request, t sandbox.Ticket) {
	b, ae := readBody(r, timeEntryFields...)
	var te sandbox.TimeEntry
	if ae == nil {
		te, ae = e.newTimeEntry(b, t)
	}
	if ae != nil {
		writeAPIError(w, ae)
		return
	}
	actor := e.apiActor(r)
	te, err := e.world.AddTimeEntry(te, actor)
	if err != nil {
		writeAPIError(w, notFound())
		return
	}
	if !e.opt.TimeEntryKeepsTicket {
		t, _ = e.world.UpdateTicket(t.ID, actor, func(*sandbox.Ticket) error { return nil })
	}
	writeJSON(w, http.StatusOK, e.renderTimeEntry(te, t, e.lookups(), false))
}

func (e *Emulator) newTimeEntry(b body, t sandbox.Ticket) (sandbox.TimeEntry, *apiError) {
	te := sandbox.TimeEntry{TicketID: t.ID}
	exec, ae := b.str("executedTime")
	if ae != nil || exec == "" {
		return te, firstErr(ae, invalidData("executedTime", "missing", "executedTime is required"))
	}
	start, ok := parseISO(exec)
	if !ok {
		return te, invalidData("executedTime", "invalid", "executedTime must be yyyy-MM-ddTHH:mm:ss.SSSZ")
	}
	te.Start = start
	h, ae1 := b.count("hoursSpent", 999)
	m, ae2 := b.count("minutesSpent", 59)
	s, ae3 := b.count("secondsSpent", 59)
	if ae := firstErr(firstErr(ae1, ae2), ae3); ae != nil {
		return te, ae
	}
	te.Hours = float64(h*3600+m*60+s) / 3600
	if desc, ae := b.str("description"); ae != nil || utf8.RuneCountInString(desc) > 100 {
		return te, firstErr(ae, invalidData("description", "invalid", "description exceeds 100 characters"))
	} else {
		te.Notes = desc
	}
	owner, present, ae := b.id("ownerId")
	if ae != nil {
		return te, ae
	}
	if present {
		if m, ok := e.lookups().members[owner]; !ok || !m.Active {
			return te, invalidData("ownerId", "invalid", "Agent does not exist or is not active")
		}
		te.MemberID = owner
	}
	billable, _, ae := b.boolean("isBillable")
	te.Billable = billable
	return te, ae
}
