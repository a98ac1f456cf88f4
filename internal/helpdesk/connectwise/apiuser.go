package connectwise

import (
	"context"
	"sync"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// apiUserCache holds the API member once read: the keys, and so the
// member, do not change for the life of a client.
type apiUserCache struct {
	mu sync.Mutex
	m  *helpdesk.Member
}

// APIUser implements helpdesk.Provider: GET /system/myMembers answers the
// member the API keys belong to [K] (a MyMember object). Read once per
// client.
func (c *Client) APIUser(ctx context.Context) (helpdesk.Member, error) {
	c.apiUser.mu.Lock()
	defer c.apiUser.mu.Unlock()
	if c.apiUser.m != nil {
		return *c.apiUser.m, nil
	}
	raw, err := c.getObject(ctx, "get api member", "/system/myMembers")
	if err != nil {
		return helpdesk.Member{}, wrapErr("api user", err)
	}
	m, err := toMember(raw)
	if err == nil && m.ExternalID == "" {
		err = errNoID
	}
	if err != nil {
		return helpdesk.Member{}, wrapErr("api user", err)
	}
	c.apiUser.m = &m
	return m, nil
}
