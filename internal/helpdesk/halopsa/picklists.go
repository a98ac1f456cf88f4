package halopsa

import (
	"context"
	"fmt"
	"net/url"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// picklistSource is one picklist endpoint. Halo's config lists are bare
// arrays; an envelope under key is accepted too.
type picklistSource struct {
	kind  helpdesk.PicklistKind
	path  string
	key   string
	query url.Values
}

var picklistSources = []picklistSource{
	{helpdesk.PicklistStatus, "/Status", "statuses", url.Values{"type": {"ticket"}}},
	{helpdesk.PicklistType, "/TicketType", "tickettypes", nil},
	{helpdesk.PicklistPriority, "/Priority", "priorities", nil},
	{helpdesk.PicklistQueue, "/Team", "teams", nil},
}

// Picklists implements helpdesk.Provider. Halo's statuses, ticket types,
// priorities and teams are global, so each picklist has an empty scope.
// The status ClosedStatusID is marked Closed. Statuses are asked with
// type=ticket [C-code]; when that answers none, once more without type
// (a server reading type as the numeric status type matches nothing for
// "ticket" [INF]). A status list that is still empty is returned as it
// is: the reconciler reports it as drift with its likely cause.
func (c *Client) Picklists(ctx context.Context) ([]helpdesk.Picklist, error) {
	out := make([]helpdesk.Picklist, 0, len(picklistSources))
	for _, s := range picklistSources {
		pl, err := c.picklist(ctx, s)
		if err == nil && s.kind == helpdesk.PicklistStatus && len(pl.Values) == 0 {
			// Read as the numeric status type, type=ticket matches no
			// status [INF]: ask once more without the filter.
			s.query = nil
			pl, err = c.picklist(ctx, s)
		}
		if err != nil {
			return nil, fmt.Errorf("halopsa: list %s: %w", s.kind, err)
		}
		out = append(out, pl)
	}
	c.names.set(out)
	return out, nil
}

func (c *Client) picklist(ctx context.Context, s picklistSource) (helpdesk.Picklist, error) {
	p := &page{key: s.key}
	if err := c.getList(ctx, "list "+string(s.kind), s.path, s.query, p); err != nil {
		return helpdesk.Picklist{}, err
	}
	pl := helpdesk.Picklist{Kind: s.kind, Values: make([]helpdesk.PicklistValue, 0, len(p.records))}
	seen := map[string]bool{}
	for _, r := range p.records {
		var w wireValue
		if err := r.decode(&w); err != nil {
			return pl, fmt.Errorf("decode %s value: %w", s.kind, err)
		}
		v := w.value()
		if v.ID == "" || seen[v.ID] {
			continue // priorities repeat per SLA
		}
		seen[v.ID] = true
		v.Closed = s.kind == helpdesk.PicklistStatus && v.ID == c.cfg.ClosedStatusID
		pl.Values = append(pl.Values, v)
	}
	return pl, nil
}

// CreatePicklistValue implements helpdesk.Provider. The wire facts name no
// endpoint that creates statuses, ticket types, priorities or teams, so
// every kind is helpdesk.ErrUnsupported.
func (c *Client) CreatePicklistValue(_ context.Context, kind helpdesk.PicklistKind, _, name string) (helpdesk.PicklistValue, error) {
	return helpdesk.PicklistValue{}, fmt.Errorf("halopsa: create %s value %q: %w", kind, name, helpdesk.ErrUnsupported)
}
