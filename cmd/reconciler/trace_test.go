package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/providers"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	"github.com/horizon/reconciler/internal/store"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite the trace golden files")

// traceNormal makes trace output stable: times and ports vary per run.
var (
	reStamp = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z`)
	rePort  = regexp.MustCompile(`127\.0\.0\.1:\d+`)
	reIDs   = regexp.MustCompile(`"id": \d+`)
)

func traceNormal(s string) string {
	s = reStamp.ReplaceAllString(s, "<time>")
	s = rePort.ReplaceAllString(s, "127.0.0.1:<port>")
	return reIDs.ReplaceAllString(s, `"id": <n>`)
}

func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "trace", name)
	if *updateGolden {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run Trace ./cmd/reconciler -update-golden)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func openTestStore(t *testing.T, env map[string]string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), env["HORIZON_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestTraceTicket(t *testing.T) {
	file, env, sb := sandboxAccount(t, planTail)
	if code, out, errOut := run(t, env, "", "apply", "-f", file, "-q"); code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
	}
	scope := store.Scope{Account: "cmd-test", Provider: "connectwise"}
	st := openTestStore(t, env)
	var stored helpdesk.Ticket
	for tk, err := range st.Tickets(context.Background(), scope) {
		if err != nil {
			t.Fatal(err)
		}
		stored = tk
		break
	}
	logCallback(t, env, time.Now(), stored.ExternalID)
	// The number agents see, as Autotask and Zoho Desk keep one.
	numbered := stored
	numbered.Number, numbered.Summary = "T20251205.1085", stored.Summary+" "
	if _, err := st.WriteBatch(context.Background(), scope, store.Batch{Entity: helpdesk.EntityTickets, Tickets: []helpdesk.Ticket{numbered}}); err != nil {
		t.Fatal(err)
	}
	// Its notes: one by a member mapped to a Horizon user, one by a member
	// who is not.
	if err := st.SetUserMapping(context.Background(), scope, store.UserMapping{HelpdeskUserID: "1054",
		HorizonUser: "jane.doe@acme-msp.com"}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	if _, err := st.UpsertNotes(context.Background(), scope, []helpdesk.Note{
		{ExternalID: "501", TicketID: stored.ExternalID, Text: "Called the client\nThey will send the model", AuthorID: "1054", CreatedAt: at},
		{ExternalID: "502", TicketID: stored.ExternalID, Text: "Toner ordered", Internal: true, AuthorID: "1999", CreatedAt: at.Add(time.Hour)},
	}); err != nil {
		t.Fatal(err)
	}
	// A ticket created in the PSA whose webhook never reaches Horizon.
	w := sb.World
	fresh := w.CreateTicket(sandbox.Ticket{Summary: "Printer on fire", QueueID: w.Queues()[0].ID,
		StatusID: w.Queues()[0].Statuses[0].ID, PriorityID: w.Priorities()[0].ID, CompanyID: w.Companies()[0].ID,
		ContactID: w.Contacts()[0].ID}, sandbox.Actor{})
	freshID := strconv.FormatInt(fresh.ID, 10)

	steps := []struct {
		name   string
		args   []string
		code   int
		golden string
		says   string
	}{
		{"current, by number", []string{"T20251205.1085"}, ExitOK, "current.txt", "Verdict: current in Horizon"},
		{"current, json", []string{stored.ExternalID, "-o", "json"}, ExitOK, "current.json", `"verdict": "current"`},
		{"missing", []string{freshID}, ExitInvalid, "missing.txt", "Verdict: in the PSA but not in Horizon: no callback since "},
		{"missing, json", []string{freshID, "-o", "json"}, ExitInvalid, "missing.json", `"verdict": "missing"`},
		{"fixed", []string{freshID, "--fix"}, ExitOK, "fixed.txt", "Fix: synced from the PSA: created 1"},
		{"nowhere", []string{"999999"}, ExitInvalid, "", "no ticket 999999 exists, neither in Horizon nor in the PSA"},
	}
	for _, s := range steps {
		code, out, errOut := run(t, env, "", append([]string{"trace", "ticket", "-f", file}, s.args...)...)
		if code != s.code {
			t.Fatalf("%s: exit %d, want %d\n%s\n%s", s.name, code, s.code, out, errOut)
		}
		if !strings.Contains(out+errOut, s.says) {
			t.Errorf("%s: output lacks %q:\n%s\n%s", s.name, s.says, out, errOut)
		}
		if s.golden != "" {
			goldenFile(t, s.golden, traceNormal(out))
		}
	}
}

func TestSyncUnknownTicketExitsOne(t *testing.T) {
	file, env := sandboxFile(t, planTail)
	code, out, errOut := run(t, env, "", "sync", "-f", file, "--ticket", "999999", "-q")
	if code != ExitInvalid || !strings.Contains(errOut, "no ticket 999999 exists, neither in Horizon nor in the PSA") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestTraceTicketByPSANumber: the number agents see finds a ticket the
// store does not hold yet, in the PSA (Autotask's T20251205.1085, Zoho
// Desk's ticketNumber), and --fix brings it in.
func TestTraceTicketByPSANumber(t *testing.T) {
	for _, p := range []string{"autotask", "zohodesk"} {
		t.Run(p, func(t *testing.T) {
			file, env, _ := sandboxAccountOf(t, p, "\nsync:\n  entities: [tickets]\n")
			cfg, diags, err := config.Load(file, config.LoadOptions{})
			if cfg == nil {
				t.Fatal(err, diags)
			}
			prov, err := providers.New(context.Background(), cfg.Helpdesk, providers.Options{RatePerSecond: -1})
			if err != nil {
				t.Fatal(err)
			}
			var tk helpdesk.Ticket
			for page, err := range prov.Tickets(context.Background(), helpdesk.Query{}) {
				if err != nil || len(page) == 0 {
					t.Fatal("no ticket in the sandbox", err)
				}
				tk = page[0]
				break
			}
			if tk.Number == "" || tk.Number == tk.ExternalID {
				t.Fatalf("%s ticket %s has no separate number (%q)", p, tk.ExternalID, tk.Number)
			}
			code, out, errOut := run(t, env, "", "trace", "ticket", tk.Number, "-f", file)
			if code != ExitInvalid || !strings.Contains(out, "Verdict: in the PSA but not in Horizon") || !strings.Contains(out, tk.ExternalID) {
				t.Fatalf("by number: exit %d\n%s\n%s", code, out, errOut)
			}
			code, out, errOut = run(t, env, "", "trace", "ticket", tk.Number, "-f", file, "--fix")
			if code != ExitOK || !strings.Contains(out, "Verdict: current in Horizon") {
				t.Fatalf("--fix: exit %d\n%s\n%s", code, out, errOut)
			}
			if code, out, errOut := run(t, env, "", "trace", "ticket", "T19990101.0001", "-f", file); code != ExitInvalid ||
				!strings.Contains(errOut, "no ticket T19990101.0001 exists") {
				t.Fatalf("unknown number: exit %d\n%s\n%s", code, out, errOut)
			}
		})
	}
}
