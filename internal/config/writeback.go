package config

// UnmappedAuthor says what a write from an unmapped Horizon user does.
type UnmappedAuthor string

// The unmapped-author policies.
const (
	UnmappedAuthorRefuse  UnmappedAuthor = "refuse"  // refuse the write, naming the user
	UnmappedAuthorAPIUser UnmappedAuthor = "apiUser" // make it as the credentials' PSA user
)

// WriteOrder says how writes to one ticket are ordered.
type WriteOrder string

// The write orders.
const (
	OrderPerTicket WriteOrder = "perTicket" // one write per ticket in flight, in order
	OrderNone      WriteOrder = "none"      // every write as soon as it can
)

// DefaultMaxAttempts is writeback.maxAttempts when unset.
const DefaultMaxAttempts = 10

// Writeback configures writes from Horizon to the PSA. A nil *Writeback
// (no section in the file) refuses every write.
type Writeback struct {
	// Enabled is true unless the file says enabled: false; Load sets it,
	// ApplyDefaults cannot tell false from unset.
	Enabled bool `json:"enabled"`
	// APIToken authenticates the write API; nil when the file sets none
	// (the API then refuses every request).
	APIToken       *SecretRef     `json:"apiToken,omitempty"`
	UnmappedAuthor UnmappedAuthor `json:"unmappedAuthor"`
	MaxAttempts    int            `json:"maxAttempts"`
	Order          WriteOrder     `json:"order"`
	Defaults       TicketDefaults `json:"defaults"`
}

// TicketDefaults are the fields a new ticket takes when a request leaves
// them out: picklist names (or IDs) and a company ID.
type TicketDefaults struct {
	Queue    string `json:"queue,omitempty"`
	Type     string `json:"type,omitempty"`
	Priority string `json:"priority,omitempty"`
	Status   string `json:"status,omitempty"`
	Company  string `json:"company,omitempty"`
}

// WritesEnabled reports whether the file accepts new writes.
func (c *Config) WritesEnabled() bool {
	return c.Writeback != nil && c.Writeback.Enabled
}

func (w *Writeback) applyDefaults() {
	if w.UnmappedAuthor == "" {
		w.UnmappedAuthor = UnmappedAuthorRefuse
	}
	if w.MaxAttempts == 0 {
		w.MaxAttempts = DefaultMaxAttempts
	}
	if w.Order == "" {
		w.Order = OrderPerTicket
	}
}

// writeback warns about a write-back section that accepts writes but whose
// API cannot: without a token every API request is refused.
func (s *semantics) writeback() {
	w := s.cfg.Writeback
	if !s.decoded["writeback"] || w == nil || !w.Enabled || w.APIToken != nil {
		return
	}
	s.add(SeverityWarning, "/writeback", s.doc.keyAt("/writeback"),
		"writeback has no apiToken: the write API (/api/v1/...) refuses every request; only the CLI can write")
}
