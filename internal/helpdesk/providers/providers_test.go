package providers

import (
	"context"
	"slices"
	"testing"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
)

// clientFor builds a provider's client without I/O; secrets come from the
// environment the test sets.
func clientFor(t *testing.T, p config.Provider) helpdesk.Provider {
	t.Helper()
	env := config.SecretRef{Env: "PROVIDERS_TEST_SECRET"}
	t.Setenv("PROVIDERS_TEST_SECRET", "x")
	h := config.Helpdesk{Provider: p}
	switch p {
	case config.ProviderConnectWise:
		h.ConnectWise = &config.ConnectWise{CompanyID: "c", PublicKey: env, PrivateKey: env, ClientID: "id", Site: "na"}
	case config.ProviderAutotask:
		h.Autotask = &config.Autotask{Username: "u@example.com", Secret: env, IntegrationCode: env}
	case config.ProviderZohoDesk:
		h.ZohoDesk = &config.ZohoDesk{ClientID: "id", ClientSecret: env, RefreshToken: env, DataCenter: "us", OrgID: "1"}
	case config.ProviderHaloPSA:
		h.HaloPSA = &config.HaloPSA{ClientID: "id", ClientSecret: env, BaseURL: "https://x.halopsa.com", Tenant: "x"}
	}
	c, err := New(context.Background(), h, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCapabilitiesAgree checks that what validate accepts (config's
// capability table) is what each client can do: an entity, picklist kind,
// creatable picklist or event the file may name must be one the client
// supports.
func TestCapabilitiesAgree(t *testing.T) {
	for _, p := range config.Providers() {
		t.Run(string(p), func(t *testing.T) {
			want, _ := config.CapabilitiesOf(p)
			got := clientFor(t, p).Capabilities()
			for _, e := range want.Entities {
				if !slices.Contains(got.Entities, helpdesk.Entity(e)) {
					t.Errorf("config allows entity %s; the client cannot stream it", e)
				}
			}
			for _, e := range want.Events {
				if !slices.Contains(got.Events, helpdesk.Event(e)) {
					t.Errorf("config allows event %s; the client cannot subscribe to it", e)
				}
			}
			for k, sup := range want.Picklists {
				if !slices.Contains(got.Picklists, helpdesk.PicklistKind(k)) {
					t.Errorf("config allows picklist %s; the client does not list it", k)
				}
				if sup.Creatable != slices.Contains(got.CreatablePicklists, helpdesk.PicklistKind(k)) {
					t.Errorf("picklist %s: config says creatable=%v, the client disagrees", k, sup.Creatable)
				}
			}
		})
	}
}
