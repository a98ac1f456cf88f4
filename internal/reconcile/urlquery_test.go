package reconcile_test

import (
	"context"
	"strings"
	"testing"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// TestCallbackURLQueryKeepsPlanEmpty checks that a callbacks.url with
// query parameters in no particular order, round-tripped through each PSA,
// still matches the file after apply (no perpetual "change").
func TestCallbackURLQueryKeepsPlanEmpty(t *testing.T) {
	for _, p := range []string{"zohodesk", "halopsa", "connectwise", "autotask"} {
		w := sandbox.Generate(sandbox.GenOptions{Tickets: 40, Seed: 7})
		body := strings.Replace(bodyFor(p, w), "url: %s", "url: %s?zz=1&aa=2", 1)
		e := newEnv(t, p, body)
		ctx := context.Background()
		plan, err := e.rec.Plan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.rec.Apply(ctx, plan).Err(); err != nil {
			t.Fatal(err)
		}
		again, _ := e.rec.Plan(ctx)
		if again.HasChanges() {
			t.Errorf("%s: %s", p, planText(t, again, "text"))
		}
	}
}
