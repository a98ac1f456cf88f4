package connectwise

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// collect walks a list endpoint to the end.
func collect[T any](ctx context.Context, c *Client, s listSpec, conv func(json.RawMessage) (T, error)) ([]T, error) {
	var out []T
	for page, err := range stream(ctx, c, s, conv) {
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
	}
	return out, nil
}

// Picklists implements helpdesk.Provider: service boards (queues), each
// board's statuses and types, and the global priorities. Project boards
// are left out.
func (c *Client) Picklists(ctx context.Context) ([]helpdesk.Picklist, error) {
	boards, err := c.boards(ctx)
	if err != nil {
		return nil, wrapErr("picklists", err)
	}
	queues := helpdesk.Picklist{Kind: helpdesk.PicklistQueue}
	out := []helpdesk.Picklist{}
	for _, b := range boards {
		queues.Values = append(queues.Values, helpdesk.PicklistValue{ID: idString(b.ID), Name: b.Name, Active: !b.InactiveFlag})
		lists, err := c.boardPicklists(ctx, b)
		if err != nil {
			return nil, wrapErr(fmt.Sprintf("picklists of board %d", b.ID), err)
		}
		out = append(out, lists...)
	}
	prio, err := c.priorities(ctx)
	if err != nil {
		return nil, wrapErr("picklists", err)
	}
	return append([]helpdesk.Picklist{queues, prio}, out...), nil
}

func (c *Client) boards(ctx context.Context) ([]boardWire, error) {
	all, err := collect(ctx, c, listSpec{op: "list boards", path: "/service/boards", small: true}, decode[boardWire])
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, b := range all {
		if !b.ProjectFlag {
			out = append(out, b)
		}
	}
	return out, nil
}

func (c *Client) boardPicklists(ctx context.Context, b boardWire) ([]helpdesk.Picklist, error) {
	path := fmt.Sprintf("/service/boards/%d", b.ID)
	statuses, err := collect(ctx, c, listSpec{op: "list board statuses", path: path + "/statuses", small: true}, decode[boardStatusWire])
	if err != nil {
		return nil, err
	}
	types, err := collect(ctx, c, listSpec{op: "list board types", path: path + "/types", small: true}, decode[boardTypeWire])
	if err != nil {
		return nil, err
	}
	sp := helpdesk.Picklist{Kind: helpdesk.PicklistStatus, Scope: b.Name, ScopeID: idString(b.ID), Values: []helpdesk.PicklistValue{}}
	for _, s := range statuses {
		sp.Values = append(sp.Values, statusValue(s))
	}
	tp := helpdesk.Picklist{Kind: helpdesk.PicklistType, Scope: b.Name, ScopeID: idString(b.ID), Values: []helpdesk.PicklistValue{}}
	for i, t := range types {
		tp.Values = append(tp.Values, helpdesk.PicklistValue{ID: idString(t.ID), Name: t.Name,
			Active: !t.InactiveFlag, Default: t.DefaultFlag, Sort: i})
	}
	return []helpdesk.Picklist{sp, tp}, nil
}

func statusValue(s boardStatusWire) helpdesk.PicklistValue {
	return helpdesk.PicklistValue{ID: idString(s.ID), Name: s.Name, Active: !s.Inactive,
		Closed: s.ClosedStatus, Default: s.DefaultFlag, Sort: s.SortOrder}
}

func (c *Client) priorities(ctx context.Context) (helpdesk.Picklist, error) {
	prios, err := collect(ctx, c, listSpec{op: "list priorities", path: "/service/priorities", small: true}, decode[priorityWire])
	if err != nil {
		return helpdesk.Picklist{}, err
	}
	p := helpdesk.Picklist{Kind: helpdesk.PicklistPriority, Values: []helpdesk.PicklistValue{}}
	for _, v := range prios {
		p.Values = append(p.Values, helpdesk.PicklistValue{ID: idString(v.ID), Name: v.Name, Active: true,
			Default: v.DefaultFlag, Sort: v.SortOrder})
	}
	return p, nil
}

// statusCreate is the body of POST /service/boards/{id}/statuses.
type statusCreate struct {
	Name  string `json:"name"`
	Board idRef  `json:"board"`
}

// CreatePicklistValue implements helpdesk.Provider. Only board statuses
// can be created (scope names the board, by name or id); other kinds are
// helpdesk.ErrUnsupported.
func (c *Client) CreatePicklistValue(ctx context.Context, kind helpdesk.PicklistKind, scope, name string) (helpdesk.PicklistValue, error) {
	if kind != helpdesk.PicklistStatus {
		return helpdesk.PicklistValue{}, unsupported("create " + string(kind) + " value")
	}
	if strings.TrimSpace(name) == "" {
		return helpdesk.PicklistValue{}, fmt.Errorf("connectwise: create status: %w: empty name", helpdesk.ErrInvalid)
	}
	board, err := c.findBoard(ctx, scope)
	if err != nil {
		return helpdesk.PicklistValue{}, wrapErr(fmt.Sprintf("create status %q", name), err)
	}
	var s boardStatusWire
	path := fmt.Sprintf("/service/boards/%d/statuses", board.ID)
	if err := c.post(ctx, "create board status", path, statusCreate{Name: name, Board: idRef{ID: board.ID}}, &s); err != nil {
		return helpdesk.PicklistValue{}, wrapErr(fmt.Sprintf("create status %q on board %d", name, board.ID), err)
	}
	return statusValue(s), nil
}

// findBoard finds a board by id or by name (case-insensitive).
func (c *Client) findBoard(ctx context.Context, scope string) (boardWire, error) {
	boards, err := c.boards(ctx)
	if err != nil {
		return boardWire{}, err
	}
	scope = strings.TrimSpace(scope)
	for _, b := range boards {
		if idString(b.ID) == scope || strings.EqualFold(b.Name, scope) {
			return b, nil
		}
	}
	return boardWire{}, fmt.Errorf("board %q: %w", scope, helpdesk.ErrNotFound)
}
