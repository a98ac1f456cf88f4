package zohodesk

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// handleOrganizations serves GET /organizations, the one call that needs
// no orgId. The org id is a JSON number here, unlike every other id.
func (e *Emulator) handleOrganizations(w http.ResponseWriter, r *http.Request) {
	if ae := checkParams(r.URL.Query()); ae != nil {
		writeAPIError(w, ae)
		return
	}
	id, _ := strconv.ParseInt(e.opt.OrgID, 10, 64)
	writeJSON(w, http.StatusOK, map[string]any{"data": []map[string]any{{
		"id": id, "companyName": "Sandbox MSP", "portalName": "sandbox", "portalURL": "https://desk.zoho.com/portal/sandbox",
		"edition": "ENTERPRISE", "isDefault": true, "isAdminInOrg": true, "faviconURL": nil, "logoURL": nil,
	}}})
}

// dated is a record searched by modified and created time.
type dated struct {
	id               int64
	created, updated time.Time
	render           func() map[string]any
}

// handleDatedSearch serves GET /contacts/search and /accounts/search with
// the window parameters tickets search has [INF: the OAS pages for these
// were not checked field by field].
func (e *Emulator) handleDatedSearch(w http.ResponseWriter, r *http.Request, records []dated) {
	q := r.URL.Query()
	if ae := checkParams(q, "modifiedTimeRange", "createdTimeRange", "sortBy", "from", "limit"); ae != nil {
		writeAPIError(w, ae)
		return
	}
	from, limit, ae := paging(q, 99)
	if ae != nil {
		writeAPIError(w, ae)
		return
	}
	mod, ae := rangeParam(q, "modifiedTimeRange")
	created, ae2 := rangeParam(q, "createdTimeRange")
	key, desc, ae3 := sortParam(q, "relevance", "relevance", "modifiedTime", "createdTime")
	if ae := firstErr(firstErr(ae, ae2), ae3); ae != nil {
		writeAPIError(w, ae)
		return
	}
	match := slices.DeleteFunc(records, func(d dated) bool { return !mod.has(d.updated) || !created.has(d.created) })
	slices.SortStableFunc(match, func(a, b dated) int {
		c := 0
		switch key {
		case "modifiedTime":
			c = a.updated.Compare(b.updated)
		case "createdTime":
			c = a.created.Compare(b.created)
		}
		c = cmp.Or(c, cmp.Compare(a.id, b.id))
		if desc {
			return -c
		}
		return c
	})
	var data []map[string]any
	for _, d := range sandbox.Window(match, from, limit) {
		data = append(data, d.render())
	}
	writeList(w, data, len(match), true)
}

func (e *Emulator) contactRecords() []dated {
	l := e.lookups()
	var out []dated
	for _, c := range e.world.Contacts() {
		out = append(out, dated{id: c.ID, created: c.Created, updated: c.Updated, render: func() map[string]any { return renderContact(c, l) }})
	}
	return out
}

func (e *Emulator) accountRecords() []dated {
	var out []dated
	for _, c := range e.world.Companies() {
		out = append(out, dated{id: c.ID, created: c.Created, updated: c.Updated, render: func() map[string]any { return renderAccount(c) }})
	}
	return out
}

// handleAgents serves GET /agents.
// handleMyInfo serves GET /myinfo: the agent the OAuth token belongs to
// (the World's API user).
func (e *Emulator) handleMyInfo(w http.ResponseWriter, r *http.Request) {
	if ae := checkParams(r.URL.Query()); ae != nil {
		writeAPIError(w, ae)
		return
	}
	var depts []any
	for _, dq := range e.world.Queues() {
		depts = append(depts, WireID(dq.ID))
	}
	writeJSON(w, http.StatusOK, renderAgent(e.world.APIUser(), depts))
}

func (e *Emulator) handleAgents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if ae := checkParams(q, "from", "limit", "status", "include", "searchStr", "isConfirmed", "departmentIds", "fieldName", "sortOrder"); ae != nil {
		writeAPIError(w, ae)
		return
	}
	from, limit, ae := paging(q, 200)
	if ae != nil {
		writeAPIError(w, ae)
		return
	}
	status := q.Get("status")
	if status != "" && status != "ACTIVE" && status != "DISABLED" {
		writeAPIError(w, unprocessable("The value passed for field 'status' is invalid."))
		return
	}
	if status == "" && e.opt.AgentsActiveOnly {
		status = "ACTIVE"
	}
	var depts []any
	for _, dq := range e.world.Queues() {
		depts = append(depts, WireID(dq.ID))
	}
	var data []map[string]any
	members := slices.DeleteFunc(e.world.Members(), func(m sandbox.Member) bool {
		return (status == "ACTIVE" && !m.Active) || (status == "DISABLED" && m.Active)
	})
	for _, m := range sandbox.Window(members, from, limit) {
		data = append(data, renderAgent(m, depts))
	}
	writeList(w, data, 0, false)
}

// handleDepartments serves GET /departments.
func (e *Emulator) handleDepartments(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if ae := checkParams(q, "from", "limit", "isEnabled", "searchStr", "chatStatus"); ae != nil {
		writeAPIError(w, ae)
		return
	}
	from, limit, ae := paging(q, 200)
	if ae != nil {
		writeAPIError(w, ae)
		return
	}
	var data []map[string]any
	queues := e.world.Queues()
	for i, dq := range sandbox.Window(queues, from, limit) {
		if en := q.Get("isEnabled"); en == "" || (en == "true") == !dq.Inactive {
			data = append(data, renderDepartment(dq, from+i == 0))
		}
	}
	writeList(w, data, 0, false)
}

var fieldModules = map[string]bool{"tickets": true, "contacts": true, "accounts": true, "tasks": true,
	"calls": true, "events": true, "contracts": true, "products": true}

// handleOrganizationFields serves GET /organizationFields?module=...; the
// tickets module carries the status, priority and classification
// picklists (statuses with their statusType).
func (e *Emulator) handleOrganizationFields(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if ae := checkParams(q, "module", "apiNames"); ae != nil {
		writeAPIError(w, ae)
		return
	}
	mod := q.Get("module")
	if !fieldModules[mod] {
		writeAPIError(w, unprocessable("The value passed for field 'module' is invalid."))
		return
	}
	fields := []map[string]any{field("1", "subject", "Subject", "Text", nil)}
	if mod == "tickets" {
		fields = append(fields, e.ticketPicklistFields()...)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": fields})
}

func field(id, api, label, typ string, values []map[string]any) map[string]any {
	f := map[string]any{"id": WireID(int64(len(api)*1000) + int64(len(id))), "apiName": api, "name": api,
		"displayLabel": label, "i18NLabel": label, "type": typ, "isCustomField": false, "isMandatory": api == "subject",
		"maxLength": 255}
	if values != nil {
		f["allowedValues"] = values
	}
	return f
}

func (e *Emulator) ticketPicklistFields() []map[string]any {
	var statuses, types, prios []map[string]any
	seenS, seenT := map[string]bool{}, map[string]bool{}
	for _, q := range e.world.Queues() {
		for _, s := range q.Statuses {
			if !seenS[s.Name] && !s.Inactive {
				seenS[s.Name] = true
				statuses = append(statuses, map[string]any{"value": s.Name, "statusType": statusType(s)})
			}
		}
		for _, t := range q.Types {
			if !seenT[t.Name] && !t.Inactive {
				seenT[t.Name] = true
				types = append(types, map[string]any{"value": t.Name})
			}
		}
	}
	for _, p := range e.world.Priorities() {
		if !p.Inactive {
			prios = append(prios, map[string]any{"value": p.Name})
		}
	}
	channels := []map[string]any{{"value": "Email"}, {"value": "Phone"}, {"value": "Web"}, {"value": "Chat"}}
	return []map[string]any{
		field("2", "status", "Status", "Picklist", statuses),
		field("3", "priority", "Priority", "Picklist", prios),
		field("4", "classification", "Classification", "Picklist", types),
		field("5", "channel", "Channel", "Picklist", channels),
		field("6", "dueDate", "Due Date", "DateTime", nil),
	}
}
