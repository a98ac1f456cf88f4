package writeback

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// payload is a request resolved to the PSA's IDs, as stored in the
// outbox. Names are kept beside IDs for the write log and for answers.
type payload struct {
	Ticket *ticketPayload `json:"ticket,omitempty"`
	Update *updatePayload `json:"update,omitempty"`
	Note   *AddNote       `json:"note,omitempty"`
	Time   *AddTime       `json:"time,omitempty"`
	// APIUser is true when the write is made as the credentials' PSA user
	// (writeback.unmappedAuthor: apiUser).
	APIUser bool `json:"apiUser,omitempty"`
}

type ticketPayload struct {
	Summary     string       `json:"summary"`
	Description string       `json:"description,omitempty"`
	CompanyID   string       `json:"companyId,omitempty"`
	ContactID   string       `json:"contactId,omitempty"`
	Queue       helpdesk.Ref `json:"queue,omitzero"`
	Type        helpdesk.Ref `json:"type,omitzero"`
	Priority    helpdesk.Ref `json:"priority,omitzero"`
	Status      helpdesk.Ref `json:"status,omitzero"`
}

type updatePayload struct {
	Status   helpdesk.Ref `json:"status,omitzero"`
	Assignee helpdesk.Ref `json:"assignee,omitzero"` // member ID, Horizon user
	Priority helpdesk.Ref `json:"priority,omitzero"`
	Type     helpdesk.Ref `json:"type,omitzero"`
	// Board is the ticket's board when statuses were resolved on it.
	Board string `json:"board,omitempty"`
}

// directory is what resolution reads from the store: mappings, members
// and the picklist database.
type directory struct {
	byHorizon map[string]string // lower-case Horizon user → member ID
	members   map[string]helpdesk.Member
	picklists []helpdesk.Picklist
}

func loadDirectory(ctx context.Context, st store.Store, sc store.Scope) (*directory, error) {
	maps, err := st.UserMappings(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("writeback: read user mappings: %w", err)
	}
	ms, err := st.Members(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("writeback: read helpdesk users: %w", err)
	}
	pl, _, err := st.Picklists(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("writeback: read picklist database: %w", err)
	}
	d := &directory{byHorizon: map[string]string{}, members: map[string]helpdesk.Member{}, picklists: pl}
	for _, m := range maps {
		d.byHorizon[strings.ToLower(strings.TrimSpace(m.HorizonUser))] = m.HelpdeskUserID
	}
	for _, m := range ms {
		d.members[m.ExternalID] = m
	}
	return d, nil
}

// member returns the helpdesk user mapped to a Horizon user.
func (d *directory) member(horizonUser string) (helpdesk.Member, bool) {
	id, ok := d.byHorizon[strings.ToLower(strings.TrimSpace(horizonUser))]
	if !ok {
		return helpdesk.Member{}, false
	}
	m, known := d.members[id]
	if !known {
		m = helpdesk.Member{ExternalID: id, Name: horizonUser, Active: true}
	}
	return m, true
}

// author resolves who a write is made as: the mapped member, or the API
// user when unmappedAuthor allows it.
func (d *directory) author(user string, policy config.UnmappedAuthor) (m helpdesk.Member, apiUser bool, err error) {
	if strings.TrimSpace(user) == "" {
		return m, false, invalid("author", "the acting Horizon user is missing")
	}
	if m, ok := d.member(user); ok {
		if !m.Active {
			return m, false, invalid("author", "%s is mapped to helpdesk user %s (%s), who is inactive in the PSA", user, m.ExternalID, m.Name)
		}
		return m, false, nil
	}
	if policy == config.UnmappedAuthorAPIUser {
		return helpdesk.Member{}, true, nil
	}
	return m, false, &UnmappedError{Field: "author", User: user}
}

// assignee resolves a Horizon user to assign a ticket to.
func (d *directory) assignee(user string) (helpdesk.Ref, error) {
	m, ok := d.member(user)
	if !ok {
		return helpdesk.Ref{}, &UnmappedError{Field: "assignee", User: user}
	}
	if !m.Active {
		return helpdesk.Ref{}, invalid("assignee", "%s is mapped to helpdesk user %s (%s), who is inactive in the PSA", user, m.ExternalID, m.Name)
	}
	return helpdesk.Ref{ID: m.ExternalID, Name: user}, nil
}

// pick resolves a picklist value by ID or name (case-insensitive) on a
// board (its name or ID; "" for global picklists). A value the database
// does not hold is an error listing the valid names; an empty database
// passes the value through as an ID, for the PSA to judge.
func (d *directory) pick(field string, kinds []helpdesk.PicklistKind, board helpdesk.Ref, value string) (helpdesk.Ref, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return helpdesk.Ref{}, nil
	}
	lists := d.lists(kinds, board)
	if len(lists) == 0 {
		return helpdesk.Ref{ID: value}, nil
	}
	var valid []string
	for _, pl := range lists {
		for _, v := range pl.Values {
			if v.ID == value || strings.EqualFold(v.Name, value) {
				if !v.Active {
					return helpdesk.Ref{}, invalid(field, "%s %q is inactive in the PSA%s", field, value, onBoard(pl))
				}
				return helpdesk.Ref{ID: v.ID, Name: v.Name}, nil
			}
			if v.Active {
				valid = append(valid, v.Name)
			}
		}
	}
	return helpdesk.Ref{}, invalid(field, "unknown %s %q%s; valid: %s", field, value, onBoard(lists[0]), strings.Join(valid, ", "))
}

// lists returns the picklists of kinds that apply on board: the board's
// own where the PSA keeps the kind per board, else the global ones.
func (d *directory) lists(kinds []helpdesk.PicklistKind, board helpdesk.Ref) []helpdesk.Picklist {
	var global, scoped []helpdesk.Picklist
	for _, pl := range d.picklists {
		if !slices.Contains(kinds, pl.Kind) {
			continue
		}
		switch {
		case pl.Scope == "" && pl.ScopeID == "":
			global = append(global, pl)
		case board.ID != "" && pl.ScopeID == board.ID, board.Name != "" && strings.EqualFold(pl.Scope, board.Name):
			scoped = append(scoped, pl)
		}
	}
	if len(scoped) > 0 {
		return scoped
	}
	return global
}

func onBoard(pl helpdesk.Picklist) string {
	if pl.Scope == "" {
		return ""
	}
	return " on board " + pl.Scope
}

var queueKinds = []helpdesk.PicklistKind{helpdesk.PicklistQueue, helpdesk.PicklistDepartment}

// resolveCreate resolves a new ticket, filling unset fields from the
// file's defaults.
func (d *directory) resolveCreate(c CreateTicket, def config.TicketDefaults) (*ticketPayload, error) {
	if strings.TrimSpace(c.Summary) == "" {
		return nil, invalid("summary", "a new ticket needs a summary")
	}
	p := &ticketPayload{Summary: c.Summary, Description: c.Description, CompanyID: or(c.Company, def.Company), ContactID: c.Contact}
	var errs []error
	var err error
	if p.Queue, err = d.pick("queue", queueKinds, helpdesk.Ref{}, or(c.Queue, def.Queue)); err != nil {
		errs = append(errs, err)
	}
	if p.Type, err = d.pick("type", []helpdesk.PicklistKind{helpdesk.PicklistType}, p.Queue, or(c.Type, def.Type)); err != nil {
		errs = append(errs, err)
	}
	if p.Priority, err = d.pick("priority", []helpdesk.PicklistKind{helpdesk.PicklistPriority}, p.Queue, or(c.Priority, def.Priority)); err != nil {
		errs = append(errs, err)
	}
	if p.Status, err = d.pick("status", []helpdesk.PicklistKind{helpdesk.PicklistStatus}, p.Queue, or(c.Status, def.Status)); err != nil {
		errs = append(errs, err)
	}
	return p, first(errs)
}

// resolveUpdate resolves a change to ticket t.
func (d *directory) resolveUpdate(u UpdateTicket, t helpdesk.Ticket) (*updatePayload, error) {
	if u == (UpdateTicket{}) {
		return nil, invalid("status", "nothing to change: give status, assignee, priority or type")
	}
	p := &updatePayload{Board: t.Queue.Name}
	var errs []error
	var err error
	if p.Status, err = d.pick("status", []helpdesk.PicklistKind{helpdesk.PicklistStatus}, t.Queue, u.Status); err != nil {
		errs = append(errs, err)
	}
	if p.Priority, err = d.pick("priority", []helpdesk.PicklistKind{helpdesk.PicklistPriority}, t.Queue, u.Priority); err != nil {
		errs = append(errs, err)
	}
	if p.Type, err = d.pick("type", []helpdesk.PicklistKind{helpdesk.PicklistType}, t.Queue, u.Type); err != nil {
		errs = append(errs, err)
	}
	if strings.TrimSpace(u.Assignee) != "" {
		if p.Assignee, err = d.assignee(u.Assignee); err != nil {
			errs = append(errs, err)
		}
	}
	return p, first(errs)
}

// validStatuses lists the active status names on a board, for answers
// that explain a refused status.
func (d *directory) validStatuses(board helpdesk.Ref) []string {
	var out []string
	for _, pl := range d.lists([]helpdesk.PicklistKind{helpdesk.PicklistStatus}, board) {
		for _, v := range pl.Values {
			if v.Active {
				out = append(out, v.Name)
			}
		}
	}
	return out
}

func or(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

func first(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return errors.Join(errs...)
}
