package config

import "slices"

// Capabilities says what one PSA can do, as far as the file is concerned.
// The table below is the one place to change when a provider gains or loses
// a capability; the schema lists the full vocabulary and this table the
// per-provider subsets.
type Capabilities struct {
	// Name is the product name used in messages.
	Name string
	// EnvPrefix prefixes the environment variable names suggested in
	// messages about secrets, such as CW in CW_PRIVATE_KEY.
	EnvPrefix string
	// Entities the provider can sync.
	Entities []Entity
	// Picklists maps each picklist kind the provider has to how it is kept.
	Picklists map[PicklistKind]PicklistSupport
	// Events the provider can deliver as webhooks.
	Events []Event
}

// PicklistSupport says how a provider keeps one picklist kind.
type PicklistSupport struct {
	// PerBoard is true when values are kept per board ({board, values}
	// entries in the file); false when the picklist is global.
	PerBoard bool
	// Creatable is true when the provider's API can create missing values.
	Creatable bool
}

// providers is the capability table. Sources: /work/shared/psa (wire facts,
// with their confidence tags). Entries marked inferred are guesses to revisit
// when a provider package confirms or corrects them.
var providers = map[Provider]Capabilities{
	ProviderConnectWise: {
		Name:      "ConnectWise Manage",
		EnvPrefix: "CW",
		Entities:  allEntities,
		Picklists: map[PicklistKind]PicklistSupport{
			// Statuses and types live under /service/boards/{id}/... [K].
			PicklistStatuses: {PerBoard: true, Creatable: true},
			// Only board statuses can be created through the API
			// (POST /service/boards/{id}/statuses).
			PicklistTypes:      {PerBoard: true},
			PicklistPriorities: {},
			PicklistQueues:     {}, // boards
		},
		// Callback types Ticket, Contact, Company, Time [D]; no note type.
		Events: events([]string{"ticket", "contact", "company", "timeEntry"}, allActions),
	},
	ProviderAutotask: {
		Name:      "Autotask",
		EnvPrefix: "AUTOTASK",
		Entities:  allEntities,
		// Ticket field picklists (status, priority, queueID, ticketType) are
		// read-only through the REST API [K].
		Picklists: map[PicklistKind]PicklistSupport{
			PicklistStatuses:   {},
			PicklistTypes:      {},
			PicklistPriorities: {},
			PicklistQueues:     {},
		},
		// Webhook entities: Companies, Contacts, Tickets, TicketNotes [D];
		// Horizon subscribes to new notes only.
		Events: append(events([]string{"ticket", "contact", "company"}, allActions), "note.created"),
	},
	ProviderZohoDesk: {
		Name:      "Zoho Desk",
		EnvPrefix: "ZOHO",
		Entities:  allEntities,
		// Picklists come from /organizationFields; creating values through
		// the API is not documented.
		Picklists: map[PicklistKind]PicklistSupport{
			PicklistStatuses:    {},
			PicklistTypes:       {}, // classification
			PicklistPriorities:  {},
			PicklistDepartments: {},
		},
		// Ticket_*, Contact_*, Account_*, TimeEntry_* and
		// Ticket_Comment_Add/Update [C-off]; no comment delete event.
		Events: append(events([]string{"ticket", "contact", "company", "timeEntry"}, allActions),
			"note.created", "note.updated"),
	},
	ProviderHaloPSA: {
		Name:      "HaloPSA",
		EnvPrefix: "HALO",
		Entities:  allEntities,
		Picklists: map[PicklistKind]PicklistSupport{
			PicklistStatuses:   {},
			PicklistTypes:      {},
			PicklistPriorities: {},
			PicklistQueues:     {}, // teams; the wire facts name no departments endpoint
		},
		// Halo events are notification-style ("New Ticket Logged", status
		// changed, action added); this mapping is inferred.
		Events: []Event{"ticket.created", "ticket.updated", "note.created"},
	},
}

var (
	allEntities = []Entity{EntityTickets, EntityContacts, EntityCompanies, EntityTimeEntries, EntityNotes}
	allObjects  = []string{"ticket", "note", "contact", "company", "timeEntry"}
	allActions  = []string{"created", "updated", "deleted"}
	allKinds    = []PicklistKind{PicklistStatuses, PicklistTypes, PicklistPriorities, PicklistQueues, PicklistDepartments}
	allProvider = []Provider{ProviderConnectWise, ProviderAutotask, ProviderZohoDesk, ProviderHaloPSA}
)

func events(objects, actions []string) []Event {
	var out []Event
	for _, o := range objects {
		for _, a := range actions {
			out = append(out, Event(o+"."+a))
		}
	}
	return out
}

// Providers returns every supported provider, in documentation order.
func Providers() []Provider { return slices.Clone(allProvider) }

// Entities returns every entity Horizon can sync.
func Entities() []Entity { return slices.Clone(allEntities) }

// PicklistKinds returns every picklist kind.
func PicklistKinds() []PicklistKind { return slices.Clone(allKinds) }

// Events returns every webhook event of the file format.
func Events() []Event { return events(allObjects, allActions) }

// CapabilitiesOf returns the capabilities of p, and false for an unknown
// provider.
func CapabilitiesOf(p Provider) (Capabilities, bool) {
	c, ok := providers[p]
	return c, ok
}

// SupportsEntity reports whether the provider can sync e.
func (c Capabilities) SupportsEntity(e Entity) bool {
	return slices.Contains(c.Entities, e)
}

// SupportsEvent reports whether the provider can deliver e.
func (c Capabilities) SupportsEvent(e Event) bool {
	return slices.Contains(c.Events, e)
}

// Picklist returns how the provider keeps kind k, and false if it has none.
func (c Capabilities) Picklist(k PicklistKind) (PicklistSupport, bool) {
	s, ok := c.Picklists[k]
	return s, ok
}
