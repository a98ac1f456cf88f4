package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// planUsers binds and unbinds helpdesk users as userMappings says. A
// mapping naming a helpdesk user that does not exist, or is inactive, is an
// error in the plan. Active helpdesk users left unmapped are counted and
// follow unmappedPolicy. Mappings live in the store: nothing here writes
// to the PSA.
func (r *Reconciler) planUsers(ctx context.Context, p *Plan) error {
	members, err := r.members(ctx)
	if err != nil {
		return err
	}
	current, err := r.Store.UserMappings(ctx, r.Scope())
	if err != nil {
		return fmt.Errorf("read user mappings: %w", err)
	}
	have := map[string]store.UserMapping{}
	for _, m := range current {
		have[m.HelpdeskUserID] = m
	}
	um := r.Config.UserMappings
	wanted := map[string]bool{}
	for _, m := range um.Mappings {
		mem, ok := findMember(members, string(m.HelpdeskUser))
		switch {
		case !ok:
			p.Drift = append(p.Drift, Drift{Kind: KindUserMappings, Target: "helpdesk user " + string(m.HelpdeskUser), Severity: SeverityError,
				Reason: fmt.Sprintf("no %s user has this ID, login or email; fix userMappings or the user in the PSA", r.psaName())})
			continue
		case !mem.Active:
			p.Drift = append(p.Drift, Drift{Kind: KindUserMappings, Target: memberLabel(mem), Severity: SeverityError,
				Reason: "the helpdesk user is inactive; remove the mapping or reactivate the user"})
		}
		wanted[mem.ExternalID] = true
		if cur, ok := have[mem.ExternalID]; !ok {
			p.gate(r.bind(mem, m.HorizonUser, ActionAdd, nil), um.Drift, false)
		} else if !strings.EqualFold(cur.HorizonUser, m.HorizonUser) {
			p.gate(r.bind(mem, m.HorizonUser, ActionChange, []FieldDiff{{"horizonUser", cur.HorizonUser, m.HorizonUser}}), um.Drift, false)
		}
	}
	for _, cur := range current {
		if !wanted[cur.HelpdeskUserID] {
			p.gate(r.unbind(cur, members), um.Drift, false)
		}
	}
	r.planUnmapped(p, members, wanted, r.notTechnicians(ctx, p, members))
	return nil
}

// notTechnicians returns the helpdesk users that never count as unmapped,
// by external ID: Horizon's own API user (the credentials' member,
// resource or agent) and those userMappings.ignore names. An ignore entry
// matching no user, or an API user the PSA could not name, is a warning:
// the count would otherwise be wrong without a word.
func (r *Reconciler) notTechnicians(ctx context.Context, p *Plan, members []helpdesk.Member) map[string]bool {
	out := map[string]bool{}
	if id, err := r.apiUserID(ctx); err != nil {
		p.Drift = append(p.Drift, Drift{Kind: KindUserMappings, Target: "Horizon's API user", Severity: SeverityWarning,
			Reason: fmt.Sprintf("could not tell which %s user Horizon's credentials act as (%v); it counts as unmapped until it can be read, or list it in userMappings.ignore", r.psaName(), err)})
	} else if id != "" {
		out[id] = true
	}
	for _, v := range r.Config.UserMappings.Ignore {
		m, ok := findMember(members, string(v))
		if !ok {
			p.Drift = append(p.Drift, Drift{Kind: KindUserMappings, Target: "ignored helpdesk user " + string(v), Severity: SeverityWarning,
				Reason: fmt.Sprintf("no %s user has this ID, login or email; fix userMappings.ignore", r.psaName())})
			continue
		}
		out[m.ExternalID] = true
	}
	return out
}

// apiUserID returns the external ID of Horizon's API user, "" (and no
// error) where the provider cannot tell.
func (r *Reconciler) apiUserID(ctx context.Context) (string, error) {
	m, err := r.Provider.APIUser(ctx)
	if errors.Is(err, helpdesk.ErrUnsupported) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return m.ExternalID, nil
}

// members returns the helpdesk users the store holds, or asks the PSA when
// none has been synced yet (the first plan of a new account).
func (r *Reconciler) members(ctx context.Context) ([]helpdesk.Member, error) {
	ms, err := r.Store.Members(ctx, r.Scope())
	if err != nil {
		return nil, fmt.Errorf("read helpdesk users: %w", err)
	}
	if len(ms) > 0 {
		return ms, nil
	}
	for page, err := range r.Provider.Members(ctx, helpdesk.Query{}) {
		if err != nil {
			return nil, fmt.Errorf("list helpdesk users: %w", err)
		}
		ms = append(ms, page...)
	}
	return ms, nil
}

// findMember matches a mapping's helpdeskUser against ID, login and email.
func findMember(ms []helpdesk.Member, v string) (helpdesk.Member, bool) {
	for _, m := range ms {
		if m.ExternalID == v || (m.Identifier != "" && strings.EqualFold(m.Identifier, v)) ||
			(m.Email != "" && strings.EqualFold(m.Email, v)) {
			return m, true
		}
	}
	return helpdesk.Member{}, false
}

func memberLabel(m helpdesk.Member) string {
	name := m.Identifier
	if name == "" {
		name = m.Email
	}
	if name == "" {
		name = m.Name
	}
	return fmt.Sprintf("helpdesk user %s (id %s)", name, m.ExternalID)
}

func (r *Reconciler) bind(m helpdesk.Member, horizonUser string, a Action, diff []FieldDiff) Change {
	c := Change{Kind: KindUserMappings, Action: a, Target: memberLabel(m), Diff: diff,
		apply: func(ctx context.Context) error {
			return r.Store.SetUserMapping(ctx, r.Scope(), store.UserMapping{HelpdeskUserID: m.ExternalID,
				HorizonUser: horizonUser, UpdatedAt: r.now()})
		}}
	if a == ActionAdd {
		c.Detail = "bind to " + horizonUser
	}
	return c
}

func (r *Reconciler) unbind(cur store.UserMapping, members []helpdesk.Member) Change {
	target := "helpdesk user id " + cur.HelpdeskUserID
	if m, ok := findMember(members, cur.HelpdeskUserID); ok {
		target = memberLabel(m)
	}
	return Change{Kind: KindUserMappings, Action: ActionRemove, Target: target,
		Detail: "unbind from " + cur.HorizonUser + " (not in the file)",
		apply: func(ctx context.Context) error {
			return r.Store.DeleteUserMapping(ctx, r.Scope(), cur.HelpdeskUserID)
		}}
}

// planUnmapped counts active users without a mapping, other than those
// excluded, and reports them as the policy says.
func (r *Reconciler) planUnmapped(p *Plan, members []helpdesk.Member, mapped, excluded map[string]bool) {
	var names []string
	for _, m := range members {
		if m.Active && !mapped[m.ExternalID] && !excluded[m.ExternalID] {
			names = append(names, strings.TrimPrefix(memberLabel(m), "helpdesk user "))
		}
	}
	p.Unmapped = len(names)
	policy := r.Config.UserMappings.UnmappedPolicy
	if len(names) == 0 || policy == config.UnmappedIgnore {
		return
	}
	sev := SeverityWarning
	if policy == config.UnmappedError {
		sev = SeverityError
	}
	shown := names
	if len(shown) > 10 {
		shown = append(shown[:10:10], fmt.Sprintf("and %d more", len(names)-10))
	}
	p.Drift = append(p.Drift, Drift{Kind: KindUserMappings, Severity: sev,
		Target: fmt.Sprintf("%d active helpdesk %s unmapped", len(names), plural(len(names), "user", "users")),
		Reason: fmt.Sprintf("unmappedPolicy is %s: map %s in userMappings", policy, strings.Join(shown, ", "))})
}
