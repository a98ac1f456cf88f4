package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func loadExample(t *testing.T, name string) *Config {
	t.Helper()
	cfg, diags, err := Load(filepath.Join("..", "..", "examples", name), LoadOptions{LookupEnv: fakeEnv})
	if err != nil {
		t.Fatal(err)
	}
	if cfg == nil || HasErrors(diags) {
		t.Fatalf("%s is invalid:\n%s", name, renderDiagnostics(diags))
	}
	for _, d := range diags {
		if !strings.Contains(d.Message, "secret file") { // the examples name files under /run/secrets
			t.Errorf("unexpected warning: %s", d)
		}
	}
	return cfg
}

func TestExamplesAreValid(t *testing.T) {
	files, _ := filepath.Glob("../../examples/*.yaml")
	if len(files) < 4 {
		t.Fatalf("found %d examples; want one per provider", len(files))
	}
	seen := map[Provider]bool{}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg := loadExample(t, filepath.Base(f))
			seen[cfg.Helpdesk.Provider] = true
		})
	}
	for _, p := range Providers() {
		if !seen[p] {
			t.Errorf("no example for provider %s", p)
		}
	}
}

func TestExampleDecodes(t *testing.T) {
	cfg := loadExample(t, "horizon.yaml")
	cw := cfg.Helpdesk.ConnectWise
	if cw == nil || cfg.Helpdesk.Autotask != nil {
		t.Fatalf("helpdesk blocks: %+v", cfg.Helpdesk)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"account", cfg.Account, Account{Name: "acme-msp", DisplayName: "Acme Managed Services"}},
		{"provider", cfg.Helpdesk.Provider, ProviderConnectWise},
		{"companyId", cw.CompanyID, "acmemsp"},
		{"publicKey", cw.PublicKey.String(), "env:CW_PUBLIC_KEY"},
		{"privateKey", cw.PrivateKey.String(), "file:/run/secrets/cw-private-key"},
		{"site", cw.Site, "na"},
		{"entities", cfg.Sync.Entities, []Entity{EntityTickets, EntityContacts, EntityCompanies, EntityTimeEntries}},
		{"ingestWindow", cfg.Sync.IngestWindow.Std(), 30 * Day},
		{"mappings", len(cfg.UserMappings.Mappings), 4},
		{"first mapping", cfg.UserMappings.Mappings[0], UserMapping{HelpdeskUser: "bsmith", HorizonUser: "bob.smith@acme-msp.com"}},
		{"statuses per board", cfg.Picklists.Statuses.PerBoard(), true},
		{"statuses board", cfg.Picklists.Statuses[1], BoardValues{Board: "Projects", Values: []string{"New", "In Progress", "Closed"}}},
		{"picklist drift", cfg.Picklists.Drift, DriftWarn},
		{"callback events", len(cfg.Callbacks.Events), 6},
		{"prune", cfg.Callbacks.Prune, true},
		{"widget default timeout", cfg.Widgets[0].Timeout, DefaultWidgetTimeout},
		{"widget timeout", cfg.Widgets[1].Timeout.Std(), 15 * time.Second},
		{"file", cfg.File, filepath.Join("..", "..", "examples", "horizon.yaml")},
		{"api token", cfg.Writeback.APIToken.String(), "env:HORIZON_API_TOKEN"},
		{"writeback", withoutToken(*cfg.Writeback), Writeback{Enabled: true,
			UnmappedAuthor: UnmappedAuthorRefuse, MaxAttempts: 10, Order: OrderPerTicket,
			Defaults: TicketDefaults{Queue: "Service Desk", Type: "Incident", Priority: "Priority 3 - Normal", Status: "New"}}},
		{"writes enabled", cfg.WritesEnabled(), true},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func withoutToken(w Writeback) Writeback {
	w.APIToken = nil
	return w
}

const minimal = `apiVersion: horizon/v1
account: {name: acme}
helpdesk:
  provider: halopsa
  halopsa:
    clientId: abc
    clientSecret: {env: HALO_SECRET}
    baseURL: https://acme.halopsa.com
`

func TestDefaults(t *testing.T) {
	cfg, diags := Parse("minimal.yaml", []byte(minimal), LoadOptions{LookupEnv: fakeEnv})
	if cfg == nil {
		t.Fatalf("invalid:\n%s", renderDiagnostics(diags))
	}
	want := Config{
		APIVersion: APIVersion,
		Account:    Account{Name: "acme"},
		Helpdesk: Helpdesk{Provider: ProviderHaloPSA, HaloPSA: &HaloPSA{
			ClientID: "abc", ClientSecret: SecretRef{Env: "HALO_SECRET"}, BaseURL: "https://acme.halopsa.com",
		}},
		Sync: Sync{
			Entities:                DefaultEntities(),
			IngestWindow:            DefaultIngestWindow,
			PollInterval:            DefaultPollInterval,
			PicklistRefreshInterval: DefaultPicklistRefreshInterval,
			BudgetReserve:           new(int),
		},
		UserMappings: UserMappings{Drift: DriftEnabled, UnmappedPolicy: UnmappedWarn},
		Picklists:    Picklists{Drift: DriftEnabled},
		Smoke:        Smoke{CallbackTimeout: DefaultSmokeCallbackTimeout},
		File:         "minimal.yaml",
		namePos:      position{2, 17}, // account: {name: acme}
	}
	want.Helpdesk.HaloPSA.ClientSecret.dir = "."
	*want.Sync.BudgetReserve = DefaultBudgetReserve
	if !reflect.DeepEqual(*cfg, want) {
		t.Errorf("got  %+v\nwant %+v", *cfg, want)
	}
}

func TestCallbackDefaults(t *testing.T) {
	cfg, diags := Parse("cb.yaml", []byte(minimal+"callbacks:\n  url: https://h.example.com/cb\n  secret: {env: S}\n  events: [ticket.updated, ticket.created]\n"),
		LoadOptions{LookupEnv: fakeEnv})
	if cfg == nil {
		t.Fatalf("invalid:\n%s", renderDiagnostics(diags))
	}
	cb := cfg.Callbacks
	if !cb.Prune || cb.Drift != DriftEnabled || cb.StaleAfter != DefaultStaleAfter {
		t.Errorf("callback defaults: %+v", cb)
	}
	if !reflect.DeepEqual(cb.Events, []Event{"ticket.created", "ticket.updated"}) {
		t.Errorf("events not in canonical order: %v", cb.Events)
	}
	cfg, _ = Parse("cb.yaml", []byte(minimal+"callbacks:\n  url: https://h.example.com/cb\n  secret: {env: S}\n  events: [ticket.created]\n  prune: false\n"),
		LoadOptions{LookupEnv: fakeEnv})
	if cfg.Callbacks.Prune {
		t.Error("prune: false was ignored")
	}
}

func TestHash(t *testing.T) {
	parse := func(text string) *Config {
		t.Helper()
		cfg, diags := Parse("h.yaml", []byte(text), LoadOptions{LookupEnv: fakeEnv})
		if cfg == nil {
			t.Fatalf("invalid:\n%s", renderDiagnostics(diags))
		}
		return cfg
	}
	base := parse(minimal)
	same := []string{
		"# a comment\n" + minimal,
		minimal + "sync:\n  pollInterval: 5m\n  ingestWindow: 720h\n", // defaults, and 30d written in hours
		minimal + "sync:\n  entities: [companies, tickets, contacts]\n",
		minimal + "suspend: false\n",
	}
	for _, text := range same {
		if got := parse(text).Hash(); got != base.Hash() {
			t.Errorf("hash changed for an equal config:\n%s", text)
		}
	}
	different := []string{
		minimal + "suspend: true\n",
		minimal + "sync:\n  pollInterval: 6m\n",
		strings.Replace(minimal, "HALO_SECRET", "HALO_SECRET_2", 1),
	}
	for _, text := range different {
		if got := parse(text).Hash(); got == base.Hash() {
			t.Errorf("hash did not change:\n%s", text)
		}
	}
	if h := base.Hash(); len(h) != 12 {
		t.Errorf("hash %q: want 12 hex digits", h)
	}
}

func TestWarningsKeepConfig(t *testing.T) {
	cfg, diags := Parse("w.yaml", []byte(strings.Replace(minimal, "HALO_SECRET", "MISSING_SECRET", 1)), LoadOptions{LookupEnv: fakeEnv})
	if cfg == nil || len(diags) != 1 || diags[0].Severity != SeverityWarning {
		t.Fatalf("want a config and one warning; got %v, %v", cfg, diags)
	}
	cfg, diags = Parse("w.yaml", []byte(strings.Replace(minimal, "HALO_SECRET", "MISSING_SECRET", 1)), LoadOptions{Strict: true, LookupEnv: fakeEnv})
	if cfg != nil || len(diags) != 1 || diags[0].Severity != SeverityError {
		t.Fatalf("strict: want no config and one error; got %v, %v", cfg, diags)
	}
}

// TestUnsupportedEntity swaps in a capability row without time entries:
// today every provider syncs every entity, but the check must still work
// when the table changes.
func TestUnsupportedEntity(t *testing.T) {
	saved := providers[ProviderHaloPSA]
	t.Cleanup(func() { providers[ProviderHaloPSA] = saved })
	row := saved
	row.Entities = []Entity{EntityTickets, EntityContacts, EntityCompanies}
	providers[ProviderHaloPSA] = row

	_, diags := Parse("e.yaml", []byte(minimal+"sync:\n  entities: [tickets, timeEntries]\n"), LoadOptions{LookupEnv: fakeEnv})
	want := "e.yaml:10:23: error: HaloPSA cannot sync timeEntries; it syncs tickets, contacts, companies (at /sync/entities/1)\n"
	if got := renderDiagnostics(diags); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestIOErrors(t *testing.T) {
	if _, _, err := Load(filepath.Join(t.TempDir(), "absent.yaml"), LoadOptions{}); err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("absent file: got %v, want a not-exist error", err)
	}
	if _, _, err := Load(t.TempDir(), LoadOptions{}); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: got %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok || u.Unwrap() == nil {
			return err
		}
		err = u.Unwrap()
	}
}

func TestRelativeSecretFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "secrets"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "secrets", "halo"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "horizon.yaml")
	text := strings.Replace(minimal, "{env: HALO_SECRET}", "{file: secrets/halo}", 1)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags, err := Load(path, LoadOptions{Strict: true})
	if err != nil || cfg == nil {
		t.Fatalf("Load: %v\n%s", err, renderDiagnostics(diags))
	}
	v, err := cfg.Helpdesk.HaloPSA.ClientSecret.Resolve(t.Context())
	if err != nil || v.Reveal() != "s3cret" {
		t.Errorf("Resolve: %v (value matches: %v)", err, v.Reveal() == "s3cret")
	}
	refs := cfg.SecretRefs()
	if len(refs) != 1 || refs[0].Path != "helpdesk.halopsa.clientSecret" || refs[0].Ref.Path() != filepath.Join(dir, "secrets", "halo") {
		t.Errorf("SecretRefs: %+v", refs)
	}
}
