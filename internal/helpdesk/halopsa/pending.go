package halopsa

import (
	"context"
	"fmt"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// The marker look-ups and the API user are not implemented yet for this
// provider: they report ErrUnsupported, which callers treat as "cannot
// tell" (never as "absent").

// APIUser implements helpdesk.Provider.
func (c *Client) APIUser(ctx context.Context) (helpdesk.Member, error) {
	return helpdesk.Member{}, fmt.Errorf("halopsa: api user: %w", helpdesk.ErrUnsupported)
}
