package zohodesk

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

var createFields = []string{"subject", "departmentId", "contactId", "contact", "description", "status", "priority",
	"assigneeId", "teamId", "channel", "email", "phone", "category", "subCategory", "classification", "dueDate",
	"cf", "productId", "language", "resolution", "secondaryContacts", "customFields"}

var patchFields = []string{"contactId", "resolution", "sharedDepartments", "category", "subCategory",
	"classification", "status", "description", "cf", "customFields", "priority", "assigneeId", "departmentId",
	"subject", "dueDate", "phone", "email", "channel", "teamId", "language", "productId"}

// apiActor is the actor of an API call: the consenting user, tagged with
// the source id header.
func (e *Emulator) apiActor(r *http.Request) sandbox.Actor {
	return sandbox.API(e.world.APIUser().ID, r.Header.Get(e.opt.SourceIDHeader))
}

// handleCreateTicket serves POST /tickets.
func (e *Emulator) handleCreateTicket(w http.ResponseWriter, r *http.Request) {
	b, ae := readBody(r, createFields...)
	if ae == nil {
		var t sandbox.Ticket
		t, ae = e.newTicket(b)
		if ae == nil {
			t = e.world.CreateTicket(t, e.apiActor(r))
			writeJSON(w, http.StatusOK, e.renderTicket(t, e.lookups()))
			return
		}
	}
	writeAPIError(w, ae)
}

func (e *Emulator) newTicket(b body) (sandbox.Ticket, *apiError) {
	var t sandbox.Ticket
	subject, ae := b.str("subject")
	if ae != nil || subject == "" {
		return t, firstErr(ae, invalidData("subject", "missing", "subject is required"))
	}
	t.Summary = subject
	dep, present, ae := b.id("departmentId")
	if ae != nil || !present {
		return t, firstErr(ae, invalidData("departmentId", "missing", "departmentId is required"))
	}
	q, ok := e.lookups().queues[dep]
	if !ok {
		return t, invalidData("departmentId", "invalid", "Department does not exist")
	}
	t.QueueID = q.ID
	if ae := e.ticketContact(b, &t); ae != nil {
		return t, ae
	}
	t.StatusID, t.TypeID, t.PriorityID = defaultStatus(q), defaultType(q), e.defaultPriority()
	if ae := applyFields(b, &t, e.lookups()); ae != nil {
		return t, ae
	}
	return t, nil
}

func firstErr(a, b *apiError) *apiError {
	if a != nil {
		return a
	}
	return b
}

// ticketContact sets the contact from contactId or contact{email,...}: an
// existing contact is matched by email; the sandbox cannot create
// contacts, so an unknown one leaves the ticket without a contact.
func (e *Emulator) ticketContact(b body, t *sandbox.Ticket) *apiError {
	cid, present, ae := b.id("contactId")
	if ae != nil {
		return ae
	}
	l := e.lookups()
	if present {
		c, ok := l.contacts[cid]
		if !ok {
			return invalidData("contactId", "invalid", "Contact does not exist")
		}
		t.ContactID, t.CompanyID = c.ID, c.CompanyID
		return nil
	}
	if !b.has("contact") {
		return invalidData("contactId", "missing", "contactId or contact is required")
	}
	var c struct{ Email, LastName, FirstName, Phone string }
	if json.Unmarshal(b["contact"], &c) != nil || c.LastName == "" && c.Email == "" {
		return invalidData("contact", "invalid", "contact needs lastName or email")
	}
	for _, k := range l.contacts {
		if c.Email != "" && strings.EqualFold(k.Email, c.Email) {
			t.ContactID, t.CompanyID = k.ID, k.CompanyID
		}
	}
	return nil
}

func defaultStatus(q sandbox.Queue) int64 {
	for _, s := range q.Statuses {
		if s.Default {
			return s.ID
		}
	}
	if len(q.Statuses) > 0 {
		return q.Statuses[0].ID
	}
	return 0
}

func defaultType(q sandbox.Queue) int64 {
	for _, v := range q.Types {
		if v.Default {
			return v.ID
		}
	}
	return 0
}

func (e *Emulator) defaultPriority() int64 {
	for _, p := range e.world.Priorities() {
		if p.Default {
			return p.ID
		}
	}
	return 0
}

// applyFields applies the writable fields the emulator models; other
// documented fields are accepted and ignored.
// It must not call into the World: it runs inside World.UpdateTicket.
func applyFields(b body, t *sandbox.Ticket, l *lookups) *apiError {
	if s, ae := b.str("subject"); ae != nil {
		return ae
	} else if s != "" {
		t.Summary = s
	}
	if b.has("description") {
		d, ae := b.str("description")
		if ae != nil || len(d) > 65535 {
			return firstErr(ae, invalidData("description", "invalid", "description exceeds 65535 characters"))
		}
		t.Description = d
	}
	if ae := applyDepartment(b, t, l); ae != nil {
		return ae
	}
	if ae := applyNamed(b, "status", l.queues[t.QueueID].Statuses, func(s sandbox.Status) (string, int64) { return s.Name, s.ID }, &t.StatusID); ae != nil {
		return ae
	}
	if ae := applyNamed(b, "classification", l.queues[t.QueueID].Types, func(v sandbox.Value) (string, int64) { return v.Name, v.ID }, &t.TypeID); ae != nil {
		return ae
	}
	if ae := applyNamed(b, "priority", l.prioList, func(v sandbox.Value) (string, int64) { return v.Name, v.ID }, &t.PriorityID); ae != nil {
		return ae
	}
	return applyAssignee(b, t, l)
}

func applyDepartment(b body, t *sandbox.Ticket, l *lookups) *apiError {
	dep, present, ae := b.id("departmentId")
	if ae != nil || !present || dep == t.QueueID {
		return ae
	}
	q, ok := l.queues[dep]
	if !ok {
		return invalidData("departmentId", "invalid", "Department does not exist")
	}
	name := l.statuses[t.StatusID].Name
	t.QueueID, t.StatusID = q.ID, defaultStatus(q)
	for _, s := range q.Statuses {
		if s.Name == name {
			t.StatusID = s.ID
		}
	}
	return nil
}

// applyNamed sets *dst to the id of the value named by field (exact name).
func applyNamed[T any](b body, field string, values []T, nameID func(T) (string, int64), dst *int64) *apiError {
	name, ae := b.str(field)
	if ae != nil || !b.has(field) || b.isNull(field) {
		return ae
	}
	for _, v := range values {
		if n, id := nameID(v); n == name {
			*dst = id
			return nil
		}
	}
	return invalidData(field, "invalid", "The value '"+name+"' is not allowed for "+field)
}

func applyAssignee(b body, t *sandbox.Ticket, l *lookups) *apiError {
	if !b.has("assigneeId") {
		return nil
	}
	if b.isNull("assigneeId") {
		t.AssigneeID = 0
		return nil
	}
	id, _, ae := b.id("assigneeId")
	if ae != nil {
		return ae
	}
	if m, ok := l.members[id]; !ok || !m.Active {
		return invalidData("assigneeId", "invalid", "Agent does not exist or is not active")
	}
	t.AssigneeID = id
	return nil
}

// patchTicket serves PATCH /tickets/{id}.
func (e *Emulator) patchTicket(w http.ResponseWriter, r *http.Request, id int64) {
	b, ae := readBody(r, patchFields...)
	if ae != nil {
		writeAPIError(w, ae)
		return
	}
	var fieldErr *apiError
	l := e.lookups()
	t, err := e.world.UpdateTicket(id, e.apiActor(r), func(t *sandbox.Ticket) error {
		if fieldErr = applyFields(b, t, l); fieldErr != nil {
			return errors.New("invalid")
		}
		return nil
	})
	switch {
	case fieldErr != nil:
		writeAPIError(w, fieldErr)
	case err != nil:
		writeAPIError(w, notFound())
	default:
		writeJSON(w, http.StatusOK, e.renderTicket(t, e.lookups()))
	}
}
