package autotask

import (
	"context"
	"fmt"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk"
)

const opTicketByNumber = "tickets.bynumber"

// TicketByNumber implements helpdesk.TicketNumbers: Tickets/query on
// ticketNumber eq number (T20251205.1085), checked against the answer so
// that a server ignoring the filter cannot make another ticket look found.
func (c *Client) TicketByNumber(ctx context.Context, number string) (helpdesk.Ticket, error) {
	number = strings.TrimSpace(number)
	if number == "" {
		return helpdesk.Ticket{}, fmt.Errorf("autotask: ticket by number: %w", notFound(opTicketByNumber, fmt.Errorf("empty ticket number")))
	}
	found, err := collect(c, ctx, opTicketByNumber, "Tickets",
		[]condition{{Op: "eq", Field: "ticketNumber", Value: number}}, decodeTicket)
	if err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("autotask: ticket number %s: %w", number, err)
	}
	for _, t := range found {
		if strings.EqualFold(t.Number, number) {
			return t, nil
		}
	}
	return helpdesk.Ticket{}, fmt.Errorf("autotask: ticket number %s: %w", number,
		notFound(opTicketByNumber, fmt.Errorf("no ticket has this number")))
}
