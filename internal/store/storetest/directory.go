package storetest

import (
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

var directoryTests = map[string]func(*testing.T, store.Store){
	"Picklists":             testPicklists,
	"UserMappings":          testUserMappings,
	"UnmappedActiveMembers": testUnmapped,
	"WidgetChecks":          testWidgetChecks,
}

func testPicklists(t *testing.T, s store.Store) {
	p, when, err := s.Picklists(ctx(t), Scope)
	noErr(t, "Picklists", err)
	if len(p) != 0 || !when.IsZero() {
		t.Fatalf("empty store: %d picklists refreshed %v", len(p), when)
	}
	lists := []helpdesk.Picklist{
		{Kind: helpdesk.PicklistStatus, Scope: "Service Desk", ScopeID: "1", Values: []helpdesk.PicklistValue{
			{ID: "1", Name: "New", Active: true, Default: true, Sort: 1},
			{ID: "9", Name: "Closed", Active: true, Closed: true, Sort: 9}}},
		{Kind: helpdesk.PicklistPriority, Values: []helpdesk.PicklistValue{{ID: "2", Name: "High", Active: true}}},
		{Kind: helpdesk.PicklistQueue, Values: []helpdesk.PicklistValue{}},
	}
	noErr(t, "ReplacePicklists", s.ReplacePicklists(ctx(t), Scope, lists, at(0)))
	p, when, err = s.Picklists(ctx(t), Scope)
	noErr(t, "Picklists", err)
	equal(t, "picklists", p, lists)
	equal(t, "refreshed", when, at(0))
	noErr(t, "ReplacePicklists", s.ReplacePicklists(ctx(t), Scope, lists[1:2], at(time.Hour)))
	p, when, err = s.Picklists(ctx(t), Scope)
	noErr(t, "Picklists", err)
	equal(t, "replaced picklists", p, lists[1:2])
	equal(t, "refreshed", when, at(time.Hour))
	p, _, err = s.Picklists(ctx(t), other)
	noErr(t, "Picklists", err)
	equal(t, "other scope", len(p), 0)
}

func testUserMappings(t *testing.T, s store.Store) {
	m := []store.UserMapping{
		{HelpdeskUserID: "m2", HorizonUser: "bob@example.com", UpdatedAt: at(0)},
		{HelpdeskUserID: "m1", HorizonUser: "ann@example.com", UpdatedAt: at(time.Second)},
	}
	for _, x := range m {
		noErr(t, "SetUserMapping", s.SetUserMapping(ctx(t), Scope, x))
	}
	got, err := s.UserMappings(ctx(t), Scope)
	noErr(t, "UserMappings", err)
	equal(t, "mappings", got, []store.UserMapping{m[1], m[0]})
	m[0].HorizonUser, m[0].UpdatedAt = "robert@example.com", at(time.Minute)
	noErr(t, "SetUserMapping", s.SetUserMapping(ctx(t), Scope, m[0]))
	noErr(t, "DeleteUserMapping", s.DeleteUserMapping(ctx(t), Scope, "m1"))
	noErr(t, "DeleteUserMapping missing", s.DeleteUserMapping(ctx(t), Scope, "m1"))
	got, err = s.UserMappings(ctx(t), Scope)
	noErr(t, "UserMappings", err)
	equal(t, "mappings", got, []store.UserMapping{m[0]})
	got, err = s.UserMappings(ctx(t), other)
	noErr(t, "UserMappings", err)
	equal(t, "other scope", len(got), 0)
}

func testUnmapped(t *testing.T, s store.Store) {
	mk := func(id string, active bool) helpdesk.Member {
		return helpdesk.Member{ExternalID: id, Name: id, Active: active, UpdatedAt: at(0)}
	}
	mustWrite(t, s, Scope, store.Batch{Entity: helpdesk.EntityMembers, Members: []helpdesk.Member{
		mk("mapped", true), mk("unmapped-b", true), mk("inactive", false), mk("unmapped-a", true)}})
	mustWrite(t, s, other, store.Batch{Entity: helpdesk.EntityMembers, Members: []helpdesk.Member{mk("mapped", true)}})
	noErr(t, "SetUserMapping", s.SetUserMapping(ctx(t), Scope, store.UserMapping{HelpdeskUserID: "mapped", HorizonUser: "x@example.com"}))
	got, err := s.UnmappedActiveMembers(ctx(t), Scope)
	noErr(t, "UnmappedActiveMembers", err)
	equal(t, "unmapped", got, []helpdesk.Member{mk("unmapped-a", true), mk("unmapped-b", true)})
	got, err = s.UnmappedActiveMembers(ctx(t), other)
	noErr(t, "UnmappedActiveMembers", err)
	equal(t, "other scope: its member is not mapped there", got, []helpdesk.Member{mk("mapped", true)})
}

func testWidgetChecks(t *testing.T, s store.Store) {
	rec := func(c store.WidgetCheck) {
		t.Helper()
		noErr(t, "RecordWidgetCheck", s.RecordWidgetCheck(ctx(t), Scope, c))
	}
	rec(store.WidgetCheck{Name: "tickets", URL: "https://w/1", Up: true, CheckedAt: at(0)})
	rec(store.WidgetCheck{Name: "tickets", URL: "https://w/1", Up: false, CheckedAt: at(time.Minute), LastError: "HTTP 502"})
	rec(store.WidgetCheck{Name: "tickets", URL: "https://w/1", Up: true, CheckedAt: at(30 * time.Second)}) // older: ignored
	rec(store.WidgetCheck{Name: "billing", URL: "https://w/2", Up: true, CheckedAt: at(0)})
	got, err := s.WidgetChecks(ctx(t), Scope)
	noErr(t, "WidgetChecks", err)
	equal(t, "checks", got, []store.WidgetCheck{
		{Name: "billing", URL: "https://w/2", Up: true, CheckedAt: at(0), LastSuccess: at(0)},
		{Name: "tickets", URL: "https://w/1", Up: false, CheckedAt: at(time.Minute), LastSuccess: at(0),
			LastError: "HTTP 502", LastErrorAt: at(time.Minute)},
	})
	rec(store.WidgetCheck{Name: "tickets", URL: "https://w/1b", Up: true, CheckedAt: at(2 * time.Minute)})
	got, err = s.WidgetChecks(ctx(t), Scope)
	noErr(t, "WidgetChecks", err)
	equal(t, "recovered", got[1], store.WidgetCheck{Name: "tickets", URL: "https://w/1b", Up: true,
		CheckedAt: at(2 * time.Minute), LastSuccess: at(2 * time.Minute), LastError: "HTTP 502", LastErrorAt: at(time.Minute)})
}
