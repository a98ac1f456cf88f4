package config

import "time"

// DefaultSmokeCallbackTimeout is smoke.callbackTimeout when unset.
const DefaultSmokeCallbackTimeout = Duration(time.Minute)

// Smoke configures the smoke test (reconciler smoke, and the daemon's runs
// of it after risky changes). Every field is optional.
type Smoke struct {
	// Auto makes the daemon run the smoke test after an apply that
	// changed credentials, webhook registrations or the PSA's base URL.
	Auto bool `json:"auto,omitempty"`
	// Interval, when set, also runs it on that interval (with Auto).
	Interval Duration `json:"interval,omitempty"`
	// CallbackTimeout is how long the test waits for the PSA's callback
	// about the ticket it created.
	CallbackTimeout Duration `json:"callbackTimeout,omitempty"`
	// User is the Horizon user the test writes as and assigns the ticket
	// to; empty: the first mapped user whose helpdesk user is active.
	User string `json:"user,omitempty"`
	// Company is the company (account, client) ID of the test ticket;
	// empty: the company of a recent ticket.
	Company string `json:"company,omitempty"`
	// Contact is the contact ID of the test ticket; empty: a contact of
	// the recent ticket when it has one.
	Contact string `json:"contact,omitempty"`
	// Queue is the board, queue, department or team (name or ID); empty:
	// the recent ticket's.
	Queue string `json:"queue,omitempty"`
	// CloseStatus is the status that closes the test ticket (name or ID);
	// empty: the queue's first closed status.
	CloseStatus string `json:"closeStatus,omitempty"`
}

func (s *Smoke) applyDefaults() {
	if s.CallbackTimeout == 0 {
		s.CallbackTimeout = DefaultSmokeCallbackTimeout
	}
}
