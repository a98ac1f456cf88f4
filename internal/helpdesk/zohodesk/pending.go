package zohodesk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// APIUser implements helpdesk.Provider: GET /myinfo, the agent the OAuth
// token was granted by [3P R8: /myinfo is listed with the agents
// endpoints].
func (c *Client) APIUser(ctx context.Context) (helpdesk.Member, error) {
	const op = "get api user"
	var raw json.RawMessage
	if _, err := c.call(ctx, request{op: op, method: http.MethodGet, path: "/myinfo"}, &raw); err != nil {
		return helpdesk.Member{}, err
	}
	m, err := parseAgent(raw)
	if err == nil && m.ExternalID == "" {
		err = errors.New("no agent id")
	}
	if err != nil {
		return helpdesk.Member{}, fmt.Errorf("zohodesk: %s: %w", op, err)
	}
	return m, nil
}
