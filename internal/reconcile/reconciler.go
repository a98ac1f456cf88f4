package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// Syncer runs the data sync a plan's sync items call for.
type Syncer interface {
	// SyncEntity brings one entity up to date: a backfill of the ingest
	// window (or of its widened gap) when the watermark says so, else an
	// incremental sync. It records the runs it makes.
	SyncEntity(ctx context.Context, e helpdesk.Entity, trigger string, full bool) ([]store.SyncRun, error)
}

// Reconciler plans and applies one account's horizon.yaml.
type Reconciler struct {
	Config   *config.Config
	Provider helpdesk.Provider
	Store    store.Store
	// Syncer runs sync items on apply; nil leaves them planned.
	Syncer Syncer
	// CallbackSecret is the resolved callbacks.secret.
	CallbackSecret helpdesk.Secret
	// HTTPClient checks widgets; nil uses a client with the widget's
	// timeout.
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

type applyFunc func(ctx context.Context) error

// Scope returns the store scope of the file's account.
func (r *Reconciler) Scope() store.Scope {
	return store.Scope{Account: r.Config.Account.Name, Provider: string(r.Config.Helpdesk.Provider)}
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func (r *Reconciler) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

// step is one part of a pass. It observes and adds its changes and drift
// to the plan; an error means it could not observe.
type step struct {
	kind Kind
	run  func(ctx context.Context, p *Plan) error
}

func (r *Reconciler) steps() []step {
	return []step{
		{KindWebhooks, r.planWebhooks},
		{KindUserMappings, r.planUsers},
		{KindPicklists, r.planPicklists},
		{KindWidgets, r.planWidgets},
		{KindSync, r.planSync},
	}
}

// Plan observes the PSA and the store and diffs them against the file.
// It writes nothing. The connection is checked first: without it there is
// nothing to compare.
func (r *Reconciler) Plan(ctx context.Context) (*Plan, error) {
	p := &Plan{Account: r.Config.Account.Name, Provider: string(r.Config.Helpdesk.Provider),
		Suspended: r.Config.Suspend, Changes: []Change{}, Drift: []Drift{}}
	if err := r.Provider.Ping(ctx); err != nil {
		return nil, fmt.Errorf("connect to %s: %w", r.Provider.Name(), err)
	}
	for _, s := range r.steps() {
		if err := s.run(ctx, p); err != nil {
			return nil, fmt.Errorf("observe %s: %w", s.kind, err)
		}
	}
	p.sort()
	return p, nil
}

// ChangeError is a change that failed to apply.
type ChangeError struct {
	Change Change
	Err    error
}

// Result is what Apply did.
type Result struct {
	Applied []Change
	Failed  []ChangeError
	// Refused holds the plan's error items when Apply refused the plan:
	// like Terraform, a plan with errors applies nothing.
	Refused []Drift
}

// ErrPlanHasErrors is why Apply refuses a plan: it has error items.
var ErrPlanHasErrors = errors.New("the plan has errors; nothing was applied")

// Err joins the failures, nil when every change applied.
func (res Result) Err() error {
	if len(res.Refused) > 0 {
		targets := make([]string, len(res.Refused))
		for i, d := range res.Refused {
			targets[i] = d.Target
		}
		return fmt.Errorf("%w (%s)", ErrPlanHasErrors, strings.Join(targets, "; "))
	}
	var errs []error
	for _, f := range res.Failed {
		errs = append(errs, fmt.Errorf("%s %s: %w", f.Change.Action, f.Change.Target, f.Err))
	}
	return errors.Join(errs...)
}

// Apply applies the plan's changes in order. A failed change does not stop
// the others (they are independent); every failure is in the result. A plan
// with errors is refused whole: its changes were computed from a file that
// is wrong somewhere, so none of them is applied (Result.Refused).
func (r *Reconciler) Apply(ctx context.Context, p *Plan) Result {
	return r.ApplyFenced(ctx, p, nil)
}

// ApplyFenced is Apply that calls fence (when not nil) before each
// change: once it fails, that change and the rest are not made, and
// each is failed with its error. The daemon's fence checks that its
// replica still holds the account's lease under the epoch it started
// leading with, so that a replica that lost the account in the middle of
// an apply stops before its next change to the PSA or the store, rather
// than racing the new leader (two webhook registrations, say).
func (r *Reconciler) ApplyFenced(ctx context.Context, p *Plan, fence func(context.Context) error) Result {
	var res Result
	if p.HasErrors() {
		for _, d := range p.Drift {
			if d.Severity == SeverityError {
				res.Refused = append(res.Refused, d)
			}
		}
		r.logger().WarnContext(ctx, "apply refused: the plan has errors", "errors", len(res.Refused))
		return res
	}
	var fenced error
	for _, c := range p.Changes {
		if c.apply == nil {
			continue
		}
		if fenced == nil && fence != nil {
			if fenced = fence(ctx); fenced != nil {
				r.logger().WarnContext(ctx, "apply stopped: this process no longer leads the account", "err", fenced)
			}
		}
		if fenced != nil {
			res.Failed = append(res.Failed, ChangeError{c, fenced})
			continue
		}
		if err := c.apply(ctx); err != nil {
			if ctx.Err() != nil {
				res.Failed = append(res.Failed, ChangeError{c, ctx.Err()})
				break
			}
			res.Failed = append(res.Failed, ChangeError{c, err})
			r.logger().WarnContext(ctx, "apply failed", "kind", c.Kind, "action", c.Action, "target", c.Target, "err", err)
			continue
		}
		res.Applied = append(res.Applied, c)
		r.logger().InfoContext(ctx, "applied", "kind", c.Kind, "action", c.Action, "target", c.Target)
	}
	if len(p.Widgets) > 0 && fenced == nil {
		if err := r.recordWidgets(ctx, p.Widgets); err != nil {
			res.Failed = append(res.Failed, ChangeError{Change{Kind: KindWidgets, Action: ActionRefresh, Target: "widget status"}, err})
		}
	}
	return res
}

// gate turns a change into drift when the section's drift mode is warn or
// (for PSA writes) the account is suspended, and adds it to the plan.
func (p *Plan) gate(c Change, mode config.DriftMode, psaWrite bool) {
	switch {
	case p.Suspended && psaWrite:
		p.Drift = append(p.Drift, Drift{Kind: c.Kind, Target: c.Target, Severity: SeverityWarning,
			Reason: fmt.Sprintf("would %s, but suspend is true: no writes to the PSA", c.Action)})
	case mode == config.DriftWarn:
		p.Drift = append(p.Drift, Drift{Kind: c.Kind, Target: c.Target, Severity: SeverityWarning,
			Reason: fmt.Sprintf("would %s, but drift is warn: reported only", c.Action) + detailSuffix(c)})
	default:
		p.Changes = append(p.Changes, c)
	}
}

func detailSuffix(c Change) string {
	if c.Detail == "" {
		return ""
	}
	return " (" + c.Detail + ")"
}

// redact hides the callback secret and any token-like part of a URL so a
// plan never prints it.
func (r *Reconciler) redact(s string) string { return helpdesk.RedactURL(s, r.CallbackSecret) }

// psaName is the PSA's product name for messages ("ConnectWise Manage").
func (r *Reconciler) psaName() string {
	if c, ok := config.CapabilitiesOf(r.Config.Helpdesk.Provider); ok {
		return c.Name
	}
	return r.Provider.Name()
}
