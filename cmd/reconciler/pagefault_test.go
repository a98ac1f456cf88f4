package main

import (
	"context"
	"strings"
	"testing"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// TestSyncFailsOnANullPage: a ConnectWise answering null on the second
// page of tickets, every time, makes `sync` fail (exit 3) with the first
// page stored and the watermark not moved; once the PSA answers properly,
// a sync stores every ticket.
func TestSyncFailsOnANullPage(t *testing.T) {
	for _, body := range []string{"null"} {
		t.Run(body, func(t *testing.T) {
			file, env := sandboxFileWith(t, sandboxFlags{provider: "connectwise", listen: "127.0.0.1:0", tickets: 1500, seed: 1,
				pageFaults: []string{"path=/service/tickets,page=2,body=" + body}},
				"\nsync:\n  entities: [tickets]\nuserMappings:\n  unmappedPolicy: ignore\n")
			code, out, errOut := run(t, env, "", "sync", "-f", file, "--entity", "tickets")
			if code != ExitFailure {
				t.Fatalf("sync against a PSA answering %s on page 2: exit %d, want %d\n%s\n%s", body, code, ExitFailure, out, errOut)
			}
			st, err := store.Open(context.Background(), env["HORIZON_DATABASE_URL"])
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			n, err := st.Count(context.Background(), store.Scope{Account: "cmd-test", Provider: helpdesk.ConnectWise}, helpdesk.EntityTickets)
			if err != nil || n >= 1500 {
				t.Fatalf("stored %d tickets (err %v) from a listing that failed", n, err)
			}
			code, out, _ = run(t, env, "", "logs", "sync", "-f", file, "--failed")
			if code != 0 || !strings.Contains(out, "tickets") {
				t.Errorf("logs sync --failed does not show the failed run:\n%s", out)
			}
		})
	}
}
