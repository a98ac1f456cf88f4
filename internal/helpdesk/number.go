package helpdesk

import (
	"context"
	"errors"
)

// TicketNumbers is implemented by providers whose agents see a ticket
// number that is not the API id (Autotask's T20251205.1085, Zoho Desk's
// ticketNumber), so that "the ticket agents call 1085" can be found.
type TicketNumbers interface {
	// TicketByNumber returns the ticket with this display number;
	// ErrNotFound when none has it.
	TicketByNumber(ctx context.Context, number string) (Ticket, error)
}

// GetTicketByIDOrNumber returns the ticket whose API id is idOrNumber or,
// failing that and where the provider has display numbers, whose number
// is. ErrNotFound when neither matches. A value the provider refuses as
// an id (ErrInvalid: not the shape of its ids) may still be a number.
func GetTicketByIDOrNumber(ctx context.Context, p Provider, idOrNumber string) (Ticket, error) {
	t, err := p.GetTicket(ctx, idOrNumber)
	n, ok := p.(TicketNumbers)
	if !ok || !(errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalid)) {
		return t, err
	}
	return n.TicketByNumber(ctx, idOrNumber)
}
