package reconcile

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	_ "github.com/horizon/reconciler/internal/store/sqlite"
)

// picklistsOnly is a provider that answers Picklists and Capabilities.
type picklistsOnly struct {
	helpdesk.Provider
	name  string
	lists []helpdesk.Picklist
}

func (p picklistsOnly) Name() string { return p.name }
func (p picklistsOnly) Capabilities() helpdesk.Capabilities {
	return helpdesk.Capabilities{Picklists: []helpdesk.PicklistKind{helpdesk.PicklistStatus, helpdesk.PicklistPriority}}
}
func (p picklistsOnly) Picklists(context.Context) ([]helpdesk.Picklist, error) { return p.lists, nil }

// An empty status list is drift with its cause, and does not replace the
// picklist database; a status list with values is a quiet refresh.
func TestEmptyStatusListIsDrift(t *testing.T) {
	ctx := context.Background()
	prio := helpdesk.Picklist{Kind: helpdesk.PicklistPriority, Values: []helpdesk.PicklistValue{{ID: "1", Name: "High", Active: true}}}
	good := []helpdesk.Picklist{{Kind: helpdesk.PicklistStatus, Values: []helpdesk.PicklistValue{{ID: "1", Name: "New", Active: true}}}, prio}
	cases := []struct {
		name  string
		lists []helpdesk.Picklist
		drift bool
	}{
		{"no status values", []helpdesk.Picklist{{Kind: helpdesk.PicklistStatus, Values: []helpdesk.PicklistValue{}}, prio}, true},
		{"no status list", []helpdesk.Picklist{prio}, true},
		{"statuses", good, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "h.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			r := &Reconciler{Provider: picklistsOnly{name: helpdesk.HaloPSA, lists: tc.lists}, Store: st,
				Config: &config.Config{Account: config.Account{Name: "a"}, Helpdesk: config.Helpdesk{Provider: config.ProviderHaloPSA},
					Picklists: config.Picklists{Statuses: config.ScopedValues{{Values: []string{"New"}}}}}}
			if err := st.ReplacePicklists(ctx, r.Scope(), good, time.Now()); err != nil {
				t.Fatal(err)
			}
			p := &Plan{}
			if err := r.planPicklists(ctx, p); err != nil {
				t.Fatal(err)
			}
			if !tc.drift {
				if len(p.Drift) != 0 {
					t.Fatalf("drift %+v", p.Drift)
				}
				return
			}
			if len(p.Drift) != 1 || p.Drift[0].Severity != SeverityError ||
				!strings.Contains(p.Drift[0].Reason, "returned no ticket statuses: check the API application's permissions") {
				t.Fatalf("drift %+v, want one error naming the cause", p.Drift)
			}
			for _, c := range p.Changes {
				if c.Kind == KindPicklists && c.Action == ActionRefresh {
					t.Fatalf("plans to replace the picklist database with no statuses: %+v", c)
				}
			}
		})
	}
}
