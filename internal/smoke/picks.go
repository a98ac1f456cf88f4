package smoke

import (
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// values returns the active values of a picklist kind that apply to a
// board: its own (per-board statuses) or the global ones.
func (r *run) values(kind helpdesk.PicklistKind, queueID string) []helpdesk.PicklistValue {
	var scoped, global []helpdesk.PicklistValue
	for _, p := range r.picks {
		if p.Kind != kind {
			continue
		}
		for _, v := range p.Values {
			if !v.Active {
				continue
			}
			switch {
			case p.Scope == "" && p.ScopeID == "":
				global = append(global, v)
			case queueID != "" && p.ScopeID == queueID:
				scoped = append(scoped, v)
			}
		}
	}
	if len(scoped) > 0 {
		return scoped
	}
	return global
}

// pick finds a value by ID or name (case-insensitive).
func (r *run) pick(kind helpdesk.PicklistKind, queueID, nameOrID string) (helpdesk.PicklistValue, bool) {
	vals := r.values(kind, queueID)
	for _, v := range vals {
		if v.ID == nameOrID {
			return v, true
		}
	}
	for _, v := range vals {
		if strings.EqualFold(v.Name, nameOrID) {
			return v, true
		}
	}
	return helpdesk.PicklistValue{}, false
}

// openStatus returns an open status of the board other than not,
// preferring the default.
func (r *run) openStatus(queueID, not string) (helpdesk.PicklistValue, bool) {
	var found []helpdesk.PicklistValue
	for _, v := range r.values(helpdesk.PicklistStatus, queueID) {
		if !v.Closed && v.ID != not {
			found = append(found, v)
		}
	}
	if len(found) == 0 {
		return helpdesk.PicklistValue{}, false
	}
	for _, v := range found {
		if v.Default {
			return v, true
		}
	}
	return found[0], true
}

// closeStatus is smoke.closeStatus, or the board's first closed status.
func (r *run) closeStatus(queueID string) (helpdesk.PicklistValue, bool) {
	if want := r.o.Config.Smoke.CloseStatus; want != "" {
		return r.pick(helpdesk.PicklistStatus, queueID, want)
	}
	for _, v := range r.values(helpdesk.PicklistStatus, queueID) {
		if v.Closed {
			return v, true
		}
	}
	return helpdesk.PicklistValue{}, false
}

// queueName names a board, queue, department or team for a report.
func (r *run) queueName(id string) string {
	for _, kind := range []helpdesk.PicklistKind{helpdesk.PicklistQueue, helpdesk.PicklistDepartment} {
		if v, ok := r.pick(kind, "", id); ok && v.ID == id {
			return v.Name
		}
	}
	if id == "" {
		return "the default queue"
	}
	return "queue " + id
}
