package helpdesk

import (
	"context"
	"errors"
	"testing"
)

// numbered is a provider whose ids are digits and whose numbers start
// with T.
type numbered struct{ Provider }

func (numbered) GetTicket(_ context.Context, id string) (Ticket, error) {
	switch {
	case id == "42":
		return Ticket{ExternalID: "42", Number: "T42"}, nil
	case id != "" && id[0] == 'T':
		return Ticket{}, &Error{Kind: ErrInvalid, Message: "not an id"}
	}
	return Ticket{}, &Error{Kind: ErrNotFound}
}

func (numbered) TicketByNumber(_ context.Context, n string) (Ticket, error) {
	if n == "T42" {
		return Ticket{ExternalID: "42", Number: "T42"}, nil
	}
	return Ticket{}, &Error{Kind: ErrNotFound}
}

// plain has no display numbers.
type plain struct{ numbered }

func (plain) TicketByNumber() {}

func TestGetTicketByIDOrNumber(t *testing.T) {
	cases := []struct {
		p       Provider
		query   string
		want    string
		wantErr error
	}{
		{numbered{}, "42", "42", nil},
		{numbered{}, "T42", "42", nil},
		{numbered{}, "T43", "", ErrNotFound},
		{numbered{}, "43", "", ErrNotFound},
		{plain{}, "42", "42", nil},
		{plain{}, "T42", "", ErrInvalid},
	}
	for _, c := range cases {
		got, err := GetTicketByIDOrNumber(context.Background(), c.p, c.query)
		if got.ExternalID != c.want || (c.wantErr == nil) != (err == nil) || (c.wantErr != nil && !errors.Is(err, c.wantErr)) {
			t.Errorf("%T %s: %q, %v; want %q, %v", c.p, c.query, got.ExternalID, err, c.want, c.wantErr)
		}
	}
}
