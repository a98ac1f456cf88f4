package halopsa

import (
	"context"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// APIUser implements helpdesk.Provider: GET /Agent/me, the agent the API
// application acts as [C-code].
func (c *Client) APIUser(ctx context.Context) (helpdesk.Member, error) {
	return c.Me(ctx)
}
