package account_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/horizon/reconciler/internal/account"
	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	_ "github.com/horizon/reconciler/internal/helpdesk/sandbox/halopsa"
	_ "github.com/horizon/reconciler/internal/helpdesk/sandbox/zohodesk"
	"github.com/horizon/reconciler/internal/store"
	_ "github.com/horizon/reconciler/internal/store/sqlite"
)

// Two processes of one account (the daemon and a CLI command: two
// Accounts over one store) make one token grant between them.
func TestProcessesShareOneToken(t *testing.T) {
	for _, provider := range []string{helpdesk.ZohoDesk, helpdesk.HaloPSA} {
		t.Run(provider, func(t *testing.T) {
			ctx := context.Background()
			world := sandbox.Generate(sandbox.GenOptions{Tickets: 5, Seed: 3})
			em, err := sandbox.New(provider, sandbox.Options{World: world})
			if err != nil {
				t.Fatal(err)
			}
			psa := httptest.NewServer(em)
			t.Cleanup(func() { psa.Close(); em.Close() })
			for k, v := range em.Env() {
				t.Setenv(k, v)
			}
			yaml := "apiVersion: horizon/v1\naccount:\n  name: acme\n" + em.ConfigFragment(psa.URL) +
				"sync:\n  entities: [tickets]\n"
			cfg, diags := config.Parse("horizon.yaml", []byte(yaml), config.LoadOptions{})
			if cfg == nil {
				t.Fatalf("config: %v", diags)
			}
			st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "h.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			for i := range 2 {
				a, err := account.New(ctx, cfg, account.Options{Store: st, RatePerSecond: -1})
				if err != nil {
					t.Fatal(err)
				}
				if err := a.Provider.Ping(ctx); err != nil {
					t.Fatalf("process %d: %v", i+1, err)
				}
			}
			if got := em.(interface{ TokensIssued() int }).TokensIssued(); got != 1 {
				t.Fatalf("%d tokens granted to two processes, want 1", got)
			}
		})
	}
}
