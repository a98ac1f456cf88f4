package reconcile

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// planPicklists refreshes the local picklist database when it differs from
// the PSA, and checks that every value the file expects exists. A missing
// value is created where the PSA's API allows and picklists.create is true
// (a PSA write); otherwise it is drift.
func (r *Reconciler) planPicklists(ctx context.Context, p *Plan) error {
	observed, err := r.Provider.Picklists(ctx)
	if err != nil {
		return fmt.Errorf("list picklists: %w", err)
	}
	stored, refreshed, err := r.Store.Picklists(ctx, r.Scope())
	if err != nil {
		return fmt.Errorf("read picklist database: %w", err)
	}
	noStatuses := r.noStatuses(observed)
	if noStatuses {
		p.Drift = append(p.Drift, Drift{Kind: KindPicklists, Target: string(helpdesk.PicklistStatus), Severity: SeverityError,
			Reason: fmt.Sprintf("%s returned no ticket statuses: check the %s's permissions; "+
				"the picklist database keeps its last good copy", r.psaName(), r.apiPrincipal())})
	}
	before := len(p.Changes)
	for _, want := range expectedValues(r.Config.Picklists) {
		if noStatuses && want.kind == helpdesk.PicklistStatus {
			continue // already explained: "missing" would send the admin the wrong way
		}
		if c, ok := r.checkValue(p, observed, want); ok {
			p.gate(c, r.Config.Picklists.Drift, true)
		}
	}
	created := len(p.Changes) > before
	if !noStatuses && (created || !samePicklists(observed, stored)) {
		detail := "never refreshed"
		if !refreshed.IsZero() {
			detail = "last refreshed " + refreshed.Format("2006-01-02 15:04:05Z")
		}
		p.Changes = append(p.Changes, Change{Kind: KindPicklists, Action: ActionRefresh,
			Target: fmt.Sprintf("picklist database (%d picklists, %d values)", len(observed), countValues(observed)),
			Detail: detail, apply: r.refreshPicklists})
	}
	return nil
}

// noStatuses reports a PSA that has statuses (Capabilities) but returned
// none: every PSA has ticket statuses, so an empty list means the API
// user may not read them, never that there are none. Taken as the truth
// it would empty the picklist database and every status name with it.
func (r *Reconciler) noStatuses(observed []helpdesk.Picklist) bool {
	if !slices.Contains(r.Provider.Capabilities().Picklists, helpdesk.PicklistStatus) {
		return false
	}
	for _, l := range observed {
		if l.Kind == helpdesk.PicklistStatus && len(l.Values) > 0 {
			return false
		}
	}
	return true
}

// apiPrincipal names what the PSA's API credentials act as.
func (r *Reconciler) apiPrincipal() string {
	switch r.Provider.Name() {
	case helpdesk.HaloPSA:
		return "API application"
	case helpdesk.ConnectWise:
		return "API member"
	case helpdesk.Autotask:
		return "API user"
	case helpdesk.ZohoDesk:
		return "refresh token"
	}
	return "API user"
}

// picklistRefresher is a Syncer that refreshes the picklist database
// itself, recording the refresh in the sync run log.
type picklistRefresher interface {
	RefreshPicklistsAs(ctx context.Context, trigger string) (store.SyncRun, error)
}

// refreshPicklists re-reads the PSA (values created by this pass included)
// and replaces the picklist database, through the sync engine where there
// is one, so that the refresh shows in the sync run log.
func (r *Reconciler) refreshPicklists(ctx context.Context) error {
	if pr, ok := r.Syncer.(picklistRefresher); ok {
		_, err := pr.RefreshPicklistsAs(ctx, store.TriggerReconcile)
		return err
	}
	pl, err := r.Provider.Picklists(ctx)
	if err != nil {
		return fmt.Errorf("list picklists: %w", err)
	}
	return r.Store.ReplacePicklists(ctx, r.Scope(), pl, r.now())
}

// wantValue is one value the file expects in one picklist.
type wantValue struct {
	kind  helpdesk.PicklistKind
	board string // "" when any scope will do
	value string
}

func expectedValues(pl config.Picklists) []wantValue {
	var out []wantValue
	scoped := func(k helpdesk.PicklistKind, sv config.ScopedValues) {
		for _, bv := range sv {
			for _, v := range bv.Values {
				out = append(out, wantValue{k, bv.Board, v})
			}
		}
	}
	flat := func(k helpdesk.PicklistKind, vs []string) {
		for _, v := range vs {
			out = append(out, wantValue{k, "", v})
		}
	}
	scoped(helpdesk.PicklistStatus, pl.Statuses)
	scoped(helpdesk.PicklistType, pl.Types)
	flat(helpdesk.PicklistPriority, pl.Priorities)
	flat(helpdesk.PicklistQueue, pl.Queues)
	flat(helpdesk.PicklistDepartment, pl.Departments)
	return out
}

// checkValue returns a change (create) or records drift when the value is
// missing; ok is false when nothing is to be done or drift was recorded.
func (r *Reconciler) checkValue(p *Plan, observed []helpdesk.Picklist, w wantValue) (Change, bool) {
	target := fmt.Sprintf("%s %q", w.kind, w.value)
	if w.board != "" {
		target = fmt.Sprintf("%s %q on board %q", w.kind, w.value, w.board)
	}
	lists := matchingLists(observed, w)
	if w.board != "" && len(lists) == 0 {
		p.Drift = append(p.Drift, Drift{Kind: KindPicklists, Target: target, Severity: SeverityWarning,
			Reason: fmt.Sprintf("board %q does not exist in %s", w.board, r.psaName())})
		return Change{}, false
	}
	for _, l := range lists {
		if slices.ContainsFunc(l.Values, func(v helpdesk.PicklistValue) bool { return strings.EqualFold(v.Name, w.value) }) {
			return Change{}, false
		}
	}
	if !r.Config.Picklists.Create || !slices.Contains(r.Provider.Capabilities().CreatablePicklists, w.kind) {
		reason := fmt.Sprintf("missing in %s", r.psaName())
		if !r.Config.Picklists.Create {
			reason += "; set picklists.create: true to create it, or add it in the PSA"
		} else {
			reason += "; its API cannot create " + string(w.kind) + ": add it in the PSA"
		}
		p.Drift = append(p.Drift, Drift{Kind: KindPicklists, Target: target, Severity: SeverityWarning, Reason: reason})
		return Change{}, false
	}
	return Change{Kind: KindPicklists, Action: ActionAdd, Target: target, Detail: "create in " + r.psaName(),
		apply: func(ctx context.Context) error {
			_, err := r.Provider.CreatePicklistValue(ctx, w.kind, w.board, w.value)
			return err
		}}, true
}

func matchingLists(observed []helpdesk.Picklist, w wantValue) []helpdesk.Picklist {
	var out []helpdesk.Picklist
	for _, l := range observed {
		if l.Kind == w.kind && (w.board == "" || strings.EqualFold(l.Scope, w.board)) {
			out = append(out, l)
		}
	}
	return out
}

func countValues(pl []helpdesk.Picklist) int {
	n := 0
	for _, l := range pl {
		n += len(l.Values)
	}
	return n
}

// samePicklists compares two picklist sets regardless of order.
func samePicklists(a, b []helpdesk.Picklist) bool {
	if len(a) != len(b) {
		return false
	}
	ja, _ := json.Marshal(canonical(a))
	jb, _ := json.Marshal(canonical(b))
	return string(ja) == string(jb)
}

func canonical(pl []helpdesk.Picklist) []helpdesk.Picklist {
	out := make([]helpdesk.Picklist, len(pl))
	for i, l := range pl {
		l.Values = slices.Clone(l.Values)
		slices.SortFunc(l.Values, func(x, y helpdesk.PicklistValue) int { return cmp.Compare(x.ID, y.ID) })
		out[i] = l
	}
	slices.SortFunc(out, func(x, y helpdesk.Picklist) int {
		return cmp.Or(cmp.Compare(x.Kind, y.Kind), cmp.Compare(x.ScopeID, y.ScopeID), cmp.Compare(x.Scope, y.Scope))
	})
	return out
}
