package connectwise

import (
	"context"
	"fmt"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// The API user is not implemented yet for this provider: it reports
// ErrUnsupported, which callers treat as "cannot tell".

// APIUser implements helpdesk.Provider.
func (c *Client) APIUser(ctx context.Context) (helpdesk.Member, error) {
	return helpdesk.Member{}, fmt.Errorf("connectwise: api user: %w", helpdesk.ErrUnsupported)
}
