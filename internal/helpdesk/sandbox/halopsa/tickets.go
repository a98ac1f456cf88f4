package halopsa

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// ticketFields are the ticket fields a POST may carry.
var ticketFields = fieldSet("id", "summary", "details", "client_id", "site_id", "user_id", "tickettype_id",
	"status_id", "priority_id", "sla_id", "team", "team_id", "agent_id", "category_1", "category_2",
	"category_3", "category_4", "customfields", "dont_do_rules", "utcoffset")

// getTickets serves GET /Tickets (list) and GET /Tickets/{id}.
func (s *Server) getTickets(w http.ResponseWriter, r *http.Request, id string) {
	if id != "" {
		s.getTicket(w, id)
		return
	}
	q := newQuery(r)
	p := s.paging(q)
	cat := s.catalog()
	filter := s.ticketFilter(q, cat)
	order := ticketOrder(q)
	details := q.boolean("includedetails", false)
	if len(q.errs) > 0 {
		q.errs.write(w)
		return
	}
	page, total := s.world.QueryTickets(sandbox.TicketQuery{Filter: filter, Compare: order, Offset: p.offset, Limit: p.size})
	v := s.view()
	out := make([]any, len(page))
	for i, t := range page {
		out[i] = v.ticket(t, details && !s.set.ListOmitsDetails)
		if t.ID == s.set.MalformedTicket {
			out[i] = malformed(out[i].(haloTicket))
		}
		if t.ID == s.set.OversizedTicket {
			big := strings.Repeat("x", cmp.Or(s.set.OversizedBytes, 2<<20))
			ht := out[i].(haloTicket)
			ht.Details = &big
			out[i] = ht
		}
	}
	writeJSON(w, http.StatusOK, s.envelope(p, "tickets", total, out))
}

func (s *Server) getTicket(w http.ResponseWriter, id string) {
	n, err := strconv.ParseInt(id, 10, 64)
	t, ok := s.world.Ticket(n)
	if err != nil || !ok || t.Deleted {
		writeNotFound(w, "Ticket "+id+" not found.")
		return
	}
	writeJSON(w, http.StatusOK, s.view().ticket(t, true))
}

// ticketFilter implements lastupdatefromdate/lastupdatetodate (inclusive
// by default), open_only, closed_only, client_id and agent_id.
func (s *Server) ticketFilter(q *query, cat *catalog) func(*sandbox.Ticket) bool {
	from, to := q.when("lastupdatefromdate"), q.when("lastupdatetodate")
	openOnly, closedOnly := q.boolean("open_only", false), q.boolean("closed_only", false)
	clientID, agentID := q.integer("client_id", 0), q.integer("agent_id", 0)
	exclusive := s.set.LastUpdateExclusive
	return func(t *sandbox.Ticket) bool {
		switch {
		case !from.IsZero() && exclusive && !t.Updated.After(from),
			!from.IsZero() && t.Updated.Before(from),
			!to.IsZero() && t.Updated.After(to):
			return false
		case openOnly && cat.closed(t.StatusID), closedOnly && !cat.closed(t.StatusID):
			return false
		case clientID != 0 && t.CompanyID != clientID, agentID != 0 && t.AssigneeID != agentID:
			return false
		}
		return true
	}
}

// ticketOrder implements order (id, last_update, dateoccurred) and
// orderdesc; another column is a 400 [INF].
func ticketOrder(q *query) func(a, b *sandbox.Ticket) int {
	desc := q.boolean("orderdesc", false)
	var key func(a, b *sandbox.Ticket) int
	switch strings.ToLower(q.str("order")) {
	case "", "id":
		key = func(a, b *sandbox.Ticket) int { return cmp.Compare(a.ID, b.ID) }
	case "last_update", "lastupdate":
		key = func(a, b *sandbox.Ticket) int { return cmp.Or(a.Updated.Compare(b.Updated), cmp.Compare(a.ID, b.ID)) }
	case "dateoccurred":
		key = func(a, b *sandbox.Ticket) int { return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID)) }
	default:
		q.errs.add("order", "Unknown order column '"+q.str("order")+"'.")
		return nil
	}
	if desc {
		return func(a, b *sandbox.Ticket) int { return key(b, a) }
	}
	return key
}

// postTickets serves POST /Tickets: an array upserted by id. All items
// are validated before any is saved.
func (s *Server) postTickets(w http.ResponseWriter, r *http.Request, _ string) {
	items, errs, ok := s.readItems(w, r, ticketFields)
	if !ok {
		return
	}
	cat := s.catalog()
	plans := make([]ticketPlan, len(items))
	for i, it := range items {
		plans[i] = s.planTicket(cat, it)
	}
	if len(errs) > 0 {
		errs.write(w)
		return
	}
	saved := make([]any, 0, len(plans))
	for _, p := range plans {
		t, err := s.applyTicket(p)
		if err != nil {
			writeNotFound(w, err.Error())
			return
		}
		saved = append(saved, s.view().ticket(t, true))
	}
	s.writeSaved(w, saved)
}

// ticketPlan is a validated save: update ticket id, or create when id is
// 0, by applying the setters.
type ticketPlan struct {
	id   int64
	sets []func(*sandbox.Ticket)
}

func (s *Server) applyTicket(p ticketPlan) (sandbox.Ticket, error) {
	by := sandbox.API(s.world.APIUser().ID, "")
	if p.id == 0 {
		var t sandbox.Ticket
		for _, f := range p.sets {
			f(&t)
		}
		return s.world.CreateTicket(t, by), nil
	}
	return s.world.UpdateTicket(p.id, by, func(t *sandbox.Ticket) error {
		for _, f := range p.sets {
			f(t)
		}
		return nil
	})
}

func (s *Server) planTicket(cat *catalog, it *item) ticketPlan {
	var p ticketPlan
	cur, exists := s.existingTicket(it)
	if exists {
		p.id = cur.ID
	}
	set := func(f func(*sandbox.Ticket)) { p.sets = append(p.sets, f); f(&cur) }
	if summary, ok := it.str("summary"); ok {
		set(func(t *sandbox.Ticket) { t.Summary = summary })
	}
	if !exists && strings.TrimSpace(cur.Summary) == "" {
		it.fail("summary", "A summary is required.")
	}
	if details, ok := it.str("details"); ok {
		set(func(t *sandbox.Ticket) { t.Description = details })
	}
	s.planQueue(cat, it, &cur, exists, set)
	s.planPeople(it, &cur, set)
	if pid, ok := it.int("priority_id"); ok {
		if !slices.ContainsFunc(s.world.Priorities(), func(v sandbox.Value) bool { return v.ID == pid }) {
			it.fail("priority_id", "Priority "+strconv.FormatInt(pid, 10)+" does not exist.")
		}
		set(func(t *sandbox.Ticket) { t.PriorityID = pid })
	} else if !exists {
		set(func(t *sandbox.Ticket) { t.PriorityID = defaultPriority(s.world.Priorities()) })
	}
	return p
}

// existingTicket returns the live ticket an item's id names. An unknown id
// creates (Halo's odd upsert) unless Settings.UnknownIDRejected.
func (s *Server) existingTicket(it *item) (sandbox.Ticket, bool) {
	id, ok := it.int("id")
	if !ok || id <= 0 {
		return sandbox.Ticket{}, false
	}
	t, found := s.world.Ticket(id)
	if found && !t.Deleted {
		return t, true
	}
	if s.set.UnknownIDRejected {
		it.fail("id", "Ticket "+strconv.FormatInt(id, 10)+" not found.")
	}
	return sandbox.Ticket{}, false
}

// planQueue validates team, status and type: statuses and types map by
// name into the ticket's (possibly new) team.
func (s *Server) planQueue(cat *catalog, it *item, cur *sandbox.Ticket, exists bool, set func(func(*sandbox.Ticket))) {
	q, _ := cat.queue(cur.QueueID, "")
	if !exists && len(cat.queues) > 0 {
		q = cat.queues[0]
	}
	teamID, byID := it.int("team_id")
	teamName, byName := it.str("team")
	if byID || byName {
		var ok bool
		if q, ok = cat.queue(teamID, teamName); !ok {
			it.fail("team_id", "Team does not exist.")
			return
		}
	}
	qid := q.ID
	set(func(t *sandbox.Ticket) { t.QueueID = qid })
	planStatus(cat, it, q, cur, exists, set)
	planType(cat, it, q, cur, exists, set)
}

// planStatus maps status_id (or the current status, when the team
// changes) into team q, defaulting to q's default status.
func planStatus(cat *catalog, it *item, q sandbox.Queue, cur *sandbox.Ticket, exists bool, set func(func(*sandbox.Ticket))) {
	status, given := it.int("status_id")
	if !given && exists {
		status = cat.statusIDs[cur.StatusID]
	}
	ws, ok := cat.worldStatus(q, status)
	switch {
	case ok:
	case given:
		it.fail("status_id", "Status "+strconv.FormatInt(status, 10)+" is not allowed for team "+q.Name+".")
		return
	default:
		ws = defaultStatus(q)
	}
	set(func(t *sandbox.Ticket) { t.StatusID = ws })
}

// planType maps tickettype_id like planStatus maps status_id.
func planType(cat *catalog, it *item, q sandbox.Queue, cur *sandbox.Ticket, exists bool, set func(func(*sandbox.Ticket))) {
	typ, given := it.int("tickettype_id")
	if !given && exists {
		typ = cat.typeIDs[cur.TypeID]
	}
	wt, ok := cat.worldType(q, typ)
	switch {
	case ok:
	case given:
		it.fail("tickettype_id", "Ticket type "+strconv.FormatInt(typ, 10)+" does not exist.")
		return
	default:
		wt = defaultType(q)
	}
	set(func(t *sandbox.Ticket) { t.TypeID = wt })
}

// planPeople validates client_id, user_id and agent_id.
func (s *Server) planPeople(it *item, cur *sandbox.Ticket, set func(func(*sandbox.Ticket))) {
	v := s.view()
	if cid, ok := it.int("client_id"); ok {
		if _, found := v.companies[cid]; !found && cid != 0 {
			it.fail("client_id", "Client "+strconv.FormatInt(cid, 10)+" does not exist.")
		}
		set(func(t *sandbox.Ticket) { t.CompanyID = cid })
	}
	if uid, ok := it.int("user_id"); ok {
		c, found := v.contacts[uid]
		if !found && uid != 0 {
			it.fail("user_id", "User "+strconv.FormatInt(uid, 10)+" does not exist.")
		}
		set(func(t *sandbox.Ticket) { t.ContactID = uid })
		if !it.has("client_id") && found {
			set(func(t *sandbox.Ticket) { t.CompanyID = c.CompanyID })
		}
	}
	if aid, ok := it.int("agent_id"); ok {
		// A disabled agent cannot be assigned [INF: Halo hides disabled
		// agents from assignment; the message is the sandbox's].
		if m, found := v.members[aid]; !found && aid != 0 {
			it.fail("agent_id", "Agent "+strconv.FormatInt(aid, 10)+" does not exist.")
		} else if found && !m.Active && aid != cur.AssigneeID {
			it.fail("agent_id", "Agent "+strconv.FormatInt(aid, 10)+" is disabled.")
		}
		set(func(t *sandbox.Ticket) { t.AssigneeID = aid })
	}
}

func defaultPriority(ps []sandbox.Value) int64 {
	for _, p := range ps {
		if p.Default {
			return p.ID
		}
	}
	if len(ps) > 0 {
		return ps[0].ID
	}
	return 0
}

// deleteTicket serves DELETE /Tickets/{id}.
func (s *Server) deleteTicket(w http.ResponseWriter, _ *http.Request, id string) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || s.world.DeleteTicket(n, sandbox.API(s.world.APIUser().ID, "")) != nil {
		writeNotFound(w, "Ticket "+id+" not found.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]int64{"id": n})
}

// malformed renders t with a summary of the wrong type (a number).
func malformed(t haloTicket) map[string]any {
	b, _ := json.Marshal(t)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	m["summary"] = 12345
	return m
}
