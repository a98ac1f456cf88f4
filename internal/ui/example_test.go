package ui_test

import (
	"context"
	"net/http"
	"sync"

	"github.com/horizon/reconciler/internal/account"
	"github.com/horizon/reconciler/internal/ui"
)

// runningAccount is what a daemon knows of one account; it is the
// account's ui.Source.
type runningAccount struct{ acct *account.Account }

func (r runningAccount) Account() *account.Account { return r.acct }
func (r runningAccount) State() ui.State           { return ui.State{ConfigValid: true} }

// ExampleFleet serves the pages of several accounts: the accounts
// overview at /ui/, each account's pages at /ui/accounts/NAME/.
func ExampleFleet() {
	var (
		mu    sync.Mutex
		accts []ui.FleetAccount
	)
	fleet, err := ui.NewFleet(ui.FleetOptions{Token: "admin-token", Accounts: func() []ui.FleetAccount {
		mu.Lock()
		defer mu.Unlock()
		return append([]ui.FleetAccount(nil), accts...)
	}})
	if err != nil {
		panic(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go fleet.Run(ctx) // keeps the overview's verdicts current

	// Once per account (again when its config changes), the pages are
	// built by the fleet, so that they share its token and CSRF token.
	pages, err := fleet.Pages("acme-msp", ui.Options{Source: runningAccount{}})
	if err != nil {
		panic(err)
	}
	mu.Lock()
	accts = append(accts,
		ui.FleetAccount{Name: "acme-msp", Provider: "connectwise", Pages: pages},
		ui.FleetAccount{Name: "globex", Provider: "autotask", Problem: "globex.yaml:4:3: helpdesk.autotask.zoneURL: not a URL"})
	mu.Unlock()

	mux := http.NewServeMux()
	mux.Handle(fleet.Base()+"/", fleet)
	_ = mux
}
