package zohodesk

import (
	"context"
	"iter"
	"sync"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// Tickets from /tickets/search carry departmentId but no department name
// (include=departments exists on GET /tickets, not on search). The client
// names a ticket's queue from the departments list, which it keeps for
// deptTTL and reloads early, at most once per deptRetry, when a ticket
// names a department it does not know.
const (
	deptTTL   = time.Hour
	deptRetry = time.Minute
)

// deptCache maps department ids to names.
type deptCache struct {
	mu       sync.Mutex
	names    map[string]string
	loadedAt time.Time
	tried    time.Time
}

func (d *deptCache) set(vals []helpdesk.PicklistValue) {
	m := make(map[string]string, len(vals))
	for _, v := range vals {
		m[v.ID] = v.Name
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.names, d.loadedAt = m, time.Now()
}

// fill names the queues it can and reports whether one was unknown.
func (d *deptCache) fill(ts []helpdesk.Ticket) (unknown bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range ts {
		q := &ts[i].Queue
		if q.ID == "" || q.Name != "" {
			continue
		}
		if name, ok := d.names[q.ID]; ok {
			q.Name = name
		} else {
			unknown = true
		}
	}
	return unknown
}

// due reports whether to (re)load the departments now, noting the try.
func (d *deptCache) due(unknown bool) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	if !(d.names == nil || unknown || now.Sub(d.loadedAt) > deptTTL) || now.Sub(d.tried) < deptRetry {
		return false
	}
	d.tried = now
	return true
}

// nameDepartments fills the queue names of ts. A failure to list the
// departments leaves them empty (and is logged): the tickets are good.
func (c *Client) nameDepartments(ctx context.Context, ts []helpdesk.Ticket) {
	if len(ts) == 0 {
		return
	}
	unknown := c.depts.fill(ts)
	if !c.depts.due(unknown) {
		return
	}
	deps, err := c.departments(ctx)
	if err != nil {
		c.cfg.Logger.WarnContext(ctx, "ticket queue names not resolved: departments unreadable", "provider", helpdesk.ZohoDesk, "err", err)
		return
	}
	c.depts.set(deps)
	c.depts.fill(ts)
}

// withDepartments names the queues of every page of a ticket stream.
func (c *Client) withDepartments(ctx context.Context, pages iter.Seq2[[]helpdesk.Ticket, error]) iter.Seq2[[]helpdesk.Ticket, error] {
	return func(yield func([]helpdesk.Ticket, error) bool) {
		for page, err := range pages {
			if err == nil {
				c.nameDepartments(ctx, page)
			}
			if !yield(page, err) || err != nil {
				return
			}
		}
	}
}
