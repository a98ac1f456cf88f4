package halopsa

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// Halo tickets carry status_id, priority_id and tickettype_id without
// names; the client resolves them from the picklists, which it keeps for
// namesTTL and reloads early, at most once per namesRetry, when a ticket
// names an id it does not know (a value added in Halo since).
const (
	namesTTL   = time.Hour
	namesRetry = time.Minute
)

// nameCache maps picklist ids to names, by kind.
type nameCache struct {
	mu       sync.Mutex
	names    map[helpdesk.PicklistKind]map[string]string
	loadedAt time.Time
	tried    time.Time
}

// set replaces the names with those of lists (every Picklists call
// refreshes them for free).
func (n *nameCache) set(lists []helpdesk.Picklist) {
	names := map[helpdesk.PicklistKind]map[string]string{}
	for _, l := range lists {
		m := map[string]string{}
		for _, v := range l.Values {
			m[v.ID] = v.Name
		}
		names[l.Kind] = m
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.names, n.loadedAt = names, time.Now()
}

// refs lists the references of a ticket that names resolve.
func refs(t *helpdesk.Ticket) map[helpdesk.PicklistKind]*helpdesk.Ref {
	return map[helpdesk.PicklistKind]*helpdesk.Ref{helpdesk.PicklistStatus: &t.Status,
		helpdesk.PicklistPriority: &t.Priority, helpdesk.PicklistType: &t.Type, helpdesk.PicklistQueue: &t.Queue}
}

// fill names what it can and reports whether an id was unknown.
func (n *nameCache) fill(ts []helpdesk.Ticket) (unknown bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i := range ts {
		for kind, r := range refs(&ts[i]) {
			if r.ID == "" || r.Name != "" {
				continue
			}
			if name, ok := n.names[kind][r.ID]; ok {
				r.Name = name
			} else {
				unknown = true
			}
		}
	}
	return unknown
}

// due reports whether the names should be (re)loaded now, and notes the
// attempt.
func (n *nameCache) due(unknown bool) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := time.Now()
	stale := n.names == nil || now.Sub(n.loadedAt) > namesTTL || unknown
	if !stale || now.Sub(n.tried) < namesRetry {
		return false
	}
	n.tried = now
	return true
}

// resolveNames fills the status, priority, type and team names of ts. A
// failure to read the picklists leaves the names empty (and is logged):
// the tickets themselves are still good.
func (c *Client) resolveNames(ctx context.Context, ts []helpdesk.Ticket) {
	if len(ts) == 0 {
		return
	}
	unknown := c.names.fill(ts)
	if !c.names.due(unknown) {
		return
	}
	if _, err := c.Picklists(ctx); err != nil {
		c.cfg.Logger.WarnContext(ctx, "ticket names not resolved: picklists unreadable", "provider", helpdesk.HaloPSA, "err", err)
		return
	}
	c.names.fill(ts)
}

// skip reports a record a listing leaves out to q.Skip, with its id when
// it can be read.
func skip(q helpdesk.Query, entity helpdesk.Entity, raw rawObject, err error) {
	if q.Skip == nil {
		return
	}
	var head struct {
		ID json.RawMessage `json:"id"`
	}
	_ = json.Unmarshal(raw, &head)
	q.Skip(helpdesk.Skipped{Entity: entity, ID: strings.Trim(string(head.ID), `"`), Reason: err.Error()})
}
