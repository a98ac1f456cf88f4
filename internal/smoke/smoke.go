// Package smoke is the seed's end-to-end verification of an account, as
// steps: check the connection, create a test ticket in the PSA, watch it
// land in Horizon (by callback, or tell that only polling brought it),
// change it from Horizon through the write-back outbox and read every
// change back from the PSA, then close it. Each step is timed and says in
// an admin's words what it found, and the first failure names where to
// look next. The CLI (reconciler smoke) and the daemon (after risky
// changes) run the same steps.
package smoke

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/metrics"
	"github.com/horizon/reconciler/internal/store"
)

// Step names, in the order they run.
const (
	StepConnect  = "connect"
	StepCreate   = "create"
	StepCallback = "callback"
	StepStatus   = "status"
	StepNote     = "note"
	StepAssign   = "assign"
	StepTime     = "time"
	StepCleanup  = "cleanup"
)

// Steps lists every step name in order.
var Steps = []string{StepConnect, StepCreate, StepCallback, StepStatus, StepNote, StepAssign, StepTime, StepCleanup}

// Step results.
const (
	Pass = "pass"
	Fail = "fail"
	Skip = "skip"
)

// Trigger is the sync run log trigger of a smoke run's summary row: the
// last one is the last smoke test (see LastRun).
const Trigger = "smoke"

// Entity is the entity of a smoke run's summary row in the sync run log.
const Entity helpdesk.Entity = "smoke"

// Write operations the smoke test asks Horizon for.
const (
	OpStatus = "status"
	OpAssign = "assign"
	OpNote   = "note"
	OpTime   = "time"
)

// Write is one Horizon-side write: a request a Horizon user makes, stored
// in the write-back outbox and delivered to the PSA.
type Write struct {
	Op       string
	TicketID string
	// Author is the Horizon user (email) the write is made for.
	Author string
	// Status is a status name or ID (OpStatus).
	Status string
	// Assignee is a Horizon user (OpAssign).
	Assignee string
	// Text is the note's text (OpNote) or the time entry's notes (OpTime).
	Text  string
	Hours float64
}

// Written is what became of a write.
type Written struct {
	ID    int64
	State string // the outbox state: done, failed, dead, unknown, pending
	// Answer is the PSA's answer in an admin's words.
	Answer string
	// ResultID is what the write made or changed (the note's ID, ...).
	ResultID string
	// Marker is the token the write left in what it created.
	Marker string
	// MemberID and MemberName are the helpdesk user it was made as.
	MemberID, MemberName string
}

// Done reports whether the PSA accepted the write.
func (w Written) Done() bool { return w.State == store.OutboxDone }

// Writer makes Horizon-side writes through the write-back outbox and waits
// for the PSA's answer. An error means the write could not be asked for
// or awaited (refused by Horizon before the outbox, no answer in time); a
// write the PSA refused is a Written that is not Done.
type Writer interface {
	Write(ctx context.Context, w Write) (Written, error)
}

// Syncer is the part of the sync engine the smoke test uses when no
// daemon runs for the account.
type Syncer interface {
	// SyncTicket fetches one ticket into the store.
	SyncTicket(ctx context.Context, externalID, trigger string) (store.SyncRun, error)
	// SyncEntity runs an incremental sync of an entity (a poll).
	SyncEntity(ctx context.Context, e helpdesk.Entity, trigger string, full bool) ([]store.SyncRun, error)
}

// Options configure a run. Provider, Store, Scope, Config, Writer and
// Syncer are required.
type Options struct {
	Provider helpdesk.Provider
	Store    store.Store
	Scope    store.Scope
	Config   *config.Config
	Writer   Writer
	Syncer   Syncer
	// Daemon is true when a daemon leads the account: it receives the
	// callbacks and polls. Without one the run polls once itself after
	// the callback timeout.
	Daemon bool
	// Keep leaves the test ticket open.
	Keep bool
	// File is the horizon.yaml path, for the commands a failure names.
	File string
	// Webhooks is what the file asks of the PSA's webhooks; when no
	// callback came, the PSA's registrations are compared with it to tell
	// a webhook not (yet) registered from callbacks that do not arrive.
	// Zero: not compared.
	Webhooks helpdesk.WebhookSpec
	Metrics  *metrics.Metrics // nil: none
	Logger   *slog.Logger     // nil: slog.Default()
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Tick is how often the store is looked at while waiting (default
	// 250 ms).
	Tick time.Duration
	// PollWait is how long, after the callback timeout, a run with a
	// daemon waits for the daemon's poll to bring the ticket (default:
	// sync.pollInterval plus a minute, bounded by ctx).
	PollWait time.Duration
	// WriteTimeout bounds the wait for one write's answer (default 1m).
	WriteTimeout time.Duration
}

// StepResult is one step's outcome.
type StepResult struct {
	Step     string        `json:"step"`
	Result   string        `json:"result"`
	Duration time.Duration `json:"-"`
	Detail   string        `json:"detail"`
	// Next is the page or command to look at after a failure.
	Next string `json:"next,omitempty"`
}

// Report is a whole run.
type Report struct {
	Account   string        `json:"account"`
	Provider  string        `json:"provider"`
	TicketID  string        `json:"ticketId,omitempty"`
	Summary   string        `json:"summary,omitempty"`
	StartedAt time.Time     `json:"startedAt"`
	Duration  time.Duration `json:"-"`
	Steps     []StepResult  `json:"steps"`
	// Left is the test ticket when it was left open (--keep, or a
	// cleanup that failed).
	Left string `json:"leftOpen,omitempty"`
}

// Passed reports whether every step passed or was skipped on purpose.
func (r Report) Passed() bool { return r.FirstFailure() == nil }

// FirstFailure returns the first failed step, nil when none failed.
func (r Report) FirstFailure() *StepResult {
	for i := range r.Steps {
		if r.Steps[i].Result == Fail {
			return &r.Steps[i]
		}
	}
	return nil
}

// Result is "passed" or "failed".
func (r Report) Result() string {
	if r.Passed() {
		return "passed"
	}
	return "failed"
}

// ErrCannotRun is a run that could not start (a missing option).
var ErrCannotRun = errors.New("smoke test cannot run")

func (o *Options) check() error {
	if o.Provider == nil || o.Store == nil || o.Config == nil || o.Writer == nil || o.Syncer == nil {
		return fmt.Errorf("%w: it needs Provider, Store, Config, Writer and Syncer", ErrCannotRun)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Tick <= 0 {
		o.Tick = 250 * time.Millisecond
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = time.Minute
	}
	if o.PollWait <= 0 {
		o.PollWait = o.Config.Sync.PollInterval.Std() + time.Minute
	}
	return nil
}
