package connectwise

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// sourceSkipCallback tags World edits made with skipCallback=true.
const sourceSkipCallback = "skipCallback"

// ticketView is a ticket with the lookups its fields need.
type ticketView struct {
	t sandbox.Ticket
	s *snapshot
}

var ticketFields = fieldSet[ticketView]{
	"id":                 {kNumber, func(v ticketView) val { return num(v.t.ID) }},
	"summary":            {kString, func(v ticketView) val { return str(v.t.Summary) }},
	"recordtype":         {kString, func(v ticketView) val { return str("ServiceTicket") }},
	"board/id":           {kNumber, func(v ticketView) val { return refNum(v.t.QueueID) }},
	"board/name":         {kString, func(v ticketView) val { q, ok := v.s.queues[v.t.QueueID]; return refStr(ok, q.Name) }},
	"status/id":          {kNumber, func(v ticketView) val { return refNum(v.t.StatusID) }},
	"status/name":        {kString, func(v ticketView) val { st, ok := v.s.statuses[v.t.StatusID]; return refStr(ok, st.Name) }},
	"company/id":         {kNumber, func(v ticketView) val { return refNum(v.t.CompanyID) }},
	"company/identifier": {kString, func(v ticketView) val { c, ok := v.s.companies[v.t.CompanyID]; return refStr(ok, c.Identifier) }},
	"company/name":       {kString, func(v ticketView) val { c, ok := v.s.companies[v.t.CompanyID]; return refStr(ok, c.Name) }},
	"contact/id":         {kNumber, func(v ticketView) val { return refNum(v.t.ContactID) }},
	"priority/id":        {kNumber, func(v ticketView) val { return refNum(v.t.PriorityID) }},
	"priority/name":      {kString, func(v ticketView) val { p, ok := v.s.prios[v.t.PriorityID]; return refStr(ok, p.Name) }},
	"type/id":            {kNumber, func(v ticketView) val { return refNum(v.t.TypeID) }},
	"owner/id":           {kNumber, func(v ticketView) val { return refNum(v.t.AssigneeID) }},
	"owner/identifier":   {kString, func(v ticketView) val { m, ok := v.s.members[v.t.AssigneeID]; return refStr(ok, m.Identifier) }},
	"closedflag":         {kBool, func(v ticketView) val { return boolean(v.s.statuses[v.t.StatusID].Closed) }},
	"lastupdated":        {kTime, func(v ticketView) val { return tm(v.t.Updated) }},
	"_info/lastupdated":  {kTime, func(v ticketView) val { return tm(v.t.Updated) }},
	"dateentered":        {kTime, func(v ticketView) val { return tm(v.t.Created) }},
	"_info/dateentered":  {kTime, func(v ticketView) val { return tm(v.t.Created) }},
	"externalxref":       {kString, func(v ticketView) val { return str(v.t.ExternalRef) }},
}

func (e *Emulator) ticketViews() []ticketView {
	s := e.snap()
	all, _ := e.world.QueryTickets(sandbox.TicketQuery{})
	out := make([]ticketView, len(all))
	for i, t := range all {
		out[i] = ticketView{t, s}
	}
	return out
}

func (e *Emulator) listTickets(w http.ResponseWriter, r *http.Request, _ []int64) {
	serveList(e, w, r, e.ticketViews(), lister[ticketView]{fields: ticketFields,
		id: func(v ticketView) int64 { return v.t.ID }, render: func(v ticketView) any { return v.s.ticket(v.t) }})
}

func (e *Emulator) countTickets(w http.ResponseWriter, r *http.Request, _ []int64) {
	cond, _ := queryParam(r.URL.Query(), "conditions")
	n, err := parseConditions(cond)
	pred, cerr := compile(n, ticketFields)
	if err = errors.Join(err, cerr); err != nil {
		writeError(w, http.StatusBadRequest, "InvalidObject", err.Error())
		return
	}
	count := 0
	for _, v := range e.ticketViews() {
		if pred(v) {
			count++
		}
	}
	writeJSON(w, http.StatusOK, map[string]int{"count": count})
}

// liveTicket returns a ticket that exists and is not deleted, answering
// 404 itself otherwise.
func (e *Emulator) liveTicket(w http.ResponseWriter, id int64) (sandbox.Ticket, bool) {
	t, ok := e.world.Ticket(id)
	if !ok || t.Deleted {
		writeError(w, http.StatusNotFound, "NotFound", fmt.Sprintf("Ticket with id %d was not found.", id))
		return sandbox.Ticket{}, false
	}
	return t, true
}

func (e *Emulator) getTicket(w http.ResponseWriter, r *http.Request, ids []int64) {
	if t, ok := e.liveTicket(w, ids[0]); ok {
		writeJSON(w, http.StatusOK, e.snap().ticket(t))
	}
}

// actor is the API member the credentials belong to, tagged with source.
func (e *Emulator) actor(source string) sandbox.Actor {
	return sandbox.API(e.world.APIUser().ID, source)
}

var ticketCreateFields = setOf("summary", "recordType", "board", "status", "company", "contact", "type",
	"priority", "owner", "initialDescription", "skipCallback", "externalXRef")

func (e *Emulator) createTicket(w http.ResponseWriter, r *http.Request, _ []int64) {
	m, berr := e.readObject(r, ticketCreateFields)
	if berr == nil {
		var t sandbox.Ticket
		var skip bool
		if t, skip, berr = e.newTicket(m); berr == nil {
			t = e.world.CreateTicket(t, e.actor(skipSource(skip)))
			s := e.snap()
			w.Header().Set("Location", s.base+fmt.Sprintf("/service/tickets/%d", t.ID))
			writeJSON(w, http.StatusCreated, s.ticket(t))
			return
		}
	}
	berr.write(w, "ticket")
}

func skipSource(skip bool) string {
	if skip {
		return sourceSkipCallback
	}
	return ""
}

// newTicket validates a create body: summary (≤ 100) and company are
// required; board defaults to the first board, status and priority to the
// defaults.
func (e *Emulator) newTicket(m map[string]json.RawMessage) (sandbox.Ticket, bool, *bodyError) {
	s := e.snap()
	var t sandbox.Ticket
	var berr *bodyError
	if t.Summary, berr = stringField(m, "summary"); berr != nil {
		return t, false, berr
	}
	if strings.TrimSpace(t.Summary) == "" || len(t.Summary) > 100 {
		return t, false, &bodyError{status: 400, code: "NullValue", msg: "summary is required (at most 100 characters)", field: "summary"}
	}
	if rt, _ := stringField(m, "recordType"); rt != "" && rt != "ServiceTicket" {
		return t, false, invalidField("recordType", "the sandbox only creates ServiceTicket records")
	}
	if t.Description, berr = stringField(m, "initialDescription"); berr != nil {
		return t, false, berr
	}
	if t.ExternalRef, berr = stringField(m, "externalXRef"); berr != nil {
		return t, false, berr
	}
	if len(t.ExternalRef) > maxExternalXRef {
		return t, false, invalidField("externalXRef", "externalXRef is at most %d characters", maxExternalXRef)
	}
	if _, ok := m["company"]; !ok {
		return t, false, &bodyError{status: 400, code: "NullValue", msg: "company is required", field: "company"}
	}
	for _, f := range ticketRefFields {
		if raw, ok := m[f.name]; ok && !isNull(raw) {
			if berr = f.apply(s, &t, raw); berr != nil {
				return t, false, berr
			}
		}
	}
	berr = s.defaults(&t)
	skip, _ := boolField(m, "skipCallback")
	return t, skip, berr
}

// defaults fills board, status and priority and checks consistency.
func (s *snapshot) defaults(t *sandbox.Ticket) *bodyError {
	if t.QueueID == 0 {
		for id := range s.queues {
			if t.QueueID == 0 || id < t.QueueID {
				t.QueueID = id
			}
		}
	}
	q := s.queues[t.QueueID]
	if t.StatusID == 0 {
		t.StatusID = defaultStatus(q)
	}
	if st, ok := s.statuses[t.StatusID]; !ok || st.board != t.QueueID {
		return invalidField("status", "status %d is not a status of board %d", t.StatusID, t.QueueID)
	}
	if t.TypeID != 0 && !hasType(q, t.TypeID) {
		return invalidField("type", "type %d is not a type of board %d", t.TypeID, t.QueueID)
	}
	if t.PriorityID == 0 {
		for _, p := range s.prios {
			if p.Default {
				t.PriorityID = p.ID
			}
		}
	}
	return nil
}

func defaultStatus(q sandbox.Queue) int64 {
	for _, st := range q.Statuses {
		if st.Default {
			return st.ID
		}
	}
	if len(q.Statuses) > 0 {
		return q.Statuses[0].ID
	}
	return 0
}

func hasType(q sandbox.Queue, id int64) bool {
	for _, t := range q.Types {
		if t.ID == id {
			return true
		}
	}
	return false
}

var ticketPatchPaths = setOf("summary", "board", "status", "company", "contact", "type", "priority", "owner",
	"initialDescription", "externalXRef")

// maxExternalXRef is the length of a ticket's externalXRef [I].
const maxExternalXRef = 100

func (e *Emulator) patchTicket(w http.ResponseWriter, r *http.Request, ids []int64) {
	if _, ok := e.liveTicket(w, ids[0]); !ok {
		return
	}
	ops, berr := readPatch(r, ticketPatchPaths)
	if berr != nil {
		berr.write(w, "ticket")
		return
	}
	s := e.snap()
	t, err := e.world.UpdateTicket(ids[0], e.actor(""), func(t *sandbox.Ticket) error {
		return applyTicketPatch(s, t, ops)
	})
	var be *bodyError
	switch {
	case errors.As(err, &be):
		be.write(w, "ticket")
	case errors.Is(err, sandbox.ErrNoSuchRecord):
		writeError(w, http.StatusNotFound, "NotFound", fmt.Sprintf("Ticket with id %d was not found.", ids[0]))
	default:
		writeJSON(w, http.StatusOK, e.snap().ticket(t))
	}
}

// applyTicketPatch applies ops to t; a board change without a status
// moves the ticket to the new board's default status.
func applyTicketPatch(s *snapshot, t *sandbox.Ticket, ops []patchOp) error {
	boardBefore, statusSet := t.QueueID, false
	for _, op := range ops {
		if berr := applyTicketOp(s, t, op); berr != nil {
			return berr
		}
		statusSet = statusSet || op.Path == "status"
	}
	if t.QueueID != boardBefore && !statusSet {
		t.StatusID = defaultStatus(s.queues[t.QueueID])
	}
	if berr := s.defaults(t); berr != nil {
		return berr
	}
	return nil
}

func applyTicketOp(s *snapshot, t *sandbox.Ticket, op patchOp) *bodyError {
	switch op.Path {
	case "summary", "initialDescription", "externalXRef":
		var v string
		if op.Op == "remove" || json.Unmarshal(op.Value, &v) != nil || (op.Path == "summary" && (strings.TrimSpace(v) == "" || len(v) > 100)) ||
			(op.Path == "externalXRef" && len(v) > maxExternalXRef) {
			return invalidField(op.Path, "%s must be a string (summary: 1 to 100 characters)", op.Path)
		}
		switch op.Path {
		case "summary":
			t.Summary = v
		case "externalXRef":
			t.ExternalRef = v
		default:
			t.Description = v
		}
		return nil
	case "owner", "contact", "type":
		if op.Op == "remove" || isNull(op.Value) {
			clearRef(t, op.Path)
			return nil
		}
	case "board", "status", "company", "priority":
		if op.Op == "remove" || isNull(op.Value) {
			return invalidField(op.Path, "%s is required and cannot be removed", op.Path)
		}
	}
	for _, f := range ticketRefFields {
		if f.name == op.Path {
			return f.apply(s, t, op.Value)
		}
	}
	return invalidField(op.Path, "path %q is not supported", op.Path)
}

func clearRef(t *sandbox.Ticket, path string) {
	switch path {
	case "owner":
		t.AssigneeID = 0
	case "contact":
		t.ContactID = 0
	case "type":
		t.TypeID = 0
	}
}

func (e *Emulator) deleteTicket(w http.ResponseWriter, r *http.Request, ids []int64) {
	if _, ok := e.liveTicket(w, ids[0]); !ok {
		return
	}
	if err := e.world.DeleteTicket(ids[0], e.actor("")); err != nil {
		writeError(w, http.StatusNotFound, "NotFound", fmt.Sprintf("Ticket with id %d was not found.", ids[0]))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
