package zohodesk

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// TicketByNumber implements helpdesk.TicketNumbers: GET /tickets/search
// with ticketNumber (what agents see, not the id). Zoho answers 204 when
// nothing matches; the answer is checked against the number.
func (c *Client) TicketByNumber(ctx context.Context, number string) (helpdesk.Ticket, error) {
	const op = "ticket by number"
	number = strings.TrimSpace(number)
	notFound := &helpdesk.Error{Provider: helpdesk.ZohoDesk, Op: op, Kind: helpdesk.ErrNotFound}
	if numericID(op, number) != nil {
		return helpdesk.Ticket{}, notFound // Zoho Desk's ticket numbers are digits
	}
	var out struct {
		Data []json.RawMessage `json:"data"`
	}
	resp, err := c.call(ctx, request{op: op, method: http.MethodGet, path: "/tickets/search",
		query: url.Values{"ticketNumber": {number}, "limit": {"10"}}}, &out)
	if err != nil {
		return helpdesk.Ticket{}, err
	}
	if resp.Status == http.StatusNoContent {
		return helpdesk.Ticket{}, notFound
	}
	for _, raw := range out.Data {
		t, err := parseTicket(raw)
		if err != nil {
			return helpdesk.Ticket{}, fmt.Errorf("zohodesk: %s: %w", op, err)
		}
		if t.Number == number {
			return t, nil
		}
	}
	return helpdesk.Ticket{}, notFound
}
