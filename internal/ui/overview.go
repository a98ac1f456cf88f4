package ui

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/horizon/reconciler/internal/account"
	"github.com/horizon/reconciler/internal/callback"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/reconcile"
	"github.com/horizon/reconciler/internal/store"
)

// Levels of an area.
const (
	Green = "green"
	Amber = "amber"
	Red   = "red"
)

// Area is one line of the overview: a part of the integration, its
// level, why, and the page that explains it.
type Area struct {
	Name    string
	Level   string
	Summary string
	Link    string // page path under the base
}

// Summary is an account's verdict: the overview page shows it in full,
// the accounts overview one row of it.
type Summary struct {
	// Level is the worst level of the areas: red when any is red, else
	// amber when any is amber, else green. An account that cannot be
	// judged (Error set) is red, never green.
	Level string
	// Areas are every area, in the overview's order.
	Areas []Area
	// Error says why the account could not be judged ("" when it was).
	Error string
	// LastReconcile is when the last pass ended (zero: none yet) and
	// LastReconcileError why it failed ("" when it did not).
	LastReconcile      time.Time
	LastReconcileError string
	// Callbacks is the callback verdict (callback.VerdictOK, …; "" when
	// there is no valid configuration to judge it by).
	Callbacks string
	// Outbox is the write-back backlog.
	Outbox store.OutboxStats
	// At is when the summary was made.
	At time.Time
}

// NotGreen returns the areas that are amber or red.
func (s Summary) NotGreen() []Area {
	var out []Area
	for _, a := range s.Areas {
		if a.Level != Green {
			out = append(out, a)
		}
	}
	return out
}

// levelRank orders levels from worst to best.
func levelRank(l string) int {
	switch l {
	case Red:
		return 0
	case Amber:
		return 1
	case Green:
		return 2
	}
	return 0 // an unknown level is treated as the worst
}

func worst(areas []Area) string {
	lv := Green
	for _, a := range areas {
		if levelRank(a.Level) < levelRank(lv) {
			lv = a.Level
		}
	}
	return lv
}

func (h *Handler) overview(r *http.Request) (string, any, error) {
	s, err := h.judge(r.Context())
	return "Overview", s, err
}

// Areas judges every part of the integration: the configuration, the
// last reconcile, drift, callbacks against staleAfter, the sync of each
// entity, the outbox backlog and the last smoke test. It reads the store
// only; no PSA call is made.
func (h *Handler) Areas(ctx context.Context) ([]Area, error) {
	s, err := h.judge(ctx)
	return s.Areas, err
}

// Summary judges the account as its overview page does (the same code),
// for the accounts overview. A store it cannot read makes it red with
// the reason in Error.
func (h *Handler) Summary(ctx context.Context) Summary {
	s, err := h.judge(ctx)
	if err != nil {
		s.Level, s.Error = Red, "cannot judge the account: "+err.Error()
	}
	return s
}

// judge makes the account's summary: the areas of the overview page and
// the figures the accounts overview shows beside them.
func (h *Handler) judge(ctx context.Context) (Summary, error) {
	st := h.o.Source.State()
	a := h.o.Source.Account()
	s := Summary{LastReconcile: st.LastReconcile, LastReconcileError: st.LastError, At: h.now()}
	s.Areas = []Area{configArea(st, a), reconcileArea(st, s.At), driftArea(st)}
	if a != nil {
		cb, verdict, err := h.callbackArea(ctx, a)
		if err != nil {
			return s, err
		}
		s.Areas, s.Callbacks = append(s.Areas, cb), verdict
		syncs, err := h.syncAreas(ctx, a)
		if err != nil {
			return s, err
		}
		s.Areas = append(s.Areas, syncs...)
		ob, stats, err := h.outboxArea(ctx, a)
		if err != nil {
			return s, err
		}
		s.Areas, s.Outbox = append(s.Areas, ob, h.smokeArea(ctx)), stats
	}
	s.Level = worst(s.Areas)
	return s, nil
}

func configArea(st State, a *account.Account) Area {
	ar := Area{Name: "Configuration", Link: "configuration"}
	switch {
	case a == nil:
		ar.Level, ar.Summary = Red, "no valid configuration has been loaded"
	case !st.ConfigValid:
		ar.Level = Red
		ar.Summary = fmt.Sprintf("the newest file is invalid (%d problems): running on the last good one", len(st.ConfigProblems))
	case a.Config.Suspend:
		ar.Level, ar.Summary = Amber, "valid; suspend: true stops every write to the PSA"
	default:
		ar.Level, ar.Summary = Green, "valid (hash "+a.Config.Hash()+")"
	}
	return ar
}

func reconcileArea(st State, now time.Time) Area {
	ar := Area{Name: "Last reconcile", Link: "configuration"}
	switch {
	case st.LastReconcile.IsZero():
		ar.Level, ar.Summary = Amber, "no reconcile pass has finished yet"
	case st.LastError != "":
		ar.Level, ar.Summary = Red, "failed "+ago(now, st.LastReconcile)+": "+st.LastError
	case st.ReconcileInterval > 0 && now.Sub(st.LastSuccess) > 3*st.ReconcileInterval:
		ar.Level, ar.Summary = Amber, "last success "+ago(now, st.LastSuccess)+", more than three intervals ago"
	default:
		ar.Level, ar.Summary = Green, "succeeded "+ago(now, st.LastSuccess)
	}
	return ar
}

func driftArea(st State) Area {
	ar := Area{Name: "Drift", Link: "configuration"}
	p := st.LastPlan
	if p == nil {
		ar.Level, ar.Summary = Amber, "unknown until the first reconcile pass"
		return ar
	}
	s := p.Summary()
	switch {
	case s.Errors > 0:
		ar.Level = Red
	case s.Drift > 0:
		ar.Level = Amber
	default:
		ar.Level = Green
	}
	ar.Summary = fmt.Sprintf("%d drift items (%d errors) and %d changes at the last pass", s.Drift, s.Errors, len(p.Changes))
	return ar
}

func (h *Handler) callbackArea(ctx context.Context, a *account.Account) (Area, string, error) {
	ar := Area{Name: "Callbacks", Link: "callbacks"}
	rep, err := callback.LogStatus(ctx, a.Store, a.Scope)
	if err != nil {
		return ar, "", err
	}
	rep.Judge(staleAfter(a))
	ar.Summary = rep.Verdict + ": " + rep.VerdictReason
	switch rep.Verdict {
	case callback.VerdictOK:
		ar.Level = Green
	case callback.VerdictOff:
		ar.Level = Amber
	default:
		ar.Level = Red
	}
	return ar, rep.Verdict, nil
}

func staleAfter(a *account.Account) time.Duration {
	if a.Config.Callbacks == nil {
		return 0
	}
	return a.Config.Callbacks.StaleAfter.Std()
}

// lastEntityRun returns the newest run of an entity that is not a
// one-ticket sync (those say nothing about the sweep).
func lastEntityRun(ctx context.Context, a *account.Account, e helpdesk.Entity) (store.SyncRun, bool, error) {
	var c store.Cursor
	for range 5 {
		runs, err := a.Store.SyncRuns(ctx, a.Scope, store.SyncRunFilter{Entity: e, Limit: 50, Before: c})
		if err != nil {
			return store.SyncRun{}, false, fmt.Errorf("sync runs of %s: %w", e, err)
		}
		for _, r := range runs {
			if r.TicketID == "" {
				return r, true, nil
			}
		}
		if len(runs) < 50 {
			break
		}
		last := runs[len(runs)-1]
		c = store.Cursor{At: last.StartedAt, ID: last.ID}
	}
	return store.SyncRun{}, false, nil
}

func (h *Handler) syncAreas(ctx context.Context, a *account.Account) ([]Area, error) {
	poll := a.Config.Sync.PollInterval.Std()
	var out []Area
	for _, e := range append(account.Entities(a.Config), helpdesk.EntityMembers) {
		ar := Area{Name: "Sync: " + string(e), Link: "sync-runs?entity=" + string(e)}
		r, ok, err := lastEntityRun(ctx, a, e)
		if err != nil {
			return nil, err
		}
		limit := 3 * poll
		if e == helpdesk.EntityMembers {
			limit = 3 * a.Config.Sync.PicklistRefreshInterval.Std()
		}
		switch {
		case !ok:
			ar.Level, ar.Summary = Amber, "never synced"
		case r.FinishedAt.IsZero():
			ar.Level, ar.Summary = Green, fmt.Sprintf("%s run in progress since %s", r.Trigger, ago(h.now(), r.StartedAt))
		case r.Outcome == store.RunInterrupted:
			ar.Level, ar.Summary = Red, fmt.Sprintf("last %s run %s was interrupted (its process died) after %d created, %d updated",
				r.Trigger, ago(h.now(), r.StartedAt), r.Created, r.Updated)
		case r.Outcome == store.RunCancelled:
			ar.Level, ar.Summary = Amber, fmt.Sprintf("last %s run %s was stopped by a shutdown; the next run goes on from there",
				r.Trigger, ago(h.now(), r.StartedAt))
		case r.Error != "" || r.Failed > 0:
			ar.Level, ar.Summary = Red, fmt.Sprintf("last %s run failed %s: %s", r.Trigger, ago(h.now(), r.StartedAt), runProblem(r))
		case limit > 0 && h.now().Sub(r.FinishedAt) > limit:
			ar.Level, ar.Summary = Amber, fmt.Sprintf("last run %s: no run for over three intervals", ago(h.now(), r.FinishedAt))
		default:
			ar.Level, ar.Summary = Green, fmt.Sprintf("last %s run %s: %d created, %d updated", r.Trigger, ago(h.now(), r.FinishedAt), r.Created, r.Updated)
		}
		out = append(out, ar)
	}
	pl, err := h.picklistArea(ctx, a)
	if err != nil {
		return nil, err
	}
	return append(out, pl), nil
}

// picklistArea judges the picklist database by its last refresh, whoever
// made it (the poll, a reconcile pass, a manual refresh).
func (h *Handler) picklistArea(ctx context.Context, a *account.Account) (Area, error) {
	ar := Area{Name: "Picklist database", Link: "picklists"}
	_, at, err := a.Store.Picklists(ctx, a.Scope)
	if err != nil {
		return ar, fmt.Errorf("picklist database: %w", err)
	}
	limit := 3 * a.Config.Sync.PicklistRefreshInterval.Std()
	switch {
	case at.IsZero():
		ar.Level, ar.Summary = Amber, "never refreshed"
	case limit > 0 && h.now().Sub(at) > limit:
		ar.Level, ar.Summary = Amber, "last refreshed "+ago(h.now(), at)+": no refresh for over three intervals"
	default:
		ar.Level, ar.Summary = Green, "refreshed "+ago(h.now(), at)
	}
	return ar, nil
}

func runProblem(r store.SyncRun) string {
	if r.Error != "" {
		return r.Error
	}
	return fmt.Sprintf("%d records failed", r.Failed)
}

// outboxStuckAfter is how old the oldest pending write may be before the
// backlog is amber.
const outboxStuckAfter = 10 * time.Minute

func (h *Handler) outboxArea(ctx context.Context, a *account.Account) (Area, store.OutboxStats, error) {
	ar := Area{Name: "Write-back outbox", Link: "writes"}
	s, err := a.Store.OutboxStats(ctx, a.Scope)
	if err != nil {
		return ar, s, fmt.Errorf("outbox backlog: %w", err)
	}
	switch {
	case s.Dead > 0:
		ar.Level, ar.Summary = Red, fmt.Sprintf("%d writes gave up (dead), %d pending", s.Dead, s.Pending)
	case s.Pending > 0 && h.now().Sub(s.Oldest) > outboxStuckAfter:
		ar.Level, ar.Summary = Amber, fmt.Sprintf("%d pending, the oldest queued %s", s.Pending, ago(h.now(), s.Oldest))
	default:
		ar.Level, ar.Summary = Green, fmt.Sprintf("%d pending", s.Pending)
	}
	return ar, s, nil
}

func (h *Handler) smokeArea(ctx context.Context) Area {
	ar := Area{Name: "Smoke test", Link: ""}
	if h.o.Smoke == nil {
		ar.Level, ar.Summary = Amber, "never run"
		return ar
	}
	res, ok, err := h.o.Smoke(ctx)
	switch {
	case err != nil:
		ar.Level, ar.Summary = Amber, "unknown: "+err.Error()
	case !ok:
		ar.Level, ar.Summary = Amber, "never run"
	case !res.OK:
		ar.Level, ar.Summary = Red, "failed "+ago(h.now(), res.At)+": "+res.Detail
	default:
		ar.Level, ar.Summary = Green, "passed "+ago(h.now(), res.At)
	}
	return ar
}

// planDrift returns the last plan's drift of one kind.
func planDrift(st State, k reconcile.Kind) []reconcile.Drift {
	if st.LastPlan == nil {
		return nil
	}
	_, d := st.LastPlan.ByKind(k)
	return d
}
