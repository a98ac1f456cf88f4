package halopsa

import (
	"context"
	"fmt"
	"iter"
	"net/url"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// Contacts implements helpdesk.Provider: GET /Users, active and inactive,
// ordered by id. Halo documents no last-updated filter on users, so
// q.Since is not sent and every contact is returned each time (a
// superset); UpdatedAt is zero.
func (c *Client) Contacts(ctx context.Context, q helpdesk.Query) iter.Seq2[[]helpdesk.Contact, error] {
	v := url.Values{"order": {"id"}, "includeactive": {"true"}, "includeinactive": {"true"}}
	l := list{op: "list contacts", path: "/Users", key: "users", query: v, size: c.pageSize(q)}
	return stream(c.pages(ctx, l), l.op, contact)
}

// Companies implements helpdesk.Provider: GET /Client, active and
// inactive, ordered by id. Like Contacts it ignores q.Since.
func (c *Client) Companies(ctx context.Context, q helpdesk.Query) iter.Seq2[[]helpdesk.Company, error] {
	v := url.Values{"order": {"id"}, "includeactive": {"true"}, "includeinactive": {"true"}}
	l := list{op: "list companies", path: "/Client", key: "clients", query: v, size: c.pageSize(q)}
	return stream(c.pages(ctx, l), l.op, company)
}

// Members implements helpdesk.Provider: GET /Agent with enabled and
// disabled agents, in one unpaged answer (q is ignored).
func (c *Client) Members(ctx context.Context, _ helpdesk.Query) iter.Seq2[[]helpdesk.Member, error] {
	return func(yield func([]helpdesk.Member, error) bool) {
		p := &page{key: "agents"}
		q := url.Values{"includeenabled": {"true"}, "includedisabled": {"true"}}
		if err := c.getList(ctx, "list members", "/Agent", q, p); err != nil {
			yield(nil, fmt.Errorf("halopsa: list members: %w", err))
			return
		}
		out, err := convertAll(p.records, member)
		if err != nil {
			yield(nil, fmt.Errorf("halopsa: list members: %w", err))
			return
		}
		if len(out) > 0 {
			yield(out, nil)
		}
	}
}
