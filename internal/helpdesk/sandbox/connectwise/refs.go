package connectwise

import (
	"encoding/json"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// refField resolves a written reference onto a ticket.
type refField struct {
	name  string
	apply func(s *snapshot, t *sandbox.Ticket, raw json.RawMessage) *bodyError
}

// ticketRefFields are the ticket references a client may write, board
// first so that status and type names resolve within the new board.
var ticketRefFields = []refField{
	{"board", refSetter("board", func(s *snapshot, t *sandbox.Ticket, r refIn) bool {
		id, ok := s.findBoard(r)
		t.QueueID = id
		return ok
	})},
	{"status", refSetter("status", func(s *snapshot, t *sandbox.Ticket, r refIn) bool {
		id, ok := s.findStatus(t.QueueID, r)
		t.StatusID = id
		return ok
	})},
	{"company", refSetter("company", func(s *snapshot, t *sandbox.Ticket, r refIn) bool {
		id, ok := s.findCompany(r)
		t.CompanyID = id
		return ok
	})},
	{"contact", refSetter("contact", func(s *snapshot, t *sandbox.Ticket, r refIn) bool {
		_, ok := s.contacts[r.ID]
		t.ContactID = r.ID
		return ok
	})},
	{"type", refSetter("type", func(s *snapshot, t *sandbox.Ticket, r refIn) bool {
		id, ok := s.findType(t.QueueID, r)
		t.TypeID = id
		return ok
	})},
	{"priority", refSetter("priority", func(s *snapshot, t *sandbox.Ticket, r refIn) bool {
		id, ok := s.findPriority(r)
		t.PriorityID = id
		return ok
	})},
	{"owner", refSetter("owner", func(s *snapshot, t *sandbox.Ticket, r refIn) bool {
		id, ok := s.findMember(r)
		t.AssigneeID = id
		return ok
	})},
}

// refSetter parses the reference and applies set, reporting an unknown
// record as an invalid field.
func refSetter(name string, set func(*snapshot, *sandbox.Ticket, refIn) bool) func(*snapshot, *sandbox.Ticket, json.RawMessage) *bodyError {
	return func(s *snapshot, t *sandbox.Ticket, raw json.RawMessage) *bodyError {
		r, berr := parseRef(name, raw)
		if berr != nil {
			return berr
		}
		if !set(s, t, r) {
			return invalidField(name, "%s reference does not match a record", name)
		}
		return nil
	}
}

func matches(r refIn, id int64, names ...string) bool {
	if r.ID != 0 {
		return r.ID == id
	}
	for _, n := range names {
		if n != "" && (strings.EqualFold(n, r.Name) || strings.EqualFold(n, r.Identifier)) {
			return true
		}
	}
	return false
}

func (s *snapshot) findBoard(r refIn) (int64, bool) {
	for id, q := range s.queues {
		if matches(r, id, q.Name) && !q.Inactive {
			return id, true
		}
	}
	return 0, false
}

func (s *snapshot) findStatus(board int64, r refIn) (int64, bool) {
	for id, st := range s.statuses {
		if matches(r, id, st.Name) && (r.ID != 0 || st.board == board) {
			return id, true
		}
	}
	return 0, false
}

func (s *snapshot) findType(board int64, r refIn) (int64, bool) {
	for _, t := range s.queues[board].Types {
		if matches(r, t.ID, t.Name) {
			return t.ID, true
		}
	}
	_, known := s.types[r.ID]
	return r.ID, known && r.ID != 0 // checked against the board by defaults
}

func (s *snapshot) findCompany(r refIn) (int64, bool) {
	for id, c := range s.companies {
		if matches(r, id, c.Identifier, c.Name) {
			return id, true
		}
	}
	return 0, false
}

func (s *snapshot) findPriority(r refIn) (int64, bool) {
	for id, p := range s.prios {
		if matches(r, id, p.Name) {
			return id, true
		}
	}
	return 0, false
}

func (s *snapshot) findMember(r refIn) (int64, bool) {
	for id, m := range s.members {
		if matches(r, id, m.Identifier) && m.Active {
			return id, true
		}
	}
	return 0, false
}
