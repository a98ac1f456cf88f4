package config

import (
	"slices"
	"time"
)

// Defaults of the optional settings. The schema's "default" keywords say the
// same; a test keeps the two in step.
const (
	DefaultIngestWindow            = Duration(30 * Day)
	DefaultPollInterval            = Duration(5 * time.Minute)
	DefaultPicklistRefreshInterval = Duration(time.Hour)
	DefaultStaleAfter              = Duration(15 * time.Minute)
	DefaultWidgetTimeout           = Duration(10 * time.Second)
	// DefaultBudgetReserve is the percentage of the PSA's API allowance
	// a backfill leaves.
	DefaultBudgetReserve = 20
)

// DefaultEntities returns the entities synced when sync.entities is unset.
func DefaultEntities() []Entity {
	return []Entity{EntityTickets, EntityContacts, EntityCompanies}
}

// Bound is the allowed range of one duration setting.
type Bound struct {
	// Key is the setting's path, such as sync.pollInterval or
	// widgets[].timeout.
	Key      string
	Min, Max Duration
	Default  Duration
}

// durationBounds lists every duration in the file with its range, and the
// JSON pointer pattern ("*" for any list index) where it lives.
var durationBounds = []struct {
	Bound
	pattern []string
}{
	{Bound{"sync.ingestWindow", Duration(Day), Duration(1825 * Day), DefaultIngestWindow}, []string{"sync", "ingestWindow"}},
	{Bound{"sync.pollInterval", Duration(time.Minute), Duration(24 * time.Hour), DefaultPollInterval}, []string{"sync", "pollInterval"}},
	{Bound{"sync.picklistRefreshInterval", Duration(5 * time.Minute), Duration(7 * Day), DefaultPicklistRefreshInterval}, []string{"sync", "picklistRefreshInterval"}},
	{Bound{"callbacks.staleAfter", Duration(time.Minute), Duration(7 * Day), DefaultStaleAfter}, []string{"callbacks", "staleAfter"}},
	{Bound{"callbacks.rotateEvery", Duration(time.Hour), Duration(365 * Day), 0}, []string{"callbacks", "rotateEvery"}},
	{Bound{"widgets[].timeout", Duration(time.Second), Duration(time.Minute), DefaultWidgetTimeout}, []string{"widgets", "*", "timeout"}},
	{Bound{"smoke.interval", Duration(5 * time.Minute), Duration(7 * Day), 0}, []string{"smoke", "interval"}},
	{Bound{"smoke.callbackTimeout", Duration(5 * time.Second), Duration(30 * time.Minute), DefaultSmokeCallbackTimeout}, []string{"smoke", "callbackTimeout"}},
}

// DurationBounds returns the range of every duration setting.
func DurationBounds() []Bound {
	out := make([]Bound, len(durationBounds))
	for i, b := range durationBounds {
		out[i] = b.Bound
	}
	return out
}

// ApplyDefaults fills every unset optional setting with its default. Load
// calls it after validation; call it on a Config built in code. It leaves
// Callbacks.Prune alone (false cannot be told from unset).
func (c *Config) ApplyDefaults() {
	if c.Sync.Entities == nil {
		c.Sync.Entities = DefaultEntities()
	}
	setDuration(&c.Sync.IngestWindow, DefaultIngestWindow)
	setDuration(&c.Sync.PollInterval, DefaultPollInterval)
	setDuration(&c.Sync.PicklistRefreshInterval, DefaultPicklistRefreshInterval)
	if c.Sync.BudgetReserve == nil {
		r := DefaultBudgetReserve
		c.Sync.BudgetReserve = &r
	}
	setDrift(&c.UserMappings.Drift)
	if c.UserMappings.UnmappedPolicy == "" {
		c.UserMappings.UnmappedPolicy = UnmappedWarn
	}
	setDrift(&c.Picklists.Drift)
	if c.Callbacks != nil {
		setDuration(&c.Callbacks.StaleAfter, DefaultStaleAfter)
		setDrift(&c.Callbacks.Drift)
	}
	for i := range c.Widgets {
		setDuration(&c.Widgets[i].Timeout, DefaultWidgetTimeout)
	}
	if c.Writeback != nil {
		c.Writeback.applyDefaults()
	}
	c.Smoke.applyDefaults()
}

func setDuration(d *Duration, def Duration) {
	if *d == 0 {
		*d = def
	}
}

func setDrift(d *DriftMode) {
	if *d == "" {
		*d = DriftEnabled
	}
}

// normalize puts lists whose order carries no meaning (entities, events) in
// the canonical order, so that equal configurations hash equally.
func (c *Config) normalize() {
	slices.SortFunc(c.Sync.Entities, func(a, b Entity) int {
		return slices.Index(allEntities, a) - slices.Index(allEntities, b)
	})
	if c.Callbacks != nil {
		order := Events()
		slices.SortFunc(c.Callbacks.Events, func(a, b Event) int {
			return slices.Index(order, a) - slices.Index(order, b)
		})
	}
}
