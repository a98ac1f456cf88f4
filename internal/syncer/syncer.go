package syncer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/metrics"
	"github.com/horizon/reconciler/internal/store"
)

// Defaults for Options.
const (
	DefaultPollInterval     = 5 * time.Minute
	DefaultPicklistInterval = time.Hour
	DefaultOverlap          = 5 * time.Minute
	DefaultJitter           = 0.1
	DefaultMaxClockSkew     = time.Hour
	DefaultWriteTimeout     = 2 * time.Minute
)

// Options configure a Syncer. Zero values take the defaults noted.
type Options struct {
	// Scope keys every row the Syncer writes.
	Scope store.Scope
	// Entities are the entities horizon.yaml enables (tickets, contacts,
	// companies, notes, timeEntries). Members and picklists are always synced.
	Entities []helpdesk.Entity
	// IngestWindow bounds the backfill of tickets and time entries to
	// records updated within it; zero means all history.
	IngestWindow time.Duration
	// PollInterval is the polling sweep's period (default 5m).
	PollInterval time.Duration
	// PicklistInterval is the period of the picklist and member refresh
	// (default 1h).
	PicklistInterval time.Duration
	// Overlap is subtracted from the watermark of an incremental sync
	// (default 5m).
	Overlap time.Duration
	// Jitter spreads each interval by up to this fraction either way
	// (default 0.1; negative means none).
	Jitter float64
	// PageSize asks the provider for pages of this size; zero means the
	// provider's maximum.
	PageSize int
	// MaxClockSkew: a last-updated time further than this ahead of the
	// local clock does not move the watermark (default 1h), so one record
	// stamped in the far future cannot hide every later change.
	MaxClockSkew time.Duration
	// WriteTimeout bounds one store write, which runs to completion even
	// when the run's context is cancelled (default 2m).
	WriteTimeout time.Duration
	// NotesPerRun bounds the tickets whose notes one notes run fetches,
	// one request each (default DefaultNotesPerRun).
	NotesPerRun int
	// Metrics records runs; nil records into a private registry.
	Metrics *metrics.Metrics
	// Logger logs runs; nil means slog.Default().
	Logger *slog.Logger
	// Progress is told about runs as they go; nil reports nothing.
	Progress Progress
	// Now is the local clock (tests); nil means time.Now.
	Now func() time.Time
}

// Syncer syncs one provider's data into one store scope. It is safe for
// concurrent use; runs of the same entity wait for each other.
type Syncer struct {
	p     helpdesk.Provider
	st    store.Store
	o     Options
	caps  helpdesk.Capabilities
	log   *slog.Logger
	m     *metrics.Metrics
	locks map[helpdesk.Entity]chan struct{}
	// notesMu orders the fetches of notes (fetchNotes).
	notesMu sync.Mutex
}

// syncable lists the entities Options.Entities may name, in sync order:
// reference data first, so that tickets find their companies.
var syncable = []helpdesk.Entity{helpdesk.EntityCompanies, helpdesk.EntityContacts,
	helpdesk.EntityTickets, helpdesk.EntityNotes, helpdesk.EntityTimeEntries}

// New returns a Syncer for provider p writing to st. It fails when o
// enables an entity the provider cannot stream.
func New(p helpdesk.Provider, st store.Store, o Options) (*Syncer, error) {
	o = o.withDefaults()
	caps := p.Capabilities()
	for _, e := range o.Entities {
		if !slices.Contains(syncable, e) {
			return nil, fmt.Errorf("syncer: entity %q cannot be enabled (want one of %v)", e, syncable)
		}
		if !slices.Contains(caps.Entities, e) {
			return nil, fmt.Errorf("syncer: %s cannot sync %s", title(p.Name()), e)
		}
		if e == helpdesk.EntityNotes && !slices.Contains(o.Entities, helpdesk.EntityTickets) {
			return nil, fmt.Errorf("syncer: entity notes needs tickets enabled (notes are fetched per stored ticket)")
		}
	}
	s := &Syncer{p: p, st: st, o: o, caps: caps, log: o.Logger, m: o.Metrics,
		locks: map[helpdesk.Entity]chan struct{}{}}
	for _, e := range append(slices.Clone(syncable), helpdesk.EntityMembers, helpdesk.EntityPicklists) {
		s.locks[e] = make(chan struct{}, 1)
	}
	return s, nil
}

func (o Options) withDefaults() Options {
	if o.NotesPerRun <= 0 {
		o.NotesPerRun = DefaultNotesPerRun
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.PicklistInterval <= 0 {
		o.PicklistInterval = DefaultPicklistInterval
	}
	if o.Overlap <= 0 {
		o.Overlap = DefaultOverlap
	}
	if o.Jitter == 0 {
		o.Jitter = DefaultJitter
	}
	if o.MaxClockSkew <= 0 {
		o.MaxClockSkew = DefaultMaxClockSkew
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New(prometheus.NewRegistry())
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Progress == nil {
		o.Progress = nopProgress{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Entities returns the entities a full sync covers, in order: the
// enabled ones, then members.
func (s *Syncer) Entities() []helpdesk.Entity {
	var out []helpdesk.Entity
	for _, e := range syncable {
		if slices.Contains(s.o.Entities, e) {
			out = append(out, e)
		}
	}
	return append(out, helpdesk.EntityMembers)
}

// SyncOptions select what Sync does.
type SyncOptions struct {
	// Entity limits the sync to one entity (members and picklists
	// included); empty means every enabled entity, members and picklists.
	Entity helpdesk.Entity
	// TicketID syncs only this ticket (Entity is ignored).
	TicketID string
	// Full re-fetches the whole window, ignoring the watermark.
	Full bool
	// Trigger is recorded in the run log; empty means store.TriggerManual.
	Trigger string
}

// Sync runs what opts select (the "force a manual sync" of the admin
// pages) and returns the runs it recorded, oldest first. Its error joins
// the errors of the failed runs; an authentication failure stops it.
func (s *Syncer) Sync(ctx context.Context, opts SyncOptions) ([]store.SyncRun, error) {
	if opts.Trigger == "" {
		opts.Trigger = store.TriggerManual
	}
	if opts.TicketID != "" {
		r, err := s.SyncTicket(ctx, opts.TicketID, opts.Trigger)
		return []store.SyncRun{r}, err
	}
	switch opts.Entity {
	case "":
		return s.syncAll(ctx, opts.Trigger, opts.Full, true)
	case helpdesk.EntityPicklists:
		r, err := s.refreshPicklists(ctx, opts.Trigger)
		return []store.SyncRun{r}, err
	}
	return s.SyncEntity(ctx, opts.Entity, opts.Trigger, opts.Full)
}

// syncAll syncs every enabled entity, then members and, when picklists is
// set, the picklists. It stops at an authentication failure or a
// cancelled context.
func (s *Syncer) syncAll(ctx context.Context, trigger string, full, picklists bool) ([]store.SyncRun, error) {
	var runs []store.SyncRun
	var errs []error
	for _, e := range s.Entities() {
		rs, err := s.SyncEntity(ctx, e, trigger, full)
		runs = append(runs, rs...)
		if err != nil {
			errs = append(errs, err)
			if stop(ctx, err) {
				return runs, errors.Join(errs...)
			}
		}
	}
	if picklists {
		r, err := s.refreshPicklists(ctx, trigger)
		runs = append(runs, r)
		errs = append(errs, err)
	}
	return runs, errors.Join(errs...)
}

// stop reports whether a cycle of syncs should give up after err: the
// credentials were rejected (every other entity would fail the same way)
// or the context is done. A 403 may concern one entity only (a security
// role without access to companies), so the others are still tried.
func stop(ctx context.Context, err error) bool {
	var ae *AuthError
	return errors.As(err, &ae) && !ae.Forbidden || ctx.Err() != nil
}

// lock waits for the entity's run slot; the returned func releases it.
func (s *Syncer) lock(ctx context.Context, e helpdesk.Entity) (func(), error) {
	select {
	case s.locks[e] <- struct{}{}:
		return func() { <-s.locks[e] }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// now returns the local clock as the store keeps times.
func (s *Syncer) now() time.Time { return store.NormalizeTime(s.o.Now()) }

// PSAClock is implemented by providers that can tell the PSA's current
// time (from the Date header of its latest answer, say). A run's
// watermark never passes the PSA's time at the run's start; without a
// PSAClock the local clock stands in for it, and Options.Overlap covers
// the skew between the two.
type PSAClock interface {
	PSATime(ctx context.Context) (time.Time, error)
}

// psaNow returns the PSA's current time, or the local clock's where the
// provider cannot tell.
func (s *Syncer) psaNow(ctx context.Context) time.Time {
	now := s.now()
	c, ok := s.p.(PSAClock)
	if !ok {
		return now
	}
	t, err := c.PSATime(ctx)
	if err != nil || t.IsZero() {
		s.log.DebugContext(ctx, "sync: PSA time unknown, using the local clock", "err", err)
		return now
	}
	return store.NormalizeTime(t)
}
