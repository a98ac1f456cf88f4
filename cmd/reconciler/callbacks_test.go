package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/store"
)

// logCallback writes one verified, processed callback into the file's
// store, received at.
func logCallback(t *testing.T, env map[string]string, at time.Time, ids ...string) {
	t.Helper()
	st, err := store.Open(context.Background(), env["HORIZON_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, _, err = st.InsertCallbacks(context.Background(), store.Scope{Account: "cmd-test", Provider: "connectwise"},
		[]store.CallbackRecord{{ReceivedAt: at, Provider: "connectwise", Event: "ticket.updated", ExternalIDs: ids,
			Verified: true, Result: store.CallbackProcessed, Payload: []byte(`{"ID":1}`)}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCallbacksStatusVerdict(t *testing.T) {
	file, env, sb := sandboxAccount(t, planTail)
	if code, out, errOut := run(t, env, "", "apply", "-f", file, "-q"); code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
	}
	steps := []struct {
		name   string
		before func()
		want   int
		says   []string
		never  []string
	}{
		{"no callback yet is stale", nil, ExitInvalid,
			[]string{"Verdict:        stale: no verified callback has ever arrived"}, nil},
		{"a fresh callback is ok", func() { logCallback(t, env, time.Now().Add(-time.Minute), "1") }, ExitOK,
			[]string{"Verdict:        ok: last verified callback", "(staleAfter 15m0s)", "  ticket  ok "}, nil},
		{"a PSA that cannot be read is unknown, never missing", sb.stop, ExitInvalid,
			[]string{"Verdict:        unknown: callbacks arrive, but the PSA's webhooks cannot be read", "ticket  unknown  ?"},
			[]string{"missing"}},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		code, out, errOut := run(t, env, "", "callbacks", "status", "-f", file)
		if code != s.want {
			t.Fatalf("%s: exit %d, want %d\n%s\n%s", s.name, code, s.want, out, errOut)
		}
		for _, want := range s.says {
			if !strings.Contains(out, want) {
				t.Errorf("%s: output lacks %q:\n%s", s.name, want, out)
			}
		}
		for _, bad := range s.never {
			if strings.Contains(out, bad) {
				t.Errorf("%s: output says %q:\n%s", s.name, bad, out)
			}
		}
		if strings.Contains(out+errOut, "cmd-test-callback-secret") {
			t.Fatalf("%s: output shows the callback secret", s.name)
		}
	}
}
