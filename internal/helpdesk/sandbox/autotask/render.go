package autotask

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// ticketExtra holds the ticket fields the World does not model.
type ticketExtra struct {
	due  time.Time
	role int64
}

func (e *Emulator) renderTicket(t sandbox.Ticket, pk *picks) rec {
	e.mu.Lock()
	x, ok := e.extra[t.ID]
	e.mu.Unlock()
	if !ok {
		x = ticketExtra{due: t.Created.Add(72 * time.Hour), role: roleHelpDesk}
	}
	status := pk.status.fromWorld[t.StatusID]
	r := rec{"id": t.ID, "ticketNumber": fmt.Sprintf("T%s.%04d", t.Created.UTC().Format("20060102"), t.ID%10000),
		"title": t.Summary, "description": t.Description, "status": status, "priority": t.PriorityID,
		"queueID": optID(t.QueueID), "ticketType": optID(pk.types.fromWorld[t.TypeID]), "source": int64(4),
		"companyID": t.CompanyID, "contactID": optID(t.ContactID), "assignedResourceID": optID(t.AssigneeID),
		"assignedResourceRoleID": nil, "dueDateTime": x.due, "createDate": t.Created,
		"lastActivityDate": t.Updated, "completedDate": nil, "creatorResourceID": nil,
		"creatorType": int64(1), "lastActivityPersonType": int64(1), "externalID": t.ExternalRef}
	if t.AssigneeID != 0 {
		r["assignedResourceRoleID"] = x.role
	}
	if status == statusComplete {
		r["completedDate"] = t.Updated
	}
	return r
}

func renderNote(n sandbox.Note) rec {
	publish := int64(1)
	if n.Internal {
		publish = 2
	}
	return rec{"id": n.ID, "ticketID": n.TicketID, "title": noteTitle(n.Text), "description": n.Text,
		"noteType": int64(1), "publish": publish, "createDateTime": n.Created,
		"creatorResourceID": optID(n.AuthorID), "lastActivityDate": n.Updated}
}

func noteTitle(text string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	if len(line) > 250 {
		line = line[:250]
	}
	return line
}

func renderTime(te sandbox.TimeEntry) rec {
	start := te.Start.UTC()
	return rec{"id": te.ID, "ticketID": te.TicketID, "resourceID": te.MemberID, "roleID": int64(roleHelpDesk),
		"dateWorked": start.Truncate(24 * time.Hour), "startDateTime": start,
		"endDateTime": start.Add(time.Duration(te.Hours * float64(time.Hour))), "hoursWorked": te.Hours,
		"summaryNotes": te.Notes, "internalNotes": "", "isNonBillable": !te.Billable,
		"createDateTime": te.Created, "lastModifiedDateTime": te.Updated}
}

func (e *Emulator) renderContact(c sandbox.Contact) rec {
	var active any = c.Active
	if e.set.ContactIsActiveInt {
		active = int64(0)
		if c.Active {
			active = int64(1)
		}
	}
	return rec{"id": c.ID, "companyID": c.CompanyID, "firstName": c.FirstName, "lastName": c.LastName,
		"title": "", "emailAddress": c.Email, "phone": c.Phone, "mobilePhone": "", "isActive": active,
		"createDate": c.Created, "lastActivityDate": c.Updated}
}

func renderCompany(c sandbox.Company) rec {
	return rec{"id": c.ID, "companyName": c.Name, "companyNumber": c.Identifier, "companyType": int64(1),
		"phone": "", "isActive": c.Active, "ownerResourceID": nil, "createDate": c.Created,
		"lastActivityDate": c.Updated}
}

func renderResource(m sandbox.Member) rec {
	return rec{"id": m.ID, "firstName": m.FirstName, "lastName": m.LastName, "email": m.Email,
		"userName": m.Identifier, "title": "", "isActive": m.Active, "resourceType": "Employee",
		"licenseType": int64(1), "defaultServiceDeskRoleID": int64(roleHelpDesk), "locationID": int64(1)}
}

// source lists an entity's records with IDs above after, by ID.
type source func(e *Emulator, pk *picks, after int64) []rec

// dataEntity is a queryable entity backed by the World.
type dataEntity struct {
	schema *entity
	list   source
	// get reads one record directly, where the World allows it.
	get func(e *Emulator, id int64) (rec, bool)
}

var dataEntities = map[string]dataEntity{
	"tickets":     {schema: ticketsEntity, list: listTickets, get: getTicket},
	"ticketnotes": {schema: notesEntity, list: listNotes},
	"timeentries": {schema: timeEntity, list: listTimeEntries, get: getTimeEntry},
	"contacts":    {schema: contactsEntity, list: listContacts},
	"companies":   {schema: companiesEntity, list: listCompanies},
	"resources":   {schema: resourcesEntity, list: listResources},
}

// one returns the record with id, or false.
func (d dataEntity) one(e *Emulator, id int64) (rec, bool) {
	if d.get != nil {
		return d.get(e, id)
	}
	r := findRec(d.list(e, e.picks(), id-1), id)
	return r, r != nil
}

func getTicket(e *Emulator, id int64) (rec, bool) {
	t, ok := e.world.Ticket(id)
	if !ok || t.Deleted {
		return nil, false
	}
	return e.renderTicket(t, e.picks()), true
}

func getTimeEntry(e *Emulator, id int64) (rec, bool) {
	te, ok := e.world.TimeEntry(id)
	if !ok {
		return nil, false
	}
	if t, ok := e.world.Ticket(te.TicketID); !ok || t.Deleted {
		return nil, false
	}
	return renderTime(te), true
}

func listTickets(e *Emulator, pk *picks, after int64) []rec {
	ts, _ := e.world.QueryTickets(sandbox.TicketQuery{AfterID: after})
	out := make([]rec, len(ts))
	for i, t := range ts {
		out[i] = e.renderTicket(t, pk)
	}
	return out
}

func listNotes(e *Emulator, _ *picks, after int64) []rec {
	ts, _ := e.world.QueryTickets(sandbox.TicketQuery{})
	var out []rec
	for _, t := range ts {
		for _, n := range e.world.Notes(t.ID) {
			if n.ID > after {
				out = append(out, renderNote(n))
			}
		}
	}
	return sortByID(out)
}

func listTimeEntries(e *Emulator, _ *picks, after int64) []rec {
	tes, _ := e.world.AllTimeEntries(nil, after, 0, 0)
	out := make([]rec, len(tes))
	for i, te := range tes {
		out[i] = renderTime(te)
	}
	return out
}

func listContacts(e *Emulator, _ *picks, after int64) []rec {
	var out []rec
	for _, c := range e.world.Contacts() {
		if c.ID > after {
			out = append(out, e.renderContact(c))
		}
	}
	return sortByID(out)
}

func listCompanies(e *Emulator, _ *picks, after int64) []rec {
	var out []rec
	for _, c := range e.world.Companies() {
		if c.ID > after {
			out = append(out, renderCompany(c))
		}
	}
	return sortByID(out)
}

func listResources(e *Emulator, _ *picks, after int64) []rec {
	var out []rec
	for _, m := range e.world.Members() {
		if m.ID > after {
			out = append(out, renderResource(m))
		}
	}
	return sortByID(out)
}

func sortByID(rs []rec) []rec {
	slices.SortFunc(rs, func(a, b rec) int { return cmp.Compare(a.id(), b.id()) })
	return rs
}
