package reconcile_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/horizon/reconciler/internal/reconcile"
	"github.com/horizon/reconciler/internal/store"
)

// checkRefused applies a plan with errors and checks that nothing reached
// the PSA or the store: no webhook registered, no user bound, no sync run,
// and the result names the errors.
func checkRefused(t *testing.T, ctx context.Context, e *env, plan *reconcile.Plan) {
	t.Helper()
	if !plan.HasChanges() {
		t.Fatal("the plan has no changes: the refusal would prove nothing")
	}
	res := e.rec.Apply(ctx, plan)
	if len(res.Applied) != 0 || len(res.Failed) != 0 || len(res.Refused) == 0 {
		t.Fatalf("apply of a plan with errors: %d applied, %d failed, %d refused; want only refused",
			len(res.Applied), len(res.Failed), len(res.Refused))
	}
	if err := res.Err(); !errors.Is(err, reconcile.ErrPlanHasErrors) || !strings.Contains(err.Error(), "nobody@msp.example") {
		t.Errorf("Err() = %v, want ErrPlanHasErrors naming the bad mapping", err)
	}
	hooks, err := e.rec.Provider.Webhooks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hooks {
		if h.Managed {
			t.Errorf("webhook %s registered by a refused apply", h.Key)
		}
	}
	if ms, err := e.store.UserMappings(ctx, e.rec.Scope()); err != nil || len(ms) != 0 {
		t.Errorf("a refused apply bound %d users (err %v)", len(ms), err)
	}
	if runs, err := e.store.SyncRuns(ctx, e.rec.Scope(), store.SyncRunFilter{}); err != nil || len(runs) != 0 {
		t.Errorf("a refused apply ran %d syncs (err %v)", len(runs), err)
	}
	var out strings.Builder
	if err := reconcile.WriteResult(&out, res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "nothing was applied") || strings.Contains(out.String(), "Apply complete") {
		t.Errorf("result text does not say that nothing was applied:\n%s", out.String())
	}
}
