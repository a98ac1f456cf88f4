package helpdesk

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Event names a change the PSA can report by webhook, written
// "<object>.<action>" in horizon.yaml (ticket.updated, note.created, ...).
type Event string

// Events Horizon can subscribe to. Which a provider delivers is in its
// Capabilities.
const (
	EventTicketCreated    Event = "ticket.created"
	EventTicketUpdated    Event = "ticket.updated"
	EventTicketDeleted    Event = "ticket.deleted"
	EventNoteCreated      Event = "note.created"
	EventNoteUpdated      Event = "note.updated"
	EventContactCreated   Event = "contact.created"
	EventContactUpdated   Event = "contact.updated"
	EventContactDeleted   Event = "contact.deleted"
	EventCompanyCreated   Event = "company.created"
	EventCompanyUpdated   Event = "company.updated"
	EventCompanyDeleted   Event = "company.deleted"
	EventTimeEntryCreated Event = "timeEntry.created"
	EventTimeEntryUpdated Event = "timeEntry.updated"
	EventTimeEntryDeleted Event = "timeEntry.deleted"
)

// AllEvents lists every event name in a stable order.
var AllEvents = []Event{
	EventTicketCreated, EventTicketUpdated, EventTicketDeleted, EventNoteCreated, EventNoteUpdated,
	EventContactCreated, EventContactUpdated, EventContactDeleted,
	EventCompanyCreated, EventCompanyUpdated, EventCompanyDeleted,
	EventTimeEntryCreated, EventTimeEntryUpdated, EventTimeEntryDeleted,
}

// Action is what happened to a record, as a callback reports it.
type Action string

// Callback actions.
const (
	ActionCreated Action = "created"
	ActionUpdated Action = "updated"
	ActionDeleted Action = "deleted"
)

// ManagedMarker starts the name (or description) of every webhook
// registration Horizon creates, so that Horizon only ever updates or
// removes its own registrations and never another tool's.
const ManagedMarker = "horizon"

// IsManagedName reports whether a registration name carries Horizon's
// marker.
func IsManagedName(name string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(name)), ManagedMarker)
}

// Webhook is one webhook registration as the PSA holds it. One Horizon
// callback configuration may need several registrations (ConnectWise has
// one callback per record type, Autotask one webhook per entity); Key
// names the registration's slot so that desired and observed
// registrations can be matched.
type Webhook struct {
	ID      string  `json:"id,omitempty"`
	Key     string  `json:"key"`
	Name    string  `json:"name"`
	URL     string  `json:"url"`
	Events  []Event `json:"events"`
	Active  bool    `json:"active"`
	Managed bool    `json:"managed"`
	// Fingerprint is a short digest of the secret the registration was
	// created with, kept where the PSA lets it be read back (usually in
	// the name), so that a rotated secret shows up as a change. Empty when
	// unknown.
	Fingerprint string `json:"fingerprint,omitempty"`
}

// SortedEvents returns the webhook's events sorted, for comparison.
func (w Webhook) SortedEvents() []Event {
	ev := slices.Clone(w.Events)
	slices.Sort(ev)
	return slices.Compact(ev)
}

// WebhookSpec is what horizon.yaml asks of the PSA's webhooks: call URL for
// these events, authenticated with Secret.
type WebhookSpec struct {
	URL    string
	Events []Event
	Secret Secret
	// Account names the Horizon account, used in registration names.
	Account string
}

// CallbackEvent is one change reported by an inbound webhook delivery. It
// is a hint: the receiver re-fetches the record from the PSA.
type CallbackEvent struct {
	// DeliveryID identifies the delivery for de-duplication (ConnectWise
	// MessageId, Autotask Guid+SequenceNumber, Halo id; a digest of the
	// element where the PSA sends none).
	DeliveryID string    `json:"deliveryId"`
	Entity     Entity    `json:"entity"`
	Action     Action    `json:"action"`
	ExternalID string    `json:"externalId"`
	TicketID   string    `json:"ticketId,omitempty"` // parent ticket for notes and time entries
	OccurredAt time.Time `json:"occurredAt,omitzero"`
	// Actor is the helpdesk member (or API user) who made the change,
	// where the PSA says.
	Actor string `json:"actor,omitempty"`
	// Ticket is set when the payload carries the whole ticket.
	Ticket *Ticket `json:"ticket,omitempty"`
}

// Secret is a credential value. It prints as <secret> in every format so
// that it cannot leak into a log line, error or status page by accident;
// Reveal returns the value for the one place that must send it.
type Secret string

// String implements fmt.Stringer.
func (Secret) String() string { return "<secret>" }

// GoString implements fmt.GoStringer.
func (Secret) GoString() string { return "<secret>" }

// MarshalText implements encoding.TextMarshaler (JSON, YAML, slog).
func (Secret) MarshalText() ([]byte, error) { return []byte("<secret>"), nil }

// Format implements fmt.Formatter: every verb (%x and %q included) prints
// <secret>.
func (Secret) Format(f fmt.State, _ rune) { io.WriteString(f, "<secret>") }

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue("<secret>") }

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }
