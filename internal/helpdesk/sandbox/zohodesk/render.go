package zohodesk

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// lookups indexes the World's reference data for rendering one answer.
type lookups struct {
	queues    map[int64]sandbox.Queue
	statuses  map[int64]sandbox.Status
	types     map[int64]string
	prios     map[int64]string
	prioList  []sandbox.Value
	contacts  map[int64]sandbox.Contact
	companies map[int64]sandbox.Company
	members   map[int64]sandbox.Member
}

func (e *Emulator) lookups() *lookups {
	l := &lookups{queues: map[int64]sandbox.Queue{}, statuses: map[int64]sandbox.Status{}, types: map[int64]string{},
		prios: map[int64]string{}, contacts: map[int64]sandbox.Contact{}, companies: map[int64]sandbox.Company{},
		members: map[int64]sandbox.Member{}}
	for _, q := range e.world.Queues() {
		l.queues[q.ID] = q
		for _, s := range q.Statuses {
			l.statuses[s.ID] = s
		}
		for _, t := range q.Types {
			l.types[t.ID] = t.Name
		}
	}
	l.prioList = e.world.Priorities()
	for _, p := range l.prioList {
		l.prios[p.ID] = p.Name
	}
	for _, c := range e.world.Contacts() {
		l.contacts[c.ID] = c
	}
	for _, c := range e.world.Companies() {
		l.companies[c.ID] = c
	}
	for _, m := range e.world.Members() {
		l.members[m.ID] = m
	}
	return l
}

// statusType is Zoho's status category for a status.
func statusType(s sandbox.Status) string {
	n := strings.ToLower(s.Name)
	switch {
	case s.Closed:
		return "Closed"
	case strings.Contains(n, "hold") || strings.Contains(n, "wait") || strings.Contains(n, "scheduled"):
		return "On Hold"
	}
	return "Open"
}

func wireRef(id int64) any {
	if id == 0 {
		return nil
	}
	return WireID(id)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (e *Emulator) renderTicket(t sandbox.Ticket, l *lookups) map[string]any {
	st := l.statuses[t.StatusID]
	var closed any
	if st.Closed {
		closed = isoTime(t.Updated)
	}
	c := l.contacts[t.ContactID]
	companyID := t.CompanyID
	if companyID == 0 {
		companyID = c.CompanyID
	}
	return map[string]any{
		"id": WireID(t.ID), "ticketNumber": strconv.FormatInt(t.ID, 10), "subject": t.Summary,
		"description": nullable(t.Description), "status": st.Name, "statusType": statusType(st),
		"priority": nullable(l.prios[t.PriorityID]), "classification": nullable(l.types[t.TypeID]),
		"channel": "Email", "category": nil, "subCategory": nil, "departmentId": wireRef(t.QueueID),
		"contactId": wireRef(t.ContactID), "accountId": wireRef(companyID), "assigneeId": wireRef(t.AssigneeID),
		"teamId": nil, "email": nullable(c.Email), "phone": nullable(c.Phone), "dueDate": nil,
		"createdTime": isoTime(t.Created), "modifiedTime": isoTime(t.Updated), "closedTime": closed,
		"customerResponseTime": isoTime(t.Created), "threadCount": "0",
		"commentCount": strconv.Itoa(len(e.world.Notes(t.ID))), "isOverDue": false, "isSpam": false,
		"isTrashed": t.Deleted, "cf": map[string]any{}, "modifiedBy": wireRef(t.UpdatedBy),
		"webUrl": fmt.Sprintf("https://desk.zoho.com/support/sandbox/ShowHomePage.do#Cases/dv/%s", WireID(t.ID)),
	}
}

func renderComment(n sandbox.Note, l *lookups) map[string]any {
	m := l.members[n.AuthorID]
	return map[string]any{
		"id": WireID(n.ID), "content": n.Text, "contentType": "plainText", "isPublic": !n.Internal,
		"commenterId": wireRef(n.AuthorID), "commentedTime": isoTime(n.Created), "modifiedTime": isoTime(n.Updated),
		"attachments": []any{}, "commenter": map[string]any{"id": wireRef(n.AuthorID), "type": "AGENT",
			"firstName": m.FirstName, "lastName": m.LastName, "name": joinName(m), "email": nullable(m.Email), "photoURL": nil},
	}
}

func (e *Emulator) teTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	if e.opt.TimeEntryTimes == TimeEntryISO {
		return isoTime(t)
	}
	return t.UnixMilli()
}

func (e *Emulator) renderTimeEntry(te sandbox.TimeEntry, t sandbox.Ticket, l *lookups, withOwner bool) map[string]any {
	secs := int64(te.Hours*3600 + 0.5)
	out := map[string]any{
		"id": WireID(te.ID), "parent": map[string]any{"id": WireID(t.ID), "ticketNumber": strconv.FormatInt(t.ID, 10),
			"subject": t.Summary, "type": "TICKETS"},
		"executedTime": e.teTime(te.Start), "createdTime": e.teTime(te.Created),
		"hoursSpent": strconv.FormatInt(secs/3600, 10), "minutesSpent": strconv.FormatInt(secs%3600/60, 10),
		"secondsSpent": strconv.FormatInt(secs%60, 10), "ownerId": wireRef(te.MemberID), "createdBy": wireRef(te.MemberID),
		"isBillable": te.Billable, "description": nullable(te.Notes), "mode": "MANUAL", "isTrashed": false,
		"departmentId": wireRef(t.QueueID), "requestChargeType": "Customer Service", "billingType": "FIXED_COST_FOR_TICKETS",
		"agentCostPerHour": nil, "fixedCost": nil, "additionalCost": nil, "totalCost": "0.0", "invoiceId": nil,
		"taskId": nil, "layoutId": nil, "cf": map[string]any{}, "customFields": map[string]any{},
	}
	if withOwner {
		m := l.members[te.MemberID]
		out["owner"] = map[string]any{"id": wireRef(m.ID), "firstName": m.FirstName, "lastName": m.LastName,
			"name": joinName(m), "photoURL": nil}
	}
	return out
}

func renderContact(c sandbox.Contact, l *lookups) map[string]any {
	out := map[string]any{
		"id": WireID(c.ID), "firstName": nullable(c.FirstName), "lastName": c.LastName, "email": nullable(c.Email),
		"secondaryEmail": nil, "phone": nullable(c.Phone), "mobile": nil, "accountId": wireRef(c.CompanyID),
		"ownerId": nil, "createdTime": isoTime(c.Created), "modifiedTime": isoTime(c.Updated), "cf": map[string]any{},
		"customFields": map[string]any{}, "isSpam": false, "isDeleted": !c.Active, "zip": nil,
		"webUrl": "https://desk.zoho.com/support/sandbox/ShowHomePage.do#Contacts/dv/" + WireID(c.ID),
	}
	if co, ok := l.companies[c.CompanyID]; ok {
		out["account"] = map[string]any{"id": WireID(co.ID), "accountName": co.Name, "website": nil}
	}
	return out
}

func renderAccount(c sandbox.Company) map[string]any {
	return map[string]any{
		"id": WireID(c.ID), "accountName": c.Name, "email": nil, "phone": nil, "website": nil, "industry": nil,
		"code": nil, "createdTime": isoTime(c.Created), "modifiedTime": isoTime(c.Updated), "cf": map[string]any{},
		"isDeleted": !c.Active,
	}
}

func joinName(m sandbox.Member) string { return strings.TrimSpace(m.FirstName + " " + m.LastName) }

func renderAgent(m sandbox.Member, depts []any) map[string]any {
	status := "ACTIVE"
	if !m.Active {
		status = "DISABLED"
	}
	return map[string]any{
		"id": WireID(m.ID), "zuid": strconv.FormatInt(600000000+m.ID, 10), "firstName": m.FirstName,
		"lastName": m.LastName, "name": joinName(m), "emailId": m.Email, "status": status,
		"roleId": WireID(1), "profileId": WireID(2), "associatedDepartmentIds": depts, "isConfirmed": true,
		"timeZone": "Europe/London", "langCode": "en_US", "photoURL": nil,
	}
}

func renderDepartment(q sandbox.Queue, first bool) map[string]any {
	return map[string]any{
		"id": WireID(q.ID), "name": q.Name, "isEnabled": !q.Inactive, "description": nil, "isDefault": first,
		"hasLogo": false, "nameInCustomerPortal": q.Name, "isVisibleInCustomerPortal": true, "creatorId": nil,
	}
}
