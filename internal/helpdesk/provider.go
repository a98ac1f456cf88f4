package helpdesk

import (
	"context"
	"iter"
	"net/http"
	"time"
)

// Capabilities says what a provider can do, so that config validation,
// plans and the sync engine ask the provider instead of hard-coding.
type Capabilities struct {
	// Entities the provider can stream (members and picklists always).
	Entities []Entity
	// IncrementalMembers is false where the PSA offers no last-updated
	// filter on users (Autotask resources): Members ignores Query.Since.
	IncrementalMembers bool
	// Picklists the provider has.
	Picklists []PicklistKind
	// CreatablePicklists are the kinds CreatePicklistValue can create.
	CreatablePicklists []PicklistKind
	// Events the provider's webhooks can deliver.
	Events []Event
	// MaxPageSize is the largest page the API returns.
	MaxPageSize int
	// SignedCallbacks is true when the PSA signs deliveries (ConnectWise,
	// Autotask); false when Horizon relies on the secret it registered
	// (a URL token or Basic auth: Zoho Desk, Halo).
	SignedCallbacks bool
}

// Provider is one PSA account reached over its real REST API. Every method
// that does I/O takes a context and returns errors that match the sentinels
// in this package (ErrRateLimited, ErrUnauthorized, ErrNotFound, ...).
// Implementations are safe for concurrent use and retry rate limits and
// transient failures themselves, within bounds, before returning them.
type Provider interface {
	// Name returns the provider name (ConnectWise, Autotask, ...).
	Name() string
	// Capabilities reports what this provider supports.
	Capabilities() Capabilities
	// Ping checks connectivity and credentials with one cheap call.
	Ping(ctx context.Context) error

	// Tickets streams tickets updated after q.Since, a page at a time, in
	// the order the PSA returns them. Iteration stops at the first error,
	// which is yielded with a nil page. Paging ends on a short or empty
	// page, never on a computed page count.
	Tickets(ctx context.Context, q Query) iter.Seq2[[]Ticket, error]
	// Contacts streams contacts like Tickets.
	Contacts(ctx context.Context, q Query) iter.Seq2[[]Contact, error]
	// Companies streams companies like Tickets.
	Companies(ctx context.Context, q Query) iter.Seq2[[]Company, error]
	// TimeEntries streams time entries like Tickets.
	TimeEntries(ctx context.Context, q Query) iter.Seq2[[]TimeEntry, error]
	// Members streams helpdesk users, active and inactive.
	Members(ctx context.Context, q Query) iter.Seq2[[]Member, error]

	// GetTicket returns one ticket; ErrNotFound when it does not exist
	// (including Autotask's 200 {"item":null}).
	GetTicket(ctx context.Context, id string) (Ticket, error)
	// CreateTicket creates a ticket (smoke tests) and returns it.
	CreateTicket(ctx context.Context, t NewTicket) (Ticket, error)
	// UpdateTicket sets status and/or assignee and returns the ticket as
	// the PSA now holds it.
	UpdateTicket(ctx context.Context, id string, u TicketUpdate) (Ticket, error)
	// AddNote adds a note to a ticket. It is not idempotent: callers that
	// retry look for their marker with Notes first.
	AddNote(ctx context.Context, ticketID string, n NewNote) (Note, error)
	// Notes lists a ticket's notes.
	Notes(ctx context.Context, ticketID string) ([]Note, error)
	// AddTimeEntry logs time against a ticket. Not idempotent, like AddNote.
	AddTimeEntry(ctx context.Context, e NewTimeEntry) (TimeEntry, error)

	// FindTicket, FindNote and FindTimeEntry look for what a create with
	// the given marker made, for a write whose outcome is unknown (the
	// answer was lost): ok is false when the PSA holds no such object, so
	// the write can be sent again without making a duplicate. FindTicket
	// looks at tickets created at or after since.
	FindTicket(ctx context.Context, marker string, since time.Time) (t Ticket, ok bool, err error)
	FindNote(ctx context.Context, ticketID, marker string) (n Note, ok bool, err error)
	FindTimeEntry(ctx context.Context, ticketID, marker string) (e TimeEntry, ok bool, err error)

	// APIUser returns the helpdesk user the credentials act as (the
	// ConnectWise API member, Autotask API-only resource, Zoho Desk agent
	// of the token, Halo agent of the API application), so that it is not
	// counted as an unmapped technician and can author writes for
	// writeback.unmappedAuthor: apiUser. ErrUnsupported when the PSA
	// cannot tell.
	APIUser(ctx context.Context) (Member, error)

	// Picklists returns every picklist the provider has, with all values.
	Picklists(ctx context.Context) ([]Picklist, error)
	// CreatePicklistValue adds a value to a picklist; ErrUnsupported where
	// the PSA's API cannot (see Capabilities.CreatablePicklists).
	CreatePicklistValue(ctx context.Context, kind PicklistKind, scope, name string) (PicklistValue, error)

	// Webhooks lists every webhook registration the PSA holds for the
	// entities Horizon cares about, Horizon's (Managed) and other tools'.
	Webhooks(ctx context.Context) ([]Webhook, error)
	// DesiredWebhooks splits a spec into the registrations this PSA needs,
	// each with its Key, Name (carrying ManagedMarker) and Fingerprint. It
	// does no I/O.
	DesiredWebhooks(spec WebhookSpec) []Webhook
	// CreateWebhook registers w, authenticated with secret, and returns it
	// with its ID.
	CreateWebhook(ctx context.Context, w Webhook, secret Secret) (Webhook, error)
	// UpdateWebhook changes registration w.ID to match w.
	UpdateWebhook(ctx context.Context, w Webhook, secret Secret) (Webhook, error)
	// DeleteWebhook removes registration id; deleting a missing one is not
	// an error.
	DeleteWebhook(ctx context.Context, id string) error

	// VerifyCallback checks an inbound delivery's signature or credential
	// against the raw body. It returns a *CallbackError when the delivery
	// must be rejected. It may do I/O (ConnectWise fetches its signing
	// key).
	VerifyCallback(ctx context.Context, r *http.Request, body []byte, secret Secret) error
	// ParseCallback turns a verified delivery into events (Zoho Desk
	// batches several in one body). A malformed body is a *CallbackError
	// with status 400.
	ParseCallback(header http.Header, body []byte) ([]CallbackEvent, error)
}
