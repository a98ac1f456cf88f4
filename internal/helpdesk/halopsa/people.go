package halopsa

import (
	"context"
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
	return stream(c.pages(ctx, l), l.op, q, helpdesk.EntityContacts, contact)
}

// Companies implements helpdesk.Provider: GET /Client, active and
// inactive, ordered by id. Like Contacts it ignores q.Since.
func (c *Client) Companies(ctx context.Context, q helpdesk.Query) iter.Seq2[[]helpdesk.Company, error] {
	v := url.Values{"order": {"id"}, "includeactive": {"true"}, "includeinactive": {"true"}}
	l := list{op: "list companies", path: "/Client", key: "clients", query: v, size: c.pageSize(q)}
	return stream(c.pages(ctx, l), l.op, q, helpdesk.EntityCompanies, company)
}

// Members implements helpdesk.Provider: GET /Agent with enabled and
// disabled agents, in one unpaged answer (q is ignored).
func (c *Client) Members(ctx context.Context, q helpdesk.Query) iter.Seq2[[]helpdesk.Member, error] {
	one := func(yield func([]rawObject, error) bool) {
		p := &page{key: "agents"}
		v := url.Values{"includeenabled": {"true"}, "includedisabled": {"true"}}
		if err := c.getList(ctx, "list members", "/Agent", v, p); err != nil {
			yield(nil, err)
			return
		}
		yield(p.records, nil)
	}
	return stream(one, "list members", q, helpdesk.EntityMembers, member)
}
