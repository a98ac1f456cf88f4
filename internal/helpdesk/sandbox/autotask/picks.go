package autotask

import (
	"strconv"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// System picklist values [K]: status 1 is New, 5 is Complete.
const (
	statusNew      = 1
	statusComplete = 5
	// roleHelpDesk is the one role every resource defaults to for service
	// desk work; assignments and time entries name it.
	roleHelpDesk = 29683461
)

// pickValue is one picklist value as entityInformation/fields serves it.
type pickValue struct {
	value  int64
	label  string
	def    bool
	active bool
	system bool
	sort   int
	parent string
}

func (p pickValue) wire() map[string]any {
	return map[string]any{"value": strconv.FormatInt(p.value, 10), "label": p.label,
		"isDefaultValue": p.def, "sortOrder": p.sort, "parentValue": p.parent,
		"isActive": p.active, "isSystem": p.system}
}

// scoped renders a World picklist that is per queue (statuses, types) as
// Autotask's global picklist: one value per distinct name.
type scoped struct {
	vals      []pickValue
	fromWorld map[int64]int64            // World ID → picklist value
	byValue   map[int64]string           // value → lower-cased name
	inQueue   map[int64]map[string]int64 // queue → lower-cased name → World ID
}

type scopedItem struct {
	id       int64
	name     string
	closed   bool
	def      bool
	inactive bool
}

// buildScoped assigns values by first appearance, so they stay stable as
// the World grows; assign picks a fixed value for a name (0: next free).
func buildScoped(qs []sandbox.Queue, items func(sandbox.Queue) []scopedItem, assign func(scopedItem, map[int64]bool) int64, next int64) scoped {
	s := scoped{fromWorld: map[int64]int64{}, byValue: map[int64]string{}, inQueue: map[int64]map[string]int64{}}
	used, byName := map[int64]bool{}, map[string]int64{}
	for _, q := range qs {
		s.inQueue[q.ID] = map[string]int64{}
		for _, it := range items(q) {
			name := strings.ToLower(it.name)
			s.inQueue[q.ID][name] = it.id
			v, seen := byName[name]
			if !seen {
				if v = assign(it, used); v == 0 {
					for used[next] {
						next++
					}
					v = next
				}
				used[v], byName[name], s.byValue[v] = true, v, name
				s.vals = append(s.vals, pickValue{value: v, label: it.name, def: it.def, active: !it.inactive,
					system: v == statusNew || v == statusComplete, sort: len(s.vals)})
			}
			s.fromWorld[it.id] = v
		}
	}
	return s
}

// worldID returns the World ID of picklist value v in queue q.
func (s scoped) worldID(q, v int64) (int64, bool) {
	name, ok := s.byValue[v]
	if !ok {
		return 0, false
	}
	id, ok := s.inQueue[q][name]
	return id, ok
}

func statusItems(q sandbox.Queue) []scopedItem {
	out := make([]scopedItem, len(q.Statuses))
	for i, s := range q.Statuses {
		out[i] = scopedItem{id: s.ID, name: s.Name, closed: s.Closed, def: s.Default, inactive: s.Inactive}
	}
	return out
}

func typeItems(q sandbox.Queue) []scopedItem {
	out := make([]scopedItem, len(q.Types))
	for i, t := range q.Types {
		out[i] = scopedItem{id: t.ID, name: t.Name, def: t.Default, inactive: t.Inactive}
	}
	return out
}

// statusValue gives New the value 1 and the first closing status 5 [K].
func statusValue(it scopedItem, used map[int64]bool) int64 {
	switch {
	case strings.EqualFold(it.name, "new") && !used[statusNew]:
		return statusNew
	case it.closed && !used[statusComplete]:
		return statusComplete
	}
	return 0
}

// picks is every picklist, rendered from the World at one moment.
type picks struct {
	status  scoped
	types   scoped
	lists   map[string][]pickValue
	queueOf map[int64]bool
}

// Static picklists the World does not model; values are tenant-specific
// in Autotask [K], these are plausible ones.
var (
	sourceValues      = []pickValue{{value: 2, label: "Client Portal", active: true}, {value: 4, label: "Phone", active: true, def: true}, {value: 6, label: "Email", active: true}}
	noteTypeValues    = []pickValue{{value: 1, label: "Task Detail", active: true, def: true}, {value: 2, label: "Task Summary", active: true}, {value: 3, label: "Task Notes", active: true}}
	publishValues     = []pickValue{{value: 1, label: "All Autotask Users", active: true, def: true}, {value: 2, label: "Internal Only", active: true}, {value: 3, label: "Internal & Co-managed", active: true}}
	companyTypeValues = []pickValue{{value: 1, label: "Customer", active: true, def: true}, {value: 3, label: "Prospect", active: true}}
)

func (e *Emulator) picks() *picks {
	qs := e.world.Queues()
	pk := &picks{status: buildScoped(qs, statusItems, statusValue, 7),
		types:   buildScoped(qs, typeItems, func(scopedItem, map[int64]bool) int64 { return 0 }, 1),
		queueOf: map[int64]bool{}}
	var queues, prios []pickValue
	for i, q := range qs {
		queues = append(queues, pickValue{value: q.ID, label: q.Name, active: !q.Inactive, sort: i})
		pk.queueOf[q.ID] = true
	}
	for _, p := range e.world.Priorities() {
		prios = append(prios, pickValue{value: p.ID, label: p.Name, def: p.Default, active: !p.Inactive, sort: p.Sort})
	}
	pk.lists = map[string][]pickValue{"status": pk.status.vals, "ticketType": pk.types.vals,
		"queueID": queues, "priority": prios, "source": sourceValues, "noteType": noteTypeValues,
		"publish": publishValues, "companyType": companyTypeValues}
	return pk
}

// valid reports whether v is an active value of picklist name.
func (pk *picks) valid(name string, v int64) bool {
	for _, p := range pk.lists[name] {
		if p.value == v {
			return p.active
		}
	}
	return false
}

// publishInternal reports whether a publish value hides the note from
// customers.
func publishInternal(v int64) bool { return v != 1 }
