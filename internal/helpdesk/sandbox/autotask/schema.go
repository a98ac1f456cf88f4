package autotask

import (
	"strings"
	"time"
)

// Field data types, as entityInformation/fields names them.
const (
	tInt    = "integer"
	tLong   = "long"
	tString = "string"
	tTime   = "datetime"
	tBool   = "boolean"
	tDouble = "double"
)

// field is one entity field the emulator serves.
type field struct {
	name      string
	typ       string
	length    int
	required  bool // on create
	readOnly  bool
	queryable bool
	picklist  string // picklist name served from picks; "" when none
	reference string // referenceEntityType
	webhook   bool   // isSupportedWebhookField
}

// entity is an entity's schema, with fields looked up case-insensitively
// as Autotask does.
type entity struct {
	name   string
	fields []field
	index  map[string]int
}

func newEntity(name string, fields ...field) *entity {
	e := &entity{name: name, fields: fields, index: map[string]int{}}
	for i, f := range fields {
		e.index[strings.ToLower(f.name)] = i
	}
	return e
}

// field finds a field by name, case-insensitively.
func (e *entity) field(name string) (field, bool) {
	i, ok := e.index[strings.ToLower(name)]
	if !ok {
		return field{}, false
	}
	return e.fields[i], true
}

func ro(name, typ string) field { return field{name: name, typ: typ, readOnly: true, queryable: true} }
func rw(name, typ string) field { return field{name: name, typ: typ, queryable: true, webhook: true} }
func req(name, typ string) field {
	return field{name: name, typ: typ, required: true, queryable: true, webhook: true}
}
func pick(f field, list string) field { f.picklist = list; return f }
func refTo(f field, ent string) field { f.reference = ent; return f }
func maxLen(f field, n int) field     { f.length = n; return f }

// Entity schemas: field names and types from the wire facts [K].
// creatorType and lastActivityPersonType cannot be queried [D].
var (
	ticketsEntity = newEntity("Tickets",
		ro("id", tLong), ro("ticketNumber", tString), maxLen(req("title", tString), 255),
		maxLen(rw("description", tString), 8000), pick(req("status", tInt), "status"),
		pick(req("priority", tInt), "priority"), pick(rw("queueID", tInt), "queueID"),
		pick(rw("ticketType", tInt), "ticketType"), pick(rw("source", tInt), "source"),
		refTo(req("companyID", tInt), "Company"), refTo(rw("contactID", tInt), "Contact"),
		refTo(rw("assignedResourceID", tInt), "Resource"), refTo(rw("assignedResourceRoleID", tInt), "Role"),
		req("dueDateTime", tTime), ro("createDate", tTime), ro("lastActivityDate", tTime),
		ro("completedDate", tTime), refTo(ro("creatorResourceID", tInt), "Resource"),
		maxLen(rw("externalID", tString), 50),
		field{name: "creatorType", typ: tInt, readOnly: true},
		field{name: "lastActivityPersonType", typ: tInt, readOnly: true})
	notesEntity = newEntity("TicketNotes",
		ro("id", tLong), refTo(rw("ticketID", tInt), "Ticket"), maxLen(req("title", tString), 250),
		maxLen(req("description", tString), 32000), pick(req("noteType", tInt), "noteType"),
		pick(req("publish", tInt), "publish"), ro("createDateTime", tTime),
		refTo(ro("creatorResourceID", tInt), "Resource"), ro("lastActivityDate", tTime))
	timeEntity = newEntity("TimeEntries",
		ro("id", tLong), refTo(rw("ticketID", tInt), "Ticket"), refTo(req("resourceID", tInt), "Resource"),
		refTo(rw("roleID", tInt), "Role"), rw("dateWorked", tTime), rw("startDateTime", tTime),
		rw("endDateTime", tTime), rw("hoursWorked", tDouble), maxLen(rw("summaryNotes", tString), 8000),
		maxLen(rw("internalNotes", tString), 8000), rw("isNonBillable", tBool),
		ro("createDateTime", tTime), ro("lastModifiedDateTime", tTime))
	contactsEntity = newEntity("Contacts",
		ro("id", tLong), refTo(req("companyID", tInt), "Company"), req("firstName", tString),
		req("lastName", tString), rw("title", tString), rw("emailAddress", tString), rw("phone", tString),
		rw("mobilePhone", tString), rw("isActive", tInt), ro("createDate", tTime), ro("lastActivityDate", tTime))
	companiesEntity = newEntity("Companies",
		ro("id", tLong), req("companyName", tString), rw("companyNumber", tString),
		pick(rw("companyType", tInt), "companyType"), rw("phone", tString), rw("isActive", tBool),
		refTo(rw("ownerResourceID", tInt), "Resource"), ro("createDate", tTime), ro("lastActivityDate", tTime))
	resourcesEntity = newEntity("Resources",
		ro("id", tLong), ro("firstName", tString), ro("lastName", tString), ro("email", tString),
		ro("userName", tString), ro("title", tString), ro("isActive", tBool), ro("resourceType", tString),
		ro("licenseType", tInt), refTo(ro("defaultServiceDeskRoleID", tInt), "Role"), ro("locationID", tInt))
)

// rec is one rendered record: field name → value (int64, float64, string,
// bool, time.Time or nil).
type rec map[string]any

func (r rec) id() int64 { v, _ := r["id"].(int64); return v }

// jsonValue renders a record value for the wire: datetimes as
// "2006-01-02T15:04:05.000Z" [K].
func jsonValue(v any) any {
	if t, ok := v.(time.Time); ok {
		if t.IsZero() {
			return nil
		}
		return t.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	return v
}

// wire renders a record as a JSON object.
func (r rec) wire() map[string]any {
	out := make(map[string]any, len(r))
	for k, v := range r {
		out[k] = jsonValue(v)
	}
	return out
}

// optID is nil for zero IDs (no reference).
func optID(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}
