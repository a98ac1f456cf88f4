package halopsa

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// actionFields are the action fields a POST may carry.
var actionFields = fieldSet("id", "ticket_id", "outcome", "outcome_id", "note", "note_html", "hiddenfromuser",
	"timetaken", "timetakenadjusted", "actionchargehours", "actionnonchargehours", "who_agentid", "sendemail",
	"important", "new_status", "actionarrivaldate", "actioncompletiondate", "emailto", "emailsubject")

// getActions serves GET /Actions?ticket_id= (notes and time entries of a
// live ticket, by id) and GET /Actions/{id}?ticket_id=.
func (s *Server) getActions(w http.ResponseWriter, r *http.Request, id string) {
	q := newQuery(r)
	ticketID := q.integer("ticket_id", 0)
	if !q.has("ticket_id") {
		q.errs.add("ticket_id", "ticket_id is required.")
	}
	if len(q.errs) > 0 {
		q.errs.write(w)
		return
	}
	if t, ok := s.world.Ticket(ticketID); !ok || t.Deleted {
		writeNotFound(w, "Ticket "+strconv.FormatInt(ticketID, 10)+" not found.")
		return
	}
	acts := s.ticketActions(ticketID)
	if id != "" {
		i := slices.IndexFunc(acts, func(a haloAction) bool { return strconv.FormatInt(a.ID, 10) == id })
		if i < 0 {
			writeNotFound(w, "Action "+id+" not found.")
			return
		}
		writeJSON(w, http.StatusOK, acts[i])
		return
	}
	if s.set.BareActions {
		writeJSON(w, http.StatusOK, acts)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"record_count": len(acts), "actions": acts})
}

func (s *Server) ticketActions(ticketID int64) []haloAction {
	v := s.view()
	var acts []haloAction
	for _, n := range s.world.Notes(ticketID) {
		acts = append(acts, v.note(n))
	}
	for _, te := range s.world.TimeEntries(ticketID) {
		acts = append(acts, v.timeEntry(te))
	}
	slices.SortFunc(acts, func(a, b haloAction) int { return cmp.Compare(a.ID, b.ID) })
	if acts == nil {
		acts = []haloAction{}
	}
	return acts
}

// actionPlan is a validated new action: a time entry when hours > 0,
// else a note; newStatus, when set, also changes the ticket's status.
type actionPlan struct {
	ticketID  int64
	agentID   int64
	text      string
	internal  bool
	hours     float64
	billable  bool
	start     time.Time
	newStatus int64
}

// postActions serves POST /Actions. Editing an existing action is not
// emulated (400).
func (s *Server) postActions(w http.ResponseWriter, r *http.Request, _ string) {
	items, errs, ok := s.readItems(w, r, actionFields)
	if !ok {
		return
	}
	cat := s.catalog()
	plans := make([]actionPlan, len(items))
	for i, it := range items {
		plans[i] = s.planAction(cat, it)
	}
	if len(errs) > 0 {
		errs.write(w)
		return
	}
	saved := make([]any, 0, len(plans))
	for _, p := range plans {
		a, err := s.applyAction(p)
		if err != nil {
			writeNotFound(w, err.Error())
			return
		}
		saved = append(saved, a)
	}
	s.writeSaved(w, saved)
}

func (s *Server) planAction(cat *catalog, it *item) actionPlan {
	var p actionPlan
	if id, ok := it.int("id"); ok && id > 0 {
		it.fail("id", "Editing an existing action is not supported by the sandbox.")
	}
	s.planActionTicket(cat, it, &p)
	s.planOutcome(it)
	p.text, _ = it.str("note")
	if p.text == "" {
		html, _ := it.str("note_html")
		p.text = html
	}
	p.internal, _ = it.boolean("hiddenfromuser")
	p.hours, _ = it.float("timetaken")
	if p.hours < 0 {
		it.fail("timetaken", "timetaken must not be negative.")
	}
	charge, _ := it.float("actionchargehours")
	p.billable = charge > 0
	p.start = s.world.Now()
	if at, ok := it.str("actionarrivaldate"); ok && at != "" {
		if p.start = parseISO(at); p.start.IsZero() {
			it.fail("actionarrivaldate", "The value is not a valid date.")
		}
	}
	if aid, ok := it.int("who_agentid"); ok && aid != 0 {
		if m, found := s.view().members[aid]; !found {
			it.fail("who_agentid", "Agent "+strconv.FormatInt(aid, 10)+" does not exist.")
		} else if !m.Active {
			it.fail("who_agentid", "Agent "+strconv.FormatInt(aid, 10)+" is disabled.")
		}
		p.agentID = aid
	}
	return p
}

func (s *Server) planActionTicket(cat *catalog, it *item, p *actionPlan) {
	tid, ok := it.int("ticket_id")
	t, found := s.world.Ticket(tid)
	if !ok || !found || t.Deleted {
		it.fail("ticket_id", "A valid ticket_id is required.")
		return
	}
	p.ticketID = tid
	if ns, ok := it.int("new_status"); ok && ns != 0 {
		q, _ := cat.queue(t.QueueID, "")
		ws, found := cat.worldStatus(q, ns)
		if !found {
			it.fail("new_status", "Status "+strconv.FormatInt(ns, 10)+" is not allowed for this ticket.")
		}
		p.newStatus = ws
	}
}

// planOutcome requires a configured outcome, by name or id.
func (s *Server) planOutcome(it *item) {
	name, byName := it.str("outcome")
	oid, byID := it.int("outcome_id")
	switch {
	case byName && name != "":
		if outcomeID(name) == 0 {
			it.fail("outcome", "Outcome '"+name+"' does not exist.")
		}
	case byID:
		if !slices.ContainsFunc(outcomes, func(o outcome) bool { return o.ID == oid }) {
			it.fail("outcome_id", "Outcome "+strconv.FormatInt(oid, 10)+" does not exist.")
		}
	default:
		it.fail("outcome", "An outcome or outcome_id is required.")
	}
}

func (s *Server) applyAction(p actionPlan) (haloAction, error) {
	by := sandbox.API(s.world.APIUser().ID, "")
	v := s.view()
	var out haloAction
	if p.hours > 0 {
		te, err := s.world.AddTimeEntry(sandbox.TimeEntry{TicketID: p.ticketID, MemberID: p.agentID, Start: p.start,
			Hours: p.hours, Notes: p.text, Billable: p.billable}, by)
		if err != nil {
			return out, err
		}
		out = v.timeEntry(te)
	} else {
		n, err := s.world.AddNote(sandbox.Note{TicketID: p.ticketID, Text: p.text, Internal: p.internal,
			AuthorID: p.agentID}, by)
		if err != nil {
			return out, err
		}
		out = v.note(n)
	}
	if p.newStatus != 0 {
		_, err := s.world.UpdateTicket(p.ticketID, by, func(t *sandbox.Ticket) error { t.StatusID = p.newStatus; return nil })
		return out, err
	}
	return out, nil
}

func parseISO(s string) time.Time {
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(l, strings.TrimSpace(s)); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
