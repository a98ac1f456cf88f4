package autotask

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// ruleError is a business-rule refusal: Autotask answers those with 500
// and an error body [K].
type ruleError string

// Error implements error.
func (r ruleError) Error() string { return string(r) }

func rulef(format string, a ...any) error { return ruleError(fmt.Sprintf(format, a...)) }

// writeFailure answers a failed write: business rules 500, malformed
// bodies 400.
func writeFailure(w http.ResponseWriter, err error) {
	var re ruleError
	if errors.As(err, &re) {
		writeErrors(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeErrors(w, http.StatusBadRequest, err.Error())
}

// fields is a decoded write body: canonical field name → typed value (nil
// for JSON null).
type fields map[string]any

func (f fields) has(name string) bool { _, ok := f[name]; return ok }

func (f fields) int(name string) int64 { v, _ := f[name].(int64); return v }

func (f fields) str(name string) string { v, _ := f[name].(string); return v }

// decodeWrite reads a create or update body against a schema: property
// names are matched case-insensitively [K]; unknown properties are
// refused unless AcceptUnknownFields; read-only ones are ignored (id is
// kept for PATCH); values must have the field's type; strings respect
// the field's length.
func (e *Emulator) decodeWrite(r *http.Request, ent *entity) (fields, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, badQuery("Unreadable request body.")
	}
	keys, err := objectKeys(body)
	if err != nil {
		return nil, badQuery("The request body is not a JSON object.")
	}
	out := fields{}
	for k, raw := range keys {
		f, ok := ent.field(k)
		switch {
		case !ok && e.set.AcceptUnknownFields:
			continue
		case !ok:
			return nil, badf("Unknown field '%s' on entity %s.", k, ent.name)
		case f.readOnly && f.name != "id":
			continue
		}
		if err := out.set(f, raw); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (out fields) set(f field, raw json.RawMessage) error {
	if isNullRaw(raw) {
		out[f.name] = nil
		return nil
	}
	v, err := typedValue(f, raw)
	if err != nil {
		return err
	}
	if s, ok := v.(string); ok && f.length > 0 && len([]rune(s)) > f.length {
		return badf("Field '%s' exceeds its maximum length of %d.", f.name, f.length)
	}
	out[f.name] = v
	return nil
}

// missing returns the first required field of ent that f lacks.
func (f fields) missing(ent *entity) error {
	for _, fd := range ent.fields {
		if fd.required && f[fd.name] == nil {
			return rulef("Missing required field '%s'.", fd.name)
		}
	}
	return nil
}

// createTicket answers POST /Tickets with {"itemId":N} [K].
func (e *Emulator) createTicket(w http.ResponseWriter, r *http.Request) {
	by, err := e.actor(r)
	if err != nil {
		writeFailure(w, err)
		return
	}
	f, err := e.decodeWrite(r, ticketsEntity)
	if err == nil {
		err = f.missing(ticketsEntity)
	}
	if err != nil {
		writeFailure(w, err)
		return
	}
	pk := e.picks()
	t := sandbox.Ticket{}
	if qs := e.world.Queues(); len(qs) > 0 {
		t.QueueID = qs[0].ID // the default queue when none is given
	}
	if err := e.applyTicket(&t, f, pk, e.refs()); err != nil {
		writeFailure(w, err)
		return
	}
	t = e.world.CreateTicket(t, by)
	e.setExtra(t.ID, f, true)
	writeJSON(w, http.StatusOK, map[string]any{"itemId": t.ID})
}

// patchTicket answers PATCH /Tickets: the id in the body, only the given
// fields change [D][K].
func (e *Emulator) patchTicket(w http.ResponseWriter, r *http.Request) {
	by, err := e.actor(r)
	if err != nil {
		writeFailure(w, err)
		return
	}
	f, err := e.decodeWrite(r, ticketsEntity)
	if err == nil && f.int("id") == 0 {
		err = badQuery("PATCH requires the id of the entity in the body.")
	}
	if err != nil {
		writeFailure(w, err)
		return
	}
	id, pk, rf := f.int("id"), e.picks(), e.refs()
	_, err = e.world.UpdateTicket(id, by, func(t *sandbox.Ticket) error { return e.applyTicket(t, f, pk, rf) })
	if errors.Is(err, sandbox.ErrNoSuchRecord) {
		err = rulef("Ticket %d does not exist.", id)
	}
	if err != nil {
		writeFailure(w, err)
		return
	}
	e.setExtra(id, f, false)
	writeJSON(w, http.StatusOK, map[string]any{"itemId": id})
}

// applyTicket applies the given fields to t, checking references and
// picklist values; statuses and types are mapped into t's queue.
func (e *Emulator) applyTicket(t *sandbox.Ticket, f fields, pk *picks, rf refs) error {
	if err := e.applyRefs(t, f, pk, rf); err != nil {
		return err
	}
	if f.has("title") {
		if t.Summary = f.str("title"); t.Summary == "" {
			return rulef("Missing required field 'title'.")
		}
	}
	if f.has("description") {
		t.Description = f.str("description")
	}
	if f.has("externalID") {
		t.ExternalRef = f.str("externalID")
	}
	if f.has("status") || f.has("queueID") {
		if err := e.mapScoped(&t.StatusID, pk.status, t.QueueID, f, "status", pk.status.fromWorld[t.StatusID]); err != nil {
			return err
		}
	}
	if f.has("ticketType") || f.has("queueID") {
		return e.mapScoped(&t.TypeID, pk.types, t.QueueID, f, "ticketType", pk.types.fromWorld[t.TypeID])
	}
	return nil
}

// mapScoped sets a World status or type ID from the picklist value given
// (or the current one, when only the queue changed).
func (e *Emulator) mapScoped(dst *int64, s scoped, queue int64, f fields, name string, current int64) error {
	v := current
	if f.has(name) {
		v = f.int(name)
	}
	if v == 0 {
		*dst = 0
		return nil
	}
	id, ok := s.worldID(queue, v)
	if !ok {
		return rulef("Value %d is not a valid %s for queue %d.", v, name, queue)
	}
	*dst = id
	return nil
}

func (e *Emulator) applyRefs(t *sandbox.Ticket, f fields, pk *picks, rf refs) error {
	if f.has("queueID") {
		if q := f.int("queueID"); !pk.queueOf[q] {
			return rulef("Value %d is not a valid queueID.", q)
		}
		t.QueueID = f.int("queueID")
	}
	if f.has("priority") {
		if !pk.valid("priority", f.int("priority")) {
			return rulef("Value %d is not a valid priority.", f.int("priority"))
		}
		t.PriorityID = f.int("priority")
	}
	if f.has("companyID") {
		if !rf.companies[f.int("companyID")] {
			return rulef("Company %d does not exist.", f.int("companyID"))
		}
		t.CompanyID = f.int("companyID")
	}
	if f.has("contactID") {
		if err := rf.checkContact(f.int("contactID"), t.CompanyID); err != nil {
			return err
		}
		t.ContactID = f.int("contactID")
	}
	return e.applyAssignee(t, f, rf)
}

// applyAssignee enforces Autotask's coupling of assignedResourceID and
// assignedResourceRoleID [K].
func (e *Emulator) applyAssignee(t *sandbox.Ticket, f fields, rf refs) error {
	if !f.has("assignedResourceID") {
		return nil
	}
	res := f.int("assignedResourceID")
	if res == 0 {
		t.AssigneeID = 0
		return nil
	}
	if !rf.active[res] {
		return rulef("Resource %d does not exist or is inactive.", res)
	}
	role := f.int("assignedResourceRoleID")
	if role == 0 && !e.set.AssignWithoutRole {
		return rulef("Data violation: assignedResourceID and assignedResourceRoleID must be set together.")
	}
	if role != 0 && role != roleHelpDesk {
		return rulef("Resource %d does not have role %d.", res, role)
	}
	t.AssigneeID = res
	return nil
}

// setExtra records the ticket fields the World does not hold.
func (e *Emulator) setExtra(id int64, f fields, create bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.extra[id]
	if !ok && !create {
		t, _ := e.world.Ticket(id)
		x = ticketExtra{due: t.Created.Add(72 * time.Hour), role: roleHelpDesk}
	}
	if d, ok := f["dueDateTime"].(time.Time); ok {
		x.due = d
	}
	if role := f.int("assignedResourceRoleID"); role != 0 || x.role == 0 {
		x.role = max(role, roleHelpDesk)
	}
	e.extra[id] = x
}

// refs is a snapshot of the records writes may reference, taken before
// a World edit (World edits must not read the World).
type refs struct {
	companies map[int64]bool
	contacts  map[int64]int64 // contact → company
	active    map[int64]bool  // active resources
}

func (e *Emulator) refs() refs {
	r := refs{companies: map[int64]bool{}, contacts: map[int64]int64{}, active: map[int64]bool{}}
	for _, c := range e.world.Companies() {
		r.companies[c.ID] = true
	}
	for _, c := range e.world.Contacts() {
		r.contacts[c.ID] = c.CompanyID
	}
	for _, m := range e.world.Members() {
		r.active[m.ID] = m.Active
	}
	return r
}

func (r refs) checkContact(id, company int64) error {
	if id == 0 {
		return nil
	}
	co, ok := r.contacts[id]
	switch {
	case !ok:
		return rulef("Contact %d does not exist.", id)
	case co != company:
		return rulef("Contact %d does not belong to company %d.", id, company)
	}
	return nil
}

// ticketNotes answers POST /Tickets/{id}/Notes (create [D][K]) and GET
// (the ticket's notes).
func (e *Emulator) ticketNotes(w http.ResponseWriter, r *http.Request, idText string) {
	id, err := strconv.ParseInt(idText, 10, 64)
	if t, ok := e.world.Ticket(id); err != nil || !ok || t.Deleted {
		writeFailure(w, rulef("Ticket %s does not exist.", idText))
		return
	}
	switch r.Method {
	case http.MethodGet:
		var items []map[string]any
		for _, n := range e.world.Notes(id) {
			items = append(items, renderNote(n).wire())
		}
		writeJSON(w, http.StatusOK, map[string]any{"items": items, "pageDetails": map[string]any{
			"count": len(items), "requestCount": maxRecords, "prevPageUrl": nil, "nextPageUrl": nil}})
	case http.MethodPost:
		e.createNote(w, r, id)
	default:
		methodNotAllowed(w, r)
	}
}

func (e *Emulator) createNote(w http.ResponseWriter, r *http.Request, ticket int64) {
	by, err := e.actor(r)
	if err != nil {
		writeFailure(w, err)
		return
	}
	f, err := e.decodeWrite(r, notesEntity)
	if err == nil {
		err = f.missing(notesEntity)
	}
	if err == nil && f.has("ticketID") && f.int("ticketID") != ticket {
		err = rulef("ticketID %d does not match the parent ticket %d.", f.int("ticketID"), ticket)
	}
	pk := e.picks()
	if err == nil && (!pk.valid("noteType", f.int("noteType")) || !pk.valid("publish", f.int("publish"))) {
		err = rulef("Invalid noteType or publish value.")
	}
	if err != nil {
		writeFailure(w, err)
		return
	}
	n, err := e.world.AddNote(sandbox.Note{TicketID: ticket, Text: f.str("description"),
		Internal: publishInternal(f.int("publish"))}, by)
	if err != nil {
		writeFailure(w, rulef("Ticket %d does not exist.", ticket))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"itemId": n.ID})
}

// createTimeEntry answers POST /TimeEntries [D]: hoursWorked must be
// above 0 and at most 24 [D].
func (e *Emulator) createTimeEntry(w http.ResponseWriter, r *http.Request) {
	by, err := e.actor(r)
	if err != nil {
		writeFailure(w, err)
		return
	}
	f, err := e.decodeWrite(r, timeEntity)
	if err == nil {
		err = f.missing(timeEntity)
	}
	if err == nil {
		err = e.checkTimeEntry(f)
	}
	if err != nil {
		writeFailure(w, err)
		return
	}
	start, _ := f["startDateTime"].(time.Time)
	if start.IsZero() {
		start, _ = f["dateWorked"].(time.Time)
	}
	te, err := e.world.AddTimeEntry(sandbox.TimeEntry{TicketID: f.int("ticketID"), MemberID: f.int("resourceID"),
		Start: start, Hours: hours(f), Notes: f.str("summaryNotes"), Billable: f["isNonBillable"] != true}, by)
	if err != nil {
		writeFailure(w, rulef("Ticket %d does not exist.", f.int("ticketID")))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"itemId": te.ID})
}

func (e *Emulator) checkTimeEntry(f fields) error {
	switch h := hours(f); {
	case f.int("ticketID") == 0:
		return rulef("A time entry needs a ticketID or a taskID.")
	case h <= 0 || h > 24:
		return rulef("hoursWorked must be greater than 0 and at most 24.")
	case !e.refs().active[f.int("resourceID")]:
		return rulef("Resource %d does not exist or is inactive.", f.int("resourceID"))
	case f.int("roleID") == 0 && e.set.RequireTimeEntryRole:
		return rulef("Missing required field 'roleID'.")
	case f.int("roleID") != 0 && f.int("roleID") != roleHelpDesk:
		return rulef("Resource does not have role %d.", f.int("roleID"))
	case f["dateWorked"] == nil && f["startDateTime"] == nil:
		return rulef("Missing required field 'dateWorked'.")
	}
	return nil
}

// hours is hoursWorked, or the span of startDateTime..endDateTime.
func hours(f fields) float64 {
	if h, ok := f["hoursWorked"].(float64); ok {
		return h
	}
	s, _ := f["startDateTime"].(time.Time)
	e, _ := f["endDateTime"].(time.Time)
	if s.IsZero() || e.IsZero() {
		return 0
	}
	return e.Sub(s).Hours()
}
