package halopsa

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// activeFilter reads includeactive (default true) and includeinactive
// (default false), as /Client and /Users take them.
func activeFilter(q *query) func(active bool) bool {
	withActive, withInactive := q.boolean("includeactive", true), q.boolean("includeinactive", false)
	return func(active bool) bool { return active && withActive || !active && withInactive }
}

// orderByID checks order: only id (and name) are emulated for people.
func orderByID(q *query) {
	if o := strings.ToLower(q.str("order")); o != "" && o != "id" && o != "name" {
		q.errs.add("order", "Unknown order column '"+q.str("order")+"'.")
	}
}

// getClients serves GET /Client and /Client/{id}: paged, key "clients".
func (s *Server) getClients(w http.ResponseWriter, r *http.Request, id string) {
	v := s.view()
	if id != "" {
		n, _ := strconv.ParseInt(id, 10, 64)
		if c, ok := v.companies[n]; ok {
			writeJSON(w, http.StatusOK, v.client(c))
			return
		}
		writeNotFound(w, "Client "+id+" not found.")
		return
	}
	q := newQuery(r)
	p, keep := s.paging(q), activeFilter(q)
	orderByID(q)
	if len(q.errs) > 0 {
		q.errs.write(w)
		return
	}
	var all []haloClient
	for _, c := range s.world.Companies() {
		if keep(c.Active) {
			all = append(all, v.client(c))
		}
	}
	slices.SortFunc(all, func(a, b haloClient) int { return cmp.Compare(a.ID, b.ID) })
	writeJSON(w, http.StatusOK, s.envelope(p, "clients", len(all), orEmpty(sandbox.Window(all, p.offset, p.size))))
}

// getUsers serves GET /Users and /Users/{id}: paged, key "users", with
// client_id filtering.
func (s *Server) getUsers(w http.ResponseWriter, r *http.Request, id string) {
	v := s.view()
	if id != "" {
		n, _ := strconv.ParseInt(id, 10, 64)
		if c, ok := v.contacts[n]; ok {
			writeJSON(w, http.StatusOK, v.user(c))
			return
		}
		writeNotFound(w, "User "+id+" not found.")
		return
	}
	q := newQuery(r)
	p, keep := s.paging(q), activeFilter(q)
	clientID := q.integer("client_id", 0)
	orderByID(q)
	if len(q.errs) > 0 {
		q.errs.write(w)
		return
	}
	var all []haloUser
	for _, c := range s.world.Contacts() {
		if keep(c.Active) && (clientID == 0 || c.CompanyID == clientID) {
			all = append(all, v.user(c))
		}
	}
	slices.SortFunc(all, func(a, b haloUser) int { return cmp.Compare(a.ID, b.ID) })
	writeJSON(w, http.StatusOK, s.envelope(p, "users", len(all), orEmpty(sandbox.Window(all, p.offset, p.size))))
}

// getAgents serves GET /Agent (a bare array; includeenabled defaults to
// true, includedisabled to false), /Agent/me (the agent the API
// application acts as) and /Agent/{id}.
func (s *Server) getAgents(w http.ResponseWriter, r *http.Request, id string) {
	v := s.view()
	if id == "me" {
		writeJSON(w, http.StatusOK, v.agent(s.world.APIUser()))
		return
	}
	if id != "" {
		n, _ := strconv.ParseInt(id, 10, 64)
		if m, ok := v.members[n]; ok {
			writeJSON(w, http.StatusOK, v.agent(m))
			return
		}
		writeNotFound(w, "Agent "+id+" not found.")
		return
	}
	q := newQuery(r)
	enabled, disabled := q.boolean("includeenabled", true), q.boolean("includedisabled", false)
	if len(q.errs) > 0 {
		q.errs.write(w)
		return
	}
	out := []haloAgent{}
	for _, m := range s.world.Members() {
		if m.Active && enabled || !m.Active && disabled {
			out = append(out, v.agent(m))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// getStatuses serves GET /Status: a bare array of ticket statuses; type
// other than "ticket" lists none, excludeclosed drops Closed.
func (s *Server) getStatuses(w http.ResponseWriter, r *http.Request, id string) {
	cat := s.catalog()
	q := newQuery(r)
	excludeClosed := q.boolean("excludeclosed", false)
	if len(q.errs) > 0 {
		q.errs.write(w)
		return
	}
	out := []haloStatus{}
	for _, st := range cat.statuses {
		if s.set.StatusTypeNumeric {
			st.Type = 1
		}
		if !(excludeClosed && st.ID == cat.closedID) && s.statusTypeMatches(q.str("type"), st) && !s.set.NoStatuses {
			out = append(out, st)
		}
	}
	writeList(w, id, out, func(st haloStatus) int64 { return st.ID })
}

// statusTypeMatches applies /Status?type= in the reading in force (see
// Settings.StatusTypeNumeric).
func (s *Server) statusTypeMatches(typ string, st haloStatus) bool {
	if typ == "" {
		return true
	}
	if !s.set.StatusTypeNumeric {
		return strings.EqualFold(typ, "ticket")
	}
	n, err := strconv.Atoi(typ)
	if err != nil {
		n = 0
	}
	return n == st.Type
}

// getTicketTypes serves GET /TicketType: a bare array.
func (s *Server) getTicketTypes(w http.ResponseWriter, _ *http.Request, id string) {
	cat := s.catalog()
	writeList(w, id, cat.types, func(t haloTicketType) int64 { return t.ID })
}

type haloTeam struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	DepartmentID int64  `json:"department_id"`
	Inactive     bool   `json:"inactive"`
}

// getTeams serves GET /Team: a bare array.
func (s *Server) getTeams(w http.ResponseWriter, _ *http.Request, id string) {
	out := []haloTeam{}
	for _, q := range s.world.Queues() {
		out = append(out, haloTeam{ID: q.ID, Name: q.Name, DepartmentID: 1, Inactive: q.Inactive})
	}
	writeList(w, id, out, func(t haloTeam) int64 { return t.ID })
}

// getPriorities serves GET /Priority: a bare array repeating the
// priorities once per SLA, the id under Settings.PriorityIDField [INF].
func (s *Server) getPriorities(w http.ResponseWriter, _ *http.Request, id string) {
	out := []map[string]any{}
	for sla := 1; sla <= s.set.SLAs; sla++ {
		for _, p := range s.world.Priorities() {
			out = append(out, map[string]any{s.set.PriorityIDField: p.ID, "name": p.Name, "slaid": sla,
				"sequence": p.Sort + 1, "inactive": p.Inactive})
		}
	}
	writeList(w, id, out, func(m map[string]any) int64 { return m[s.set.PriorityIDField].(int64) })
}

// getOutcomes serves GET /Outcome.
func (s *Server) getOutcomes(w http.ResponseWriter, _ *http.Request, id string) {
	out := []map[string]any{}
	for _, o := range outcomes {
		out = append(out, map[string]any{"id": o.ID, "outcome": o.Name})
	}
	writeList(w, id, out, func(m map[string]any) int64 { return m["id"].(int64) })
}

// writeList answers a config list, or its item id.
func writeList[T any](w http.ResponseWriter, id string, all []T, idOf func(T) int64) {
	if id == "" {
		writeJSON(w, http.StatusOK, all)
		return
	}
	n, _ := strconv.ParseInt(id, 10, 64)
	for _, v := range all {
		if idOf(v) == n {
			writeJSON(w, http.StatusOK, v)
			return
		}
	}
	writeNotFound(w, "Record "+id+" not found.")
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
