package api

import (
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// seed gives the store what resolution reads: Jane (17) and Bob (18)
// mapped, a Service Desk board with statuses, a priority, ticket 4711.
func seed(t *testing.T, st store.Store) {
	t.Helper()
	ctx := t.Context()
	_, err := st.WriteBatch(ctx, scope, store.Batch{Entity: helpdesk.EntityMembers, Members: []helpdesk.Member{
		{ExternalID: "17", Name: "Jane Doe", Active: true, UpdatedAt: time.Unix(1, 0)},
		{ExternalID: "18", Name: "Bob Smith", Active: true, UpdatedAt: time.Unix(1, 0)}}})
	must(t, err)
	must(t, st.SetUserMapping(ctx, scope, store.UserMapping{HelpdeskUserID: "17", HorizonUser: "jane.doe@acme-msp.com"}))
	must(t, st.SetUserMapping(ctx, scope, store.UserMapping{HelpdeskUserID: "18", HorizonUser: "bob.smith@acme-msp.com"}))
	must(t, st.ReplacePicklists(ctx, scope, []helpdesk.Picklist{
		{Kind: helpdesk.PicklistStatus, Scope: "Service Desk", ScopeID: "1", Values: []helpdesk.PicklistValue{
			{ID: "10", Name: "New", Active: true}, {ID: "11", Name: "In Progress", Active: true}}},
		{Kind: helpdesk.PicklistPriority, Values: []helpdesk.PicklistValue{{ID: "3", Name: "Priority 3 - Normal", Active: true}}},
	}, time.Unix(1, 0)))
	_, err = st.WriteBatch(ctx, scope, store.Batch{Entity: helpdesk.EntityTickets, Tickets: []helpdesk.Ticket{
		{ExternalID: "4711", Summary: "Printer", Queue: helpdesk.Ref{ID: "1", Name: "Service Desk"}, UpdatedAt: time.Unix(1, 0)}}})
	must(t, err)
}
