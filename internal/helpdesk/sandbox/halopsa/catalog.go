package halopsa

import (
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// catalog renders the World's per-queue statuses and types as Halo's
// global ones. Values are merged by name: the Halo id of a name is the
// World id of its first occurrence, except the status named Closed (or the
// first closing status), which takes Halo's Closed id. A Halo id posted
// for a ticket maps back to the value of that name in the ticket's queue.
type catalog struct {
	closedID   int64
	queues     []sandbox.Queue
	statusIDs  map[int64]int64 // World status → Halo status
	typeIDs    map[int64]int64 // World type → Halo ticket type
	statusName map[int64]string
	typeName   map[int64]string
	statuses   []haloStatus
	types      []haloTicketType
}

type haloStatus struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	ShortName string `json:"shortname"`
	Type      int    `json:"type"`
	Sequence  int    `json:"sequence"`
	Colour    string `json:"colour"`
}

type haloTicketType struct {
	ID              int64  `json:"id"`
	Name            string `json:"name"`
	Sequence        int    `json:"sequence"`
	Inactive        bool   `json:"inactive"`
	DefaultTeam     string `json:"default_team,omitempty"`
	InitialStatusID int64  `json:"initial_status,omitempty"`
}

func (s *Server) catalog() *catalog {
	c := &catalog{closedID: s.set.ClosedStatusID, queues: s.world.Queues(),
		statusIDs: map[int64]int64{}, typeIDs: map[int64]int64{},
		statusName: map[int64]string{}, typeName: map[int64]string{}}
	closed := closedStatusName(c.queues)
	for _, q := range c.queues {
		for _, st := range q.Statuses {
			c.addStatus(st, closed)
		}
		for _, t := range q.Types {
			c.addType(t)
		}
	}
	return c
}

func closedStatusName(queues []sandbox.Queue) string {
	first := ""
	for _, q := range queues {
		for _, st := range q.Statuses {
			if strings.EqualFold(st.Name, "Closed") {
				return st.Name
			}
			if st.Closed && first == "" {
				first = st.Name
			}
		}
	}
	return first
}

func (c *catalog) addStatus(st sandbox.Status, closedName string) {
	for id, name := range c.statusName {
		if strings.EqualFold(name, st.Name) {
			c.statusIDs[st.ID] = id
			return
		}
	}
	id := st.ID
	if closedName != "" && strings.EqualFold(st.Name, closedName) {
		id = c.closedID
	}
	c.statusIDs[st.ID], c.statusName[id] = id, st.Name
	short := strings.ToUpper(st.Name[:min(3, len(st.Name))])
	c.statuses = append(c.statuses, haloStatus{ID: id, Name: st.Name, ShortName: short,
		Sequence: len(c.statuses) + 1, Colour: "#4f81bd"})
}

func (c *catalog) addType(t sandbox.Value) {
	for id, name := range c.typeName {
		if strings.EqualFold(name, t.Name) {
			c.typeIDs[t.ID] = id
			return
		}
	}
	c.typeIDs[t.ID], c.typeName[t.ID] = t.ID, t.Name
	c.types = append(c.types, haloTicketType{ID: t.ID, Name: t.Name, Sequence: len(c.types) + 1, Inactive: t.Inactive})
}

// closed reports whether a World status renders as Halo's Closed.
func (c *catalog) closed(worldStatus int64) bool { return c.statusIDs[worldStatus] == c.closedID }

// queue finds a team by id, or by name when id is 0.
func (c *catalog) queue(id int64, name string) (sandbox.Queue, bool) {
	for _, q := range c.queues {
		if (id != 0 && q.ID == id) || (id == 0 && name != "" && strings.EqualFold(q.Name, name)) {
			return q, true
		}
	}
	return sandbox.Queue{}, false
}

// worldStatus maps a Halo status id to the same-named status of q.
func (c *catalog) worldStatus(q sandbox.Queue, haloID int64) (int64, bool) {
	name, ok := c.statusName[haloID]
	if !ok {
		return 0, false
	}
	for _, st := range q.Statuses {
		if strings.EqualFold(st.Name, name) {
			return st.ID, true
		}
	}
	return 0, false
}

// worldType maps a Halo ticket type id to the same-named type of q.
func (c *catalog) worldType(q sandbox.Queue, haloID int64) (int64, bool) {
	name, ok := c.typeName[haloID]
	if !ok {
		return 0, false
	}
	for _, t := range q.Types {
		if strings.EqualFold(t.Name, name) {
			return t.ID, true
		}
	}
	return 0, false
}

func defaultStatus(q sandbox.Queue) int64 {
	for _, st := range q.Statuses {
		if st.Default {
			return st.ID
		}
	}
	if len(q.Statuses) > 0 {
		return q.Statuses[0].ID
	}
	return 0
}

func defaultType(q sandbox.Queue) int64 {
	for _, t := range q.Types {
		if t.Default {
			return t.ID
		}
	}
	if len(q.Types) > 0 {
		return q.Types[0].ID
	}
	return 0
}
