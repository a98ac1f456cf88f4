package store

import (
	"context"
	"time"
)

// OutboxBacklog is one scope's live outbox (pending and in-flight items).
type OutboxBacklog struct {
	// Pending and Oldest are OutboxStats' Pending and Oldest: the live
	// items, and the creation of the oldest of them.
	Pending int       `json:"pending"`
	Oldest  time.Time `json:"oldest,omitzero"`
	// Due is the earliest time a write of the scope may be claimed: the
	// next attempt of a pending write, or the claim expiry of one in
	// flight, among the writes no earlier write of their order key holds
	// back. Zero when the scope has no such write.
	Due time.Time `json:"due,omitzero"`
}

// FleetOutbox reads the outbox of every scope at once, so that a process
// running many accounts asks the store once, not once per account.
type FleetOutbox interface {
	// OutboxBacklogs returns the backlog of every scope that has a live
	// outbox item, in one query that reads live items only (never the
	// done and dead ones kept for retention). A scope absent from the map
	// has no live item.
	OutboxBacklogs(ctx context.Context) (map[Scope]OutboxBacklog, error)
}
