package reconcile_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// TestAPIUserAndIgnoredAreNotUnmapped: with unmappedPolicy error and
// every real technician mapped, the plan has no error: Horizon's own API
// user is found through the provider and left out, and so are the service
// accounts userMappings.ignore names. For every provider.
func TestAPIUserAndIgnoredAreNotUnmapped(t *testing.T) {
	for _, provider := range helpdesk.Providers {
		t.Run(provider, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, provider, "# callbacks: %s\n")
			var maps []string
			var service string
			for _, m := range e.world.Members() {
				switch {
				case !m.Active || m.APIUser:
				case service == "":
					service = m.Email // stands for another tool's service account
				default:
					maps = append(maps, fmt.Sprintf("    - {helpdeskUser: %s, horizonUser: h%d@msp.example}", m.Email, m.ID))
				}
			}
			e.yaml += "userMappings:\n  unmappedPolicy: error\n  mappings:\n" + strings.Join(maps, "\n") +
				"\n  ignore: [" + service + "]\n"
			e.rec = e.reconciler(t)
			plan, err := e.rec.Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if plan.HasErrors() || plan.Unmapped != 0 {
				t.Fatalf("plan has errors or %d unmapped users:\n%s", plan.Unmapped, planText(t, plan, "text"))
			}

			// Without the ignore entry, that one account is the only unmapped user.
			e.yaml = strings.Replace(e.yaml, "  ignore: ["+service+"]\n", "", 1)
			e.rec = e.reconciler(t)
			plan, err = e.rec.Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			text := planText(t, plan, "text")
			if plan.Unmapped != 1 || !plan.HasErrors() || strings.Contains(text, e.world.APIUser().Identifier+" (id") {
				t.Fatalf("want exactly the service account unmapped, not the API user:\n%s", text)
			}
		})
	}
}

func TestIgnoredUserThatDoesNotExistIsAWarning(t *testing.T) {
	e := newEnv(t, helpdesk.ConnectWise, "# callbacks: %s\nuserMappings:\n  unmappedPolicy: ignore\n  ignore: [no-such-bot]\n")
	plan, err := e.rec.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if text := planText(t, plan, "text"); !strings.Contains(text, "ignored helpdesk user no-such-bot: no ConnectWise Manage user has this ID, login or email; fix userMappings.ignore [warning]") {
		t.Errorf("plan does not warn of the unknown ignore entry:\n%s", text)
	}
}
