package zohodesk

import (
	"cmp"
	"net/http"
	"strconv"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// searchParams are the documented /tickets/search parameters. Those the
// emulator filters on are implemented; the others answer 422 saying so,
// rather than being ignored.
var searchParams = []string{"_all", "id", "ticketNumber", "subject", "description", "status", "priority",
	"category", "channel", "departmentId", "assigneeId", "contactId", "contactName", "accountId", "accountName",
	"productId", "productName", "tag", "createdTimeRange", "modifiedTimeRange", "dueDateRange",
	"customerResponseTimeRange", "from", "limit", "sortBy"}

var searchImplemented = map[string]bool{"id": true, "ticketNumber": true, "status": true, "priority": true, "departmentId": true,
	"assigneeId": true, "contactId": true, "accountId": true, "createdTimeRange": true, "modifiedTimeRange": true,
	"from": true, "limit": true, "sortBy": true}

// handleTicketSearch serves GET /tickets/search.
func (e *Emulator) handleTicketSearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if ae := checkParams(q, searchParams...); ae != nil {
		writeAPIError(w, ae)
		return
	}
	for k := range q {
		if k != "orgId" && !searchImplemented[k] {
			writeAPIError(w, unprocessable("The sandbox does not implement search field '"+k+"'."))
			return
		}
	}
	from, limit, ae := paging(q, 100)
	if ae != nil {
		writeAPIError(w, ae)
		return
	}
	l := e.lookups()
	filter, ae := ticketFilter(q, l)
	if ae != nil {
		writeAPIError(w, ae)
		return
	}
	key, desc, ae := sortParam(q, "relevance", "relevance", "modifiedTime", "createdTime", "customerResponseTime")
	if ae != nil {
		writeAPIError(w, ae)
		return
	}
	page, total := e.world.QueryTickets(sandbox.TicketQuery{Filter: filter, Compare: ticketOrder(key, desc), Offset: from, Limit: limit})
	data := make([]map[string]any, len(page))
	for i, t := range page {
		data[i] = e.renderTicket(t, l)
		if t.ID == e.opt.MalformedTicket {
			data[i]["subject"] = 12345 // a field of the wrong type
		}
		if t.ID == e.opt.OversizedTicket {
			data[i]["description"] = strings.Repeat("x", cmp.Or(e.opt.OversizedBytes, 2<<20))
		}
	}
	writeList(w, data, total, true)
}

func ticketOrder(key string, desc bool) func(a, b *sandbox.Ticket) int {
	return func(a, b *sandbox.Ticket) int {
		c := 0
		switch key {
		case "modifiedTime":
			c = a.Updated.Compare(b.Updated)
		case "createdTime", "customerResponseTime":
			c = a.Created.Compare(b.Created)
		}
		if c == 0 {
			c = cmp.Compare(a.ID, b.ID)
		}
		if desc {
			return -c
		}
		return c
	}
}

// ticketFilter builds the search filter from the implemented fields.
func ticketFilter(q map[string][]string, l *lookups) (func(*sandbox.Ticket) bool, *apiError) {
	vals := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	mod, ae := rangeParam(q, "modifiedTimeRange")
	if ae != nil {
		return nil, ae
	}
	created, ae := rangeParam(q, "createdTimeRange")
	if ae != nil {
		return nil, ae
	}
	ids := map[string]map[int64]bool{}
	for _, k := range []string{"id", "departmentId", "assigneeId", "contactId", "accountId"} {
		set, ae := idSet(k, vals(k))
		if ae != nil {
			return nil, ae
		}
		ids[k] = set
	}
	statuses, prios := csvSet(vals("status")), csvSet(vals("priority"))
	number := vals("ticketNumber") // as rendered: the world's ticket ID
	return func(t *sandbox.Ticket) bool {
		st := l.statuses[t.StatusID]
		return mod.has(t.Updated) && created.has(t.Created) && (number == "" || number == strconv.FormatInt(t.ID, 10)) &&
			inSet(ids["id"], t.ID) && inSet(ids["departmentId"], t.QueueID) && inSet(ids["assigneeId"], t.AssigneeID) &&
			inSet(ids["contactId"], t.ContactID) && inSet(ids["accountId"], l.contacts[t.ContactID].CompanyID) &&
			statusMatch(statuses, st) && (prios == nil || prios[strings.ToLower(l.prios[t.PriorityID])])
	}, nil
}

func idSet(field, v string) (map[int64]bool, *apiError) {
	if v == "" {
		return nil, nil
	}
	set := map[int64]bool{}
	for _, s := range strings.Split(v, ",") {
		id, ok := parseWireID(strings.TrimSpace(s))
		if !ok {
			return nil, unprocessable("The value passed for field '" + field + "' is invalid.")
		}
		set[id] = true
	}
	return set, nil
}

func inSet(set map[int64]bool, id int64) bool { return set == nil || set[id] }

func csvSet(v string) map[string]bool {
	if v == "" {
		return nil
	}
	set := map[string]bool{}
	for _, s := range strings.Split(v, ",") {
		set[strings.ToLower(strings.TrimSpace(s))] = true
	}
	return set
}

// statusMatch matches status names and the ${OPEN}, ${ONHOLD}, ${CLOSED}
// status-type macros.
func statusMatch(set map[string]bool, st sandbox.Status) bool {
	if set == nil {
		return true
	}
	macro := "${" + strings.ToLower(strings.ReplaceAll(statusType(st), " ", "")) + "}"
	return set[strings.ToLower(st.Name)] || set[macro]
}

// handleTicket serves GET and PATCH /tickets/{id}.
func (e *Emulator) handleTicket(w http.ResponseWriter, r *http.Request, id int64) {
	switch r.Method {
	case http.MethodGet:
		if ae := checkParams(r.URL.Query(), "include"); ae != nil {
			writeAPIError(w, ae)
			return
		}
		t, ok := e.world.Ticket(id)
		if !ok || t.Deleted {
			writeAPIError(w, notFound())
			return
		}
		writeJSON(w, http.StatusOK, e.renderTicket(t, e.lookups()))
	case http.MethodPatch:
		e.patchTicket(w, r, id)
	default:
		methodNotAllowed(w)
	}
}

func methodNotAllowed(w http.ResponseWriter) {
	writeError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "The requested method is not allowed on this URL.")
}
