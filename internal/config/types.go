package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// APIVersion is the only file format version this package reads.
const APIVersion = "horizon/v1"

// Provider names a PSA.
type Provider string

// The supported PSAs.
const (
	ProviderConnectWise Provider = "connectwise"
	ProviderAutotask    Provider = "autotask"
	ProviderZohoDesk    Provider = "zohodesk"
	ProviderHaloPSA     Provider = "halopsa"
)

// Entity is something Horizon can sync from a PSA.
type Entity string

// The entities Horizon knows how to sync.
const (
	EntityTickets     Entity = "tickets"
	EntityContacts    Entity = "contacts"
	EntityCompanies   Entity = "companies"
	EntityTimeEntries Entity = "timeEntries"
	// EntityNotes: ticket notes, fetched one request per ticket.
	EntityNotes Entity = "notes"
)

// PicklistKind names a kind of picklist Horizon rules can rely on.
type PicklistKind string

// The picklist kinds.
const (
	PicklistStatuses    PicklistKind = "statuses"
	PicklistTypes       PicklistKind = "types"
	PicklistPriorities  PicklistKind = "priorities"
	PicklistQueues      PicklistKind = "queues"
	PicklistDepartments PicklistKind = "departments"
)

// Event is a webhook event, written <object>.<action>, such as ticket.created.
type Event string

// Object returns the part before the dot (ticket, note, contact, company,
// timeEntry).
func (e Event) Object() string {
	object, _, _ := strings.Cut(string(e), ".")
	return object
}

// Action returns the part after the dot (created, updated, deleted).
func (e Event) Action() string {
	_, action, _ := strings.Cut(string(e), ".")
	return action
}

// DriftMode says what the reconciler does about drift in a section.
type DriftMode string

// The drift modes, as Flux's drift detection modes.
const (
	DriftEnabled DriftMode = "enabled" // correct the drift
	DriftWarn    DriftMode = "warn"    // only report it
)

// UnmappedPolicy says what an active PSA user without a mapping causes.
type UnmappedPolicy string

// The unmapped-user policies.
const (
	UnmappedWarn   UnmappedPolicy = "warn"
	UnmappedError  UnmappedPolicy = "error"
	UnmappedIgnore UnmappedPolicy = "ignore"
)

// Config is a validated horizon.yaml with defaults applied.
type Config struct {
	APIVersion   string       `json:"apiVersion"`
	Account      Account      `json:"account"`
	Suspend      bool         `json:"suspend"`
	Helpdesk     Helpdesk     `json:"helpdesk"`
	Sync         Sync         `json:"sync"`
	UserMappings UserMappings `json:"userMappings"`
	Picklists    Picklists    `json:"picklists"`
	// Callbacks is nil when the file declares no webhooks (polling only).
	Callbacks *Callbacks `json:"callbacks,omitempty"`
	Widgets   []Widget   `json:"widgets,omitempty"`
	// Writeback is nil when the file has no writeback section: every
	// write is refused.
	Writeback *Writeback `json:"writeback,omitempty"`
	Smoke     Smoke      `json:"smoke"`

	// File is the path the configuration was loaded from.
	File string `json:"-"`
	// namePos is where account.name sits in File (for diagnostics that
	// span files, such as a name used twice).
	namePos position
}

// Account identifies the Horizon account.
type Account struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
}

// Helpdesk selects the PSA. Exactly the block named by Provider is non-nil.
type Helpdesk struct {
	Provider    Provider     `json:"provider"`
	ConnectWise *ConnectWise `json:"connectwise,omitempty"`
	Autotask    *Autotask    `json:"autotask,omitempty"`
	ZohoDesk    *ZohoDesk    `json:"zohodesk,omitempty"`
	HaloPSA     *HaloPSA     `json:"halopsa,omitempty"`
}

// ConnectWise holds ConnectWise Manage API credentials.
type ConnectWise struct {
	CompanyID  string    `json:"companyId"`
	PublicKey  SecretRef `json:"publicKey"`
	PrivateKey SecretRef `json:"privateKey"`
	ClientID   string    `json:"clientId"`
	// Site is na, eu, au or staging; empty when BaseURL is set instead.
	Site    string `json:"site,omitempty"`
	BaseURL string `json:"baseURL,omitempty"`
}

// Autotask holds Autotask API-user credentials.
type Autotask struct {
	Username        string    `json:"username"`
	Secret          SecretRef `json:"secret"`
	IntegrationCode SecretRef `json:"integrationCode"`
	// ZoneURL pins the zone; empty means discover it from Username.
	ZoneURL string `json:"zoneURL,omitempty"`
	BaseURL string `json:"baseURL,omitempty"`
}

// ZohoDesk holds the Zoho Desk OAuth client and refresh token.
type ZohoDesk struct {
	ClientID     string    `json:"clientId"`
	ClientSecret SecretRef `json:"clientSecret"`
	RefreshToken SecretRef `json:"refreshToken"`
	DataCenter   string    `json:"dataCenter"`
	OrgID        ID        `json:"orgId"`
	BaseURL      string    `json:"baseURL,omitempty"`
}

// HaloPSA holds the HaloPSA API application.
type HaloPSA struct {
	ClientID     string    `json:"clientId"`
	ClientSecret SecretRef `json:"clientSecret"`
	BaseURL      string    `json:"baseURL"`
	Tenant       string    `json:"tenant,omitempty"`
}

// Sync says what to copy from the PSA and how often.
type Sync struct {
	Entities                []Entity `json:"entities"`
	IngestWindow            Duration `json:"ingestWindow"`
	PollInterval            Duration `json:"pollInterval"`
	PicklistRefreshInterval Duration `json:"picklistRefreshInterval"`
	// BudgetReserve is the percentage of the PSA's API allowance a
	// backfill leaves for everything else (0 to 90; nil until defaults
	// apply, so that 0 can be asked for).
	BudgetReserve *int `json:"budgetReserve,omitempty"`
}

// ReserveFraction returns sync.budgetReserve as a fraction of one.
func (s Sync) ReserveFraction() float64 {
	if s.BudgetReserve == nil {
		return float64(DefaultBudgetReserve) / 100
	}
	return float64(*s.BudgetReserve) / 100
}

// UserMappings binds PSA users to Horizon users.
type UserMappings struct {
	Drift          DriftMode      `json:"drift"`
	UnmappedPolicy UnmappedPolicy `json:"unmappedPolicy"`
	Mappings       []UserMapping  `json:"mappings,omitempty"`
	// Ignore lists PSA users (ID, login or email) that never count as
	// unmapped: service accounts of other tools.
	Ignore []ID `json:"ignore,omitempty"`
}

// UserMapping binds one PSA user to one Horizon user.
type UserMapping struct {
	// HelpdeskUser is the PSA's member identifier, username, email or ID.
	HelpdeskUser ID `json:"helpdeskUser"`
	// HorizonUser is the Horizon user's email address.
	HorizonUser string `json:"horizonUser"`
}

// Picklists lists the picklist values Horizon rules rely on.
type Picklists struct {
	Drift       DriftMode    `json:"drift"`
	Create      bool         `json:"create"`
	Statuses    ScopedValues `json:"statuses,omitempty"`
	Types       ScopedValues `json:"types,omitempty"`
	Priorities  []string     `json:"priorities,omitempty"`
	Queues      []string     `json:"queues,omitempty"`
	Departments []string     `json:"departments,omitempty"`
}

// Kinds returns the picklist kinds the file sets, in a fixed order.
func (p Picklists) Kinds() []PicklistKind {
	var kinds []PicklistKind
	for _, k := range PicklistKinds() {
		if p.count(k) > 0 {
			kinds = append(kinds, k)
		}
	}
	return kinds
}

func (p Picklists) count(k PicklistKind) int {
	switch k {
	case PicklistStatuses:
		return len(p.Statuses)
	case PicklistTypes:
		return len(p.Types)
	case PicklistPriorities:
		return len(p.Priorities)
	case PicklistQueues:
		return len(p.Queues)
	case PicklistDepartments:
		return len(p.Departments)
	}
	return 0
}

// BoardValues are the expected values of a picklist on one board. Board is
// empty for providers that keep the picklist global.
type BoardValues struct {
	Board  string   `json:"board,omitempty"`
	Values []string `json:"values"`
}

// ScopedValues holds a picklist that may be scoped per board. In the file it
// is either a plain list of values (one entry with an empty Board) or a list
// of {board, values} entries.
type ScopedValues []BoardValues

// UnmarshalJSON reads either form.
func (s *ScopedValues) UnmarshalJSON(data []byte) error {
	var flat []string
	if err := json.Unmarshal(data, &flat); err == nil {
		*s = nil
		if len(flat) > 0 {
			*s = ScopedValues{{Values: flat}}
		}
		return nil
	}
	var scoped []BoardValues
	if err := json.Unmarshal(data, &scoped); err != nil {
		return fmt.Errorf("picklist: want a list of values or of {board, values}: %w", err)
	}
	*s = scoped
	return nil
}

// MarshalJSON writes the plain-list form when there is no board.
func (s ScopedValues) MarshalJSON() ([]byte, error) {
	if len(s) == 1 && s[0].Board == "" {
		return json.Marshal(s[0].Values)
	}
	return json.Marshal([]BoardValues(s))
}

// PerBoard reports whether the values are given per board.
func (s ScopedValues) PerBoard() bool {
	return len(s) > 0 && s[0].Board != ""
}

// Callbacks declares the webhooks the PSA must send.
type Callbacks struct {
	URL        string    `json:"url"`
	Secret     SecretRef `json:"secret"`
	Events     []Event   `json:"events"`
	StaleAfter Duration  `json:"staleAfter"`
	// RotateEvery, when set, rotates the registered secret on schedule
	// (zero: no rotation).
	RotateEvery Duration  `json:"rotateEvery"`
	Drift       DriftMode `json:"drift"`
	// Prune deletes Horizon-owned webhooks the file no longer wants. Load sets
	// it to true unless the file says prune: false; ApplyDefaults cannot tell
	// false from unset and leaves it alone.
	Prune bool `json:"prune"`
}

// Widget is a widget embedded in the PSA, health-checked by URL.
type Widget struct {
	Name    string   `json:"name"`
	URL     string   `json:"url"`
	Timeout Duration `json:"timeout"`
	// Expect is text the page must contain; empty checks nothing.
	Expect string `json:"expect,omitempty"`
}

// ID is an identifier written in the file as a string or an integer.
type ID string

// UnmarshalJSON accepts a JSON string or number.
func (id *ID) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return fmt.Errorf("id: %w", err)
		}
		*id = ID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(data, &n); err != nil {
		return fmt.Errorf("id: want a string or a number: %w", err)
	}
	*id = ID(n.String())
	return nil
}
