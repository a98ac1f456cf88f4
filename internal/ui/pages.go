package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/horizon/reconciler/internal/account"
	"github.com/horizon/reconciler/internal/callback"
	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/reconcile"
	"github.com/horizon/reconciler/internal/store"
)

type configurationData struct {
	State    State
	Path     string
	YAML     string
	PlanText string
	Drift    []reconcile.Drift
	Suspend  bool
}

func (h *Handler) configuration(r *http.Request) (string, any, error) {
	a, err := h.account()
	if err != nil {
		return "", nil, err
	}
	st := h.o.Source.State()
	y, err := effectiveYAML(a)
	if err != nil {
		return "", nil, err
	}
	d := configurationData{State: st, Path: st.ConfigPath, YAML: y, Suspend: a.Config.Suspend}
	if st.LastPlan != nil {
		var b bytes.Buffer
		if err := reconcile.WritePlan(&b, st.LastPlan, "text"); err != nil {
			return "", nil, err
		}
		d.PlanText = helpdesk.RedactURL(b.String(), a.CallbackSecret)
		d.Drift = st.LastPlan.Drift
	}
	return "Configuration", d, nil
}

// effectiveYAML is the loaded file with defaults filled in: secrets stay
// references ({env: NAME}), and URLs lose any credential they carry.
func effectiveYAML(a *account.Account) (string, error) {
	c := *a.Config
	c.Widgets = slices.Clone(c.Widgets)
	for i := range c.Widgets {
		c.Widgets[i].URL = helpdesk.RedactURL(c.Widgets[i].URL)
	}
	if c.Callbacks != nil {
		cb := *c.Callbacks
		cb.URL = helpdesk.RedactURL(cb.URL, a.CallbackSecret)
		c.Callbacks = &cb
	}
	b, err := yaml.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("render configuration: %w", err)
	}
	return string(b), nil
}

type userRow struct {
	Member    helpdesk.Member
	Horizon   string
	APIUser   bool
	Unmapped  bool
	MappingOK bool
}

type usersData struct {
	Rows        []userRow
	Unmapped    int
	APIUser     string // how the API user is known, for the page
	Policy      config.UnmappedPolicy
	Drift       []reconcile.Drift
	PlanUnknown bool
}

func (h *Handler) users(r *http.Request) (string, any, error) {
	a, err := h.account()
	if err != nil {
		return "", nil, err
	}
	ctx := r.Context()
	members, err := a.Store.Members(ctx, a.Scope)
	if err != nil {
		return "", nil, fmt.Errorf("helpdesk users: %w", err)
	}
	maps, err := a.Store.UserMappings(ctx, a.Scope)
	if err != nil {
		return "", nil, fmt.Errorf("user mappings: %w", err)
	}
	bound := map[string]string{}
	for _, m := range maps {
		bound[m.HelpdeskUserID] = m.HorizonUser
	}
	api, apiNote := h.apiUserOf(ctx, a)
	st := h.o.Source.State()
	d := usersData{APIUser: apiNote, Policy: a.Config.UserMappings.UnmappedPolicy,
		Drift: planDrift(st, reconcile.KindUserMappings), PlanUnknown: st.LastPlan == nil}
	for _, m := range members {
		row := userRow{Member: m, Horizon: bound[m.ExternalID], APIUser: api != "" && m.ExternalID == api}
		row.MappingOK = row.Horizon != ""
		row.Unmapped = m.Active && !row.MappingOK && !row.APIUser
		if row.Unmapped {
			d.Unmapped++
		}
		d.Rows = append(d.Rows, row)
	}
	slices.SortStableFunc(d.Rows, func(x, y userRow) int {
		return strings.Compare(strings.ToLower(x.Member.Name), strings.ToLower(y.Member.Name))
	})
	return "Users", d, nil
}

// apiUserCache keeps the PSA's answer to "who is the API user" for a
// while: the page must not call the PSA on every view.
type apiUserCache struct {
	at   time.Time
	id   string
	note string
}

const apiUserTTL = 10 * time.Minute

// apiUserOf returns the external ID of the member Horizon's credentials
// act as ("" when unknown) and a sentence saying how it is known.
func (h *Handler) apiUserOf(ctx context.Context, a *account.Account) (string, string) {
	h.apiUserMu.Lock()
	defer h.apiUserMu.Unlock()
	if c := h.apiUser; !c.at.IsZero() && h.now().Sub(c.at) < apiUserTTL {
		return c.id, c.note
	}
	ctx, cancel := context.WithTimeout(ctx, h.o.PSATimeout)
	defer cancel()
	m, err := a.Provider.APIUser(ctx)
	c := apiUserCache{at: h.now()}
	switch {
	case errors.Is(err, helpdesk.ErrUnsupported):
		c.note = "This PSA client does not report which user its credentials act as yet: no user is marked as Horizon's API user."
	case err != nil:
		c.note = "Could not ask the PSA which user Horizon's credentials act as: " + helpdesk.RedactURL(err.Error())
		c.at = time.Time{} // ask again next time
	default:
		c.id = m.ExternalID
		c.note = fmt.Sprintf("Horizon's credentials act as %s (%s): it is marked below and not counted as unmapped.", m.Name, m.ExternalID)
	}
	h.apiUser = c
	return c.id, c.note
}

type picklistsData struct {
	Lists     []helpdesk.Picklist
	Refreshed time.Time
	Expected  []reconcile.ExpectedValue
	Missing   int
	Drift     []reconcile.Drift
}

func (h *Handler) picklists(r *http.Request) (string, any, error) {
	a, err := h.account()
	if err != nil {
		return "", nil, err
	}
	lists, at, err := a.Store.Picklists(r.Context(), a.Scope)
	if err != nil {
		return "", nil, fmt.Errorf("picklist database: %w", err)
	}
	d := picklistsData{Lists: lists, Refreshed: at, Expected: reconcile.ExpectedPicklistValues(a.Config.Picklists, lists),
		Drift: planDrift(h.o.Source.State(), reconcile.KindPicklists)}
	for _, e := range d.Expected {
		if !e.Present {
			d.Missing++
		}
	}
	return "Picklists", d, nil
}

func (h *Handler) refreshPicklists(r *http.Request) (string, string, error) {
	back := h.o.Base + "/picklists"
	a, err := h.account()
	if err != nil {
		return back, "", err
	}
	run, err := a.Syncer.RefreshPicklists(r.Context())
	if err != nil {
		return back, "", fmt.Errorf("refresh picklists: %w", err)
	}
	return back, fmt.Sprintf("Picklist database refreshed: %d added, %d changed, %d unchanged.", run.Created, run.Updated, run.Unchanged), nil
}

type widgetsData struct {
	Checks       []store.WidgetCheck
	Origin       string
	Instructions Instructions
}

func (h *Handler) widgets(r *http.Request) (string, any, error) {
	a, err := h.account()
	if err != nil {
		return "", nil, err
	}
	stored, err := a.Store.WidgetChecks(r.Context(), a.Scope)
	if err != nil {
		return "", nil, fmt.Errorf("widget checks: %w", err)
	}
	checks := reconcile.FileWidgets(a.Config, stored)
	for i := range checks {
		checks[i].URL = helpdesk.RedactURL(checks[i].URL)
	}
	origin := reconcile.PSAOrigin(a.Config.Helpdesk)
	return "Widgets", widgetsData{Checks: checks, Origin: origin, Instructions: instructionsFor(a.Config.Helpdesk.Provider, origin)}, nil
}

func (h *Handler) checkWidgets(r *http.Request) (string, string, error) {
	back := h.o.Base + "/widgets"
	a, err := h.account()
	if err != nil {
		return back, "", err
	}
	up := 0
	for _, w := range a.Config.Widgets {
		c := a.Reconciler.CheckWidget(r.Context(), w)
		if err := a.Store.RecordWidgetCheck(r.Context(), a.Scope, c); err != nil {
			return back, "", fmt.Errorf("record widget check: %w", err)
		}
		if c.Up {
			up++
		}
	}
	return back, fmt.Sprintf("Checked %d widgets: %d up.", len(a.Config.Widgets), up), nil
}

func (h *Handler) callbacks(r *http.Request) (string, any, error) {
	a, err := h.account()
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.o.PSATimeout)
	defer cancel()
	rep, err := callback.Status(ctx, a.Store, a.Scope, a.Provider, a.WebhookSpec())
	if err != nil {
		return "", nil, err
	}
	rep.Judge(staleAfter(a))
	return "Callbacks", rep, nil
}
