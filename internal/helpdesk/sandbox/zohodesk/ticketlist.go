package zohodesk

import (
	"net/http"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// listParams are the documented GET /tickets parameters [C-off R2].
var listParams = []string{"from", "limit", "departmentId", "assignee", "status", "channel", "teamIds", "dueDate",
	"closedTime", "receivedInDays", "sortBy", "include", "viewId"}

// listImplemented are those the emulator acts on; the others answer 422
// rather than being ignored.
var listImplemented = map[string]bool{"from": true, "limit": true, "departmentId": true, "sortBy": true, "include": true}

// handleTicketList serves GET /tickets: unlike search it is not behind an
// index (no lag), and like Zoho's list view it leaves out description,
// modifiedTime and cf [3P R8], so a client must read a ticket to see them.
func (e *Emulator) handleTicketList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if ae := checkParams(q, listParams...); ae != nil {
		writeAPIError(w, ae)
		return
	}
	for k := range q {
		if k != "orgId" && !listImplemented[k] {
			writeAPIError(w, unprocessable("The sandbox does not implement list parameter '"+k+"'."))
			return
		}
	}
	from, limit, ae := paging(q, 100)
	if ae != nil {
		writeAPIError(w, ae)
		return
	}
	key, desc, ae := sortParam(q, "createdTime", "createdTime")
	if ae != nil {
		writeAPIError(w, ae)
		return
	}
	l := e.lookups()
	var filter func(*sandbox.Ticket) bool
	if v := q.Get("departmentId"); v != "" {
		dep, ok := parseWireID(v)
		if !ok {
			writeAPIError(w, invalidData("departmentId", "invalid", "departmentId must be a department id"))
			return
		}
		filter = func(t *sandbox.Ticket) bool { return t.QueueID == dep }
	}
	page, _ := e.world.QueryTickets(sandbox.TicketQuery{Filter: filter, Compare: ticketOrder(key, desc), Offset: from, Limit: limit})
	data := make([]map[string]any, len(page))
	for i, t := range page {
		m := e.renderTicket(t, l)
		delete(m, "description")
		delete(m, "modifiedTime")
		delete(m, "cf")
		data[i] = m
	}
	writeList(w, data, 0, false)
}
