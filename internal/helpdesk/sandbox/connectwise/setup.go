package connectwise

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// view pairs a record with the request's snapshot.
type view[T any] struct {
	v T
	s *snapshot
}

func views[T any](items []T, s *snapshot) []view[T] {
	out := make([]view[T], len(items))
	for i, it := range items {
		out[i] = view[T]{it, s}
	}
	return out
}

var memberFields = fieldSet[view[sandbox.Member]]{
	"id":                {kNumber, func(m view[sandbox.Member]) val { return num(m.v.ID) }},
	"identifier":        {kString, func(m view[sandbox.Member]) val { return str(m.v.Identifier) }},
	"firstname":         {kString, func(m view[sandbox.Member]) val { return str(m.v.FirstName) }},
	"lastname":          {kString, func(m view[sandbox.Member]) val { return str(m.v.LastName) }},
	"primaryemail":      {kString, func(m view[sandbox.Member]) val { return str(m.v.Email) }},
	"inactiveflag":      {kBool, func(m view[sandbox.Member]) val { return boolean(!m.v.Active) }},
	"lastupdated":       {kTime, func(m view[sandbox.Member]) val { return tm(m.v.Updated) }},
	"_info/lastupdated": {kTime, func(m view[sandbox.Member]) val { return tm(m.v.Updated) }},
}

func (e *Emulator) listMembers(w http.ResponseWriter, r *http.Request, _ []int64) {
	serveList(e, w, r, views(e.world.Members(), e.snap()), lister[view[sandbox.Member]]{fields: memberFields,
		id: func(m view[sandbox.Member]) int64 { return m.v.ID }, render: func(m view[sandbox.Member]) any { return m.s.member(m.v) }})
}

func (e *Emulator) getMember(w http.ResponseWriter, r *http.Request, ids []int64) {
	s := e.snap()
	if m, ok := s.members[ids[0]]; ok {
		writeJSON(w, http.StatusOK, s.member(m))
		return
	}
	writeError(w, http.StatusNotFound, "NotFound", fmt.Sprintf("Member with id %d was not found.", ids[0]))
}

// myMember serves GET /system/myMembers: the member the API keys belong
// to (a MyMember object, not a list [K]). Every request is made with the
// World's API member's keys.
func (e *Emulator) myMember(w http.ResponseWriter, r *http.Request, _ []int64) {
	if err := checkParams(r.URL.Query(), e.Settings()); err != nil {
		writeError(w, http.StatusBadRequest, "InvalidObject", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, e.snap().member(e.world.APIUser()))
}

var contactFields = fieldSet[view[sandbox.Contact]]{
	"id":                {kNumber, func(c view[sandbox.Contact]) val { return num(c.v.ID) }},
	"firstname":         {kString, func(c view[sandbox.Contact]) val { return str(c.v.FirstName) }},
	"lastname":          {kString, func(c view[sandbox.Contact]) val { return str(c.v.LastName) }},
	"company/id":        {kNumber, func(c view[sandbox.Contact]) val { return refNum(c.v.CompanyID) }},
	"inactiveflag":      {kBool, func(c view[sandbox.Contact]) val { return boolean(!c.v.Active) }},
	"lastupdated":       {kTime, func(c view[sandbox.Contact]) val { return tm(c.v.Updated) }},
	"_info/lastupdated": {kTime, func(c view[sandbox.Contact]) val { return tm(c.v.Updated) }},
}

func (e *Emulator) listContacts(w http.ResponseWriter, r *http.Request, _ []int64) {
	serveList(e, w, r, views(e.world.Contacts(), e.snap()), lister[view[sandbox.Contact]]{fields: contactFields,
		id: func(c view[sandbox.Contact]) int64 { return c.v.ID }, render: func(c view[sandbox.Contact]) any { return c.s.contact(c.v) }})
}

func (e *Emulator) getContact(w http.ResponseWriter, r *http.Request, ids []int64) {
	s := e.snap()
	if c, ok := s.contacts[ids[0]]; ok {
		writeJSON(w, http.StatusOK, s.contact(c))
		return
	}
	writeError(w, http.StatusNotFound, "NotFound", fmt.Sprintf("Contact with id %d was not found.", ids[0]))
}

var companyFields = fieldSet[view[sandbox.Company]]{
	"id":                {kNumber, func(c view[sandbox.Company]) val { return num(c.v.ID) }},
	"identifier":        {kString, func(c view[sandbox.Company]) val { return str(c.v.Identifier) }},
	"name":              {kString, func(c view[sandbox.Company]) val { return str(c.v.Name) }},
	"deletedflag":       {kBool, func(c view[sandbox.Company]) val { return boolean(false) }},
	"status/name":       {kString, func(c view[sandbox.Company]) val { return str(c.s.company(c.v).Status.Name) }},
	"lastupdated":       {kTime, func(c view[sandbox.Company]) val { return tm(c.v.Updated) }},
	"_info/lastupdated": {kTime, func(c view[sandbox.Company]) val { return tm(c.v.Updated) }},
}

func (e *Emulator) listCompanies(w http.ResponseWriter, r *http.Request, _ []int64) {
	serveList(e, w, r, views(e.world.Companies(), e.snap()), lister[view[sandbox.Company]]{fields: companyFields,
		id: func(c view[sandbox.Company]) int64 { return c.v.ID }, render: func(c view[sandbox.Company]) any { return c.s.company(c.v) }})
}

func (e *Emulator) getCompany(w http.ResponseWriter, r *http.Request, ids []int64) {
	s := e.snap()
	if c, ok := s.companies[ids[0]]; ok {
		writeJSON(w, http.StatusOK, s.company(c))
		return
	}
	writeError(w, http.StatusNotFound, "NotFound", fmt.Sprintf("Company with id %d was not found.", ids[0]))
}

// boardJSON is a service board.
type boardJSON struct {
	ID           int64             `json:"id"`
	Name         string            `json:"name"`
	Location     refJSON           `json:"location"`
	Department   refJSON           `json:"department"`
	InactiveFlag bool              `json:"inactiveFlag"`
	ProjectFlag  bool              `json:"projectFlag"`
	Info         map[string]string `json:"_info"`
}

func (s *snapshot) board(q sandbox.Queue) boardJSON {
	return boardJSON{ID: q.ID, Name: q.Name, Location: refJSON{ID: 2, Name: "Tampa Office"},
		Department: refJSON{ID: 10, Name: "Services"}, InactiveFlag: q.Inactive,
		Info: s.href("statuses", fmt.Sprintf("/service/boards/%d/statuses", q.ID))}
}

var boardFields = fieldSet[view[sandbox.Queue]]{
	"id":           {kNumber, func(q view[sandbox.Queue]) val { return num(q.v.ID) }},
	"name":         {kString, func(q view[sandbox.Queue]) val { return str(q.v.Name) }},
	"inactiveflag": {kBool, func(q view[sandbox.Queue]) val { return boolean(q.v.Inactive) }},
	"projectflag":  {kBool, func(q view[sandbox.Queue]) val { return boolean(false) }},
}

func (e *Emulator) listBoards(w http.ResponseWriter, r *http.Request, _ []int64) {
	serveList(e, w, r, views(e.world.Queues(), e.snap()), lister[view[sandbox.Queue]]{fields: boardFields,
		id: func(q view[sandbox.Queue]) int64 { return q.v.ID }, render: func(q view[sandbox.Queue]) any { return q.s.board(q.v) }})
}

// findQueue answers 404 itself when the board is missing.
func (e *Emulator) findQueue(w http.ResponseWriter, s *snapshot, id int64) (sandbox.Queue, bool) {
	q, ok := s.queues[id]
	if !ok {
		writeError(w, http.StatusNotFound, "NotFound", fmt.Sprintf("Board with id %d was not found.", id))
	}
	return q, ok
}

func (e *Emulator) getBoard(w http.ResponseWriter, r *http.Request, ids []int64) {
	s := e.snap()
	if q, ok := e.findQueue(w, s, ids[0]); ok {
		writeJSON(w, http.StatusOK, s.board(q))
	}
}

// statusJSON is a BoardStatus.
type statusJSON struct {
	ID                        int64             `json:"id"`
	Name                      string            `json:"name"`
	Board                     *refJSON          `json:"board"`
	SortOrder                 int               `json:"sortOrder"`
	DisplayOnBoard            bool              `json:"displayOnBoard"`
	Inactive                  bool              `json:"inactive"`
	ClosedStatus              bool              `json:"closedStatus"`
	TimeEntryNotAllowed       bool              `json:"timeEntryNotAllowed"`
	DefaultFlag               bool              `json:"defaultFlag"`
	EscalationStatus          string            `json:"escalationStatus"`
	CustomerPortalDescription string            `json:"customerPortalDescription"`
	CustomerPortalFlag        bool              `json:"customerPortalFlag"`
	Info                      map[string]string `json:"_info"`
}

func (s *snapshot) status(board int64, st sandbox.Status) statusJSON {
	return statusJSON{ID: st.ID, Name: st.Name, Board: s.boardRef(board), SortOrder: st.Sort, DisplayOnBoard: true,
		Inactive: st.Inactive, ClosedStatus: st.Closed, DefaultFlag: st.Default, EscalationStatus: "NotResponded",
		Info: map[string]string{"lastUpdated": "2024-01-01T00:00:00Z", "updatedBy": "admin1"}}
}

var statusFields = fieldSet[view[sandbox.Status]]{
	"id":           {kNumber, func(v view[sandbox.Status]) val { return num(v.v.ID) }},
	"name":         {kString, func(v view[sandbox.Status]) val { return str(v.v.Name) }},
	"closedstatus": {kBool, func(v view[sandbox.Status]) val { return boolean(v.v.Closed) }},
	"inactive":     {kBool, func(v view[sandbox.Status]) val { return boolean(v.v.Inactive) }},
	"defaultflag":  {kBool, func(v view[sandbox.Status]) val { return boolean(v.v.Default) }},
}

func (e *Emulator) listStatuses(w http.ResponseWriter, r *http.Request, ids []int64) {
	s := e.snap()
	q, ok := e.findQueue(w, s, ids[0])
	if !ok {
		return
	}
	serveList(e, w, r, views(q.Statuses, s), lister[view[sandbox.Status]]{fields: statusFields,
		id: func(v view[sandbox.Status]) int64 { return v.v.ID }, render: func(v view[sandbox.Status]) any { return v.s.status(q.ID, v.v) }})
}

var statusCreateFields = setOf("name", "board", "sortOrder", "displayOnBoard", "inactive", "closedStatus",
	"timeEntryNotAllowed", "defaultFlag", "escalationStatus", "customerPortalDescription", "customerPortalFlag")

// createStatus adds a board status: name (1 to 50 characters, unique on
// the board) is required; board, when sent, must be the board in the URL.
func (e *Emulator) createStatus(w http.ResponseWriter, r *http.Request, ids []int64) {
	s := e.snap()
	q, ok := e.findQueue(w, s, ids[0])
	if !ok {
		return
	}
	m, berr := e.readObject(r, statusCreateFields)
	var name string
	var closed bool
	if berr == nil {
		name, closed, berr = newStatus(q, m)
	}
	if berr != nil {
		berr.write(w, "boardStatus")
		return
	}
	st, err := e.world.AddStatus(q.ID, name, closed, e.actor(""))
	if err != nil {
		writeError(w, http.StatusNotFound, "NotFound", err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, e.snap().status(q.ID, st))
}

func newStatus(q sandbox.Queue, m map[string]json.RawMessage) (string, bool, *bodyError) {
	name, berr := stringField(m, "name")
	if berr != nil {
		return "", false, berr
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 50 {
		return "", false, &bodyError{status: 400, code: "NullValue", msg: "name is required (at most 50 characters)", field: "name"}
	}
	if raw, ok := m["board"]; ok && !isNull(raw) {
		ref, berr := parseRef("board", raw)
		if berr != nil {
			return "", false, berr
		}
		if !matches(ref, q.ID, q.Name) {
			return "", false, invalidField("board", "board does not match board %d in the URL", q.ID)
		}
	}
	for _, st := range q.Statuses {
		if strings.EqualFold(st.Name, name) {
			return "", false, invalidField("name", "a status named %q already exists on board %d", name, q.ID)
		}
	}
	closed, berr := boolField(m, "closedStatus")
	return name, closed, berr
}

var typeFields = fieldSet[view[sandbox.Value]]{
	"id":           {kNumber, func(v view[sandbox.Value]) val { return num(v.v.ID) }},
	"name":         {kString, func(v view[sandbox.Value]) val { return str(v.v.Name) }},
	"inactiveflag": {kBool, func(v view[sandbox.Value]) val { return boolean(v.v.Inactive) }},
}

// typeJSON is a BoardType.
type typeJSON struct {
	ID                   int64             `json:"id"`
	Name                 string            `json:"name"`
	Category             string            `json:"category"`
	DefaultFlag          bool              `json:"defaultFlag"`
	InactiveFlag         bool              `json:"inactiveFlag"`
	RequestForChangeFlag bool              `json:"requestForChangeFlag"`
	Board                *refJSON          `json:"board"`
	Info                 map[string]string `json:"_info"`
}

func (e *Emulator) listTypes(w http.ResponseWriter, r *http.Request, ids []int64) {
	s := e.snap()
	q, ok := e.findQueue(w, s, ids[0])
	if !ok {
		return
	}
	serveList(e, w, r, views(q.Types, s), lister[view[sandbox.Value]]{fields: typeFields,
		id: func(v view[sandbox.Value]) int64 { return v.v.ID },
		render: func(v view[sandbox.Value]) any {
			return typeJSON{ID: v.v.ID, Name: v.v.Name, Category: "Reactive", DefaultFlag: v.v.Default,
				InactiveFlag: v.v.Inactive, RequestForChangeFlag: strings.EqualFold(v.v.Name, "Change"),
				Board: v.s.boardRef(q.ID), Info: map[string]string{"lastUpdated": "2024-01-01T00:00:00Z"}}
		}})
}

// priorityJSON is a global priority.
type priorityJSON struct {
	ID               int64             `json:"id"`
	Name             string            `json:"name"`
	Color            string            `json:"color"`
	SortOrder        int               `json:"sortOrder"`
	DefaultFlag      bool              `json:"defaultFlag"`
	UrgencySortOrder string            `json:"urgencySortOrder"`
	Level            string            `json:"level"`
	Info             map[string]string `json:"_info"`
}

var priorityColors = []string{"Red", "Orange", "Yellow", "Green", "Blue"}

func (e *Emulator) listPriorities(w http.ResponseWriter, r *http.Request, _ []int64) {
	serveList(e, w, r, views(e.world.Priorities(), e.snap()), lister[view[sandbox.Value]]{fields: typeFields,
		id: func(v view[sandbox.Value]) int64 { return v.v.ID },
		render: func(v view[sandbox.Value]) any {
			return priorityJSON{ID: v.v.ID, Name: v.v.Name, Color: priorityColors[v.v.Sort%len(priorityColors)],
				SortOrder: v.v.Sort, DefaultFlag: v.v.Default, UrgencySortOrder: fmt.Sprint(v.v.Sort + 1),
				Level: fmt.Sprintf("Priority %d", v.v.Sort+1), Info: map[string]string{"lastUpdated": "2024-01-01T00:00:00Z"}}
		}})
}
