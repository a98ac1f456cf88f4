package zohodesk

import (
	"context"
	"net/http"
	"net/url"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// ticketFieldKinds maps organizationFields apiNames to picklist kinds.
var ticketFieldKinds = map[string]helpdesk.PicklistKind{
	"status":         helpdesk.PicklistStatus,
	"priority":       helpdesk.PicklistPriority,
	"classification": helpdesk.PicklistType,
}

// Picklists implements helpdesk.Provider. Statuses, priorities and types
// (classification) come from the allowedValues of GET
// /organizationFields?module=tickets (Zoho has no statuses endpoint); a
// value's id is its name, and a status is closed when its statusType is
// Closed. Statuses are org-wide (no per-department scope). Departments
// come from GET /departments; a ticket's Queue is its department.
func (c *Client) Picklists(ctx context.Context) ([]helpdesk.Picklist, error) {
	lists, err := c.fieldPicklists(ctx)
	if err != nil {
		return nil, err
	}
	deps, err := c.departments(ctx)
	if err != nil {
		return nil, err
	}
	c.depts.set(deps)
	lists = append(lists, helpdesk.Picklist{Kind: helpdesk.PicklistDepartment, Values: deps})
	return lists, nil
}

func (c *Client) fieldPicklists(ctx context.Context) ([]helpdesk.Picklist, error) {
	var out struct {
		Data []wireField `json:"data"`
	}
	r := request{op: "list picklists", method: http.MethodGet, path: "/organizationFields",
		query: url.Values{"module": {"tickets"}}}
	if _, err := c.call(ctx, r, &out); err != nil {
		return nil, err
	}
	var lists []helpdesk.Picklist
	for _, kind := range []string{"status", "classification", "priority"} {
		for _, f := range out.Data {
			if f.APIName == kind {
				lists = append(lists, fieldPicklist(ticketFieldKinds[kind], f))
			}
		}
	}
	return lists, nil
}

func fieldPicklist(kind helpdesk.PicklistKind, f wireField) helpdesk.Picklist {
	p := helpdesk.Picklist{Kind: kind, Values: []helpdesk.PicklistValue{}}
	for i, v := range f.AllowedValues {
		p.Values = append(p.Values, helpdesk.PicklistValue{
			ID: v.Value, Name: v.Value, Active: true, Sort: i,
			Closed: kind == helpdesk.PicklistStatus && (v.StatusType == "Closed" || v.StatusType == "CLOSED"),
		})
	}
	return p
}

func (c *Client) departments(ctx context.Context) ([]helpdesk.PicklistValue, error) {
	const op = "list departments"
	pages := c.listPages(ctx, op, "/departments", nil, agentPage)
	vals, err := collect(convertPages(pages, op, nil, decodeDepartment))
	if err != nil {
		return nil, err
	}
	for i := range vals {
		vals[i].Sort = i
	}
	if vals == nil {
		vals = []helpdesk.PicklistValue{}
	}
	return vals, nil
}

// CreatePicklistValue implements helpdesk.Provider: Zoho Desk's API cannot
// add picklist values, so it always returns helpdesk.ErrUnsupported.
func (c *Client) CreatePicklistValue(context.Context, helpdesk.PicklistKind, string, string) (helpdesk.PicklistValue, error) {
	return helpdesk.PicklistValue{}, &helpdesk.Error{Provider: helpdesk.ZohoDesk, Op: "create picklist value",
		Kind: helpdesk.ErrUnsupported, Message: "Zoho Desk's API cannot add picklist values; add them in Setup"}
}
