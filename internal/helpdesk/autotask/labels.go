package autotask

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// DefaultPicklistTTL is how long the Tickets picklist labels are kept
// before they are read again.
const DefaultPicklistTTL = 15 * time.Minute

// labels holds the Tickets picklist labels by field and value: Autotask
// tickets carry picklist values only [K], so names come from
// entityInformation/fields.
type labels struct {
	mu      sync.Mutex
	at      time.Time                    // when byField was read
	byField map[string]map[string]string // lower-cased field → value → label
}

// set replaces the labels with those of fields (a fresh read).
func (l *labels) set(fields map[string]fieldInfo, now time.Time) map[string]map[string]string {
	m := map[string]map[string]string{}
	for _, tp := range ticketPicklists {
		f := fields[strings.ToLower(tp.field)]
		vals := make(map[string]string, len(f.PicklistValues))
		for _, v := range f.PicklistValues {
			vals[v.Value] = v.Label
		}
		m[strings.ToLower(tp.field)] = vals
	}
	l.byField, l.at = m, now
	return m
}

// nameTickets fills the names of the status, priority, type and queue of
// ts from the cached labels. The labels are read again when older than
// the TTL, or when a value is missing from labels read more than a
// minute ago (a value added in the PSA since).
func (c *Client) nameTickets(ctx context.Context, ts []helpdesk.Ticket) error {
	if len(ts) == 0 {
		return nil
	}
	l := &c.labels
	l.mu.Lock()
	defer l.mu.Unlock()
	ttl := c.cfg.PicklistTTL
	if ttl <= 0 {
		ttl = DefaultPicklistTTL
	}
	now := time.Now()
	if l.byField == nil || now.Sub(l.at) > ttl || (now.Sub(l.at) > min(ttl, time.Minute) && !fill(l.byField, ts, false)) {
		fields, err := c.fields(ctx, "Tickets")
		if err != nil {
			return fmt.Errorf("ticket picklist labels: %w", err)
		}
		l.set(fields, now)
	}
	fill(l.byField, ts, true)
	return nil
}

// fill names ts's references from byField when apply is set, and reports
// whether every value had a label.
func fill(byField map[string]map[string]string, ts []helpdesk.Ticket, apply bool) bool {
	all := true
	for i := range ts {
		t := &ts[i]
		for _, r := range []struct {
			field string
			ref   *helpdesk.Ref
		}{{"status", &t.Status}, {"priority", &t.Priority}, {"tickettype", &t.Type}, {"queueid", &t.Queue}} {
			if r.ref.ID == "" {
				continue
			}
			name, ok := byField[r.field][r.ref.ID]
			all = all && ok
			if ok && apply {
				r.ref.Name = name
			}
		}
	}
	return all
}
