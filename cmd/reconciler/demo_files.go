package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/horizon/reconciler/internal/store"
)

// defaultDemoDir is where the demo writes its files unless --dir says
// otherwise: one directory in the working directory, rewritten on every
// run, never a new temporary directory per run.
const defaultDemoDir = "horizon-demo"

// demoFiles are the demo's files: the configuration, the secrets it
// references and the log.
type demoFiles struct {
	dir, config, secrets, log string
}

func newDemoFiles(dir string) (*demoFiles, error) {
	d := &demoFiles{dir: dir, config: filepath.Join(dir, "horizon.yaml"),
		secrets: filepath.Join(dir, "secrets"), log: filepath.Join(dir, "demo.log")}
	if err := os.MkdirAll(d.secrets, 0o700); err != nil {
		return nil, fmt.Errorf("demo: create %s: %w", d.secrets, err)
	}
	return d, nil
}

// write writes horizon.yaml for the sandbox and its credentials as
// {file: ...} secrets beside it, so that any reconciler command, in any
// terminal, reaches the sandbox with this file alone.
func (d *demoFiles) write(provider string, sb *startedSandbox, base, widgets string) error {
	secrets := sb.Emulator.Env()
	key := make([]byte, 16)
	rand.Read(key)
	secrets["HORIZON_DEMO_CALLBACK_SECRET"] = hex.EncodeToString(key)
	fragment := sb.Emulator.ConfigFragment(sb.URL)
	callbackRef := ""
	for name, value := range secrets {
		file := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
		if err := os.WriteFile(filepath.Join(d.secrets, file), []byte(value+"\n"), 0o600); err != nil {
			return fmt.Errorf("demo: write secret: %w", err)
		}
		ref := "{file: secrets/" + file + "}"
		fragment = strings.ReplaceAll(fragment, "{env: "+name+"}", ref)
		if name == "HORIZON_DEMO_CALLBACK_SECRET" {
			callbackRef = ref
		}
	}
	if strings.Contains(fragment, "{env:") {
		return fmt.Errorf("demo: the %s sandbox references a secret it does not provide", provider)
	}
	var maps []string
	for _, mem := range sb.World.Members() {
		if mem.Active && !mem.APIUser && len(maps) < 3 {
			maps = append(maps, fmt.Sprintf("    - {helpdeskUser: %s, horizonUser: %s}", mem.Email,
				strings.Replace(mem.Email, "@msp.example", "@horizon.example", 1)))
		}
	}
	yaml := fmt.Sprintf(demoYAML, provider, fragment, strings.Join(maps, "\n"),
		base+"/callbacks/"+provider, callbackRef, "[ticket.created, ticket.updated]", widgets, widgets)
	if err := os.WriteFile(d.config, []byte(yaml), 0o600); err != nil {
		return fmt.Errorf("demo: write %s: %w", d.config, err)
	}
	return nil
}

const demoYAML = `# yaml-language-server: $schema=https://raw.githubusercontent.com/horizon/reconciler/main/schema/horizon.schema.json
# Written by reconciler demo for a sandbox %s; rewritten on every run.
apiVersion: horizon/v1
account:
  name: demo
  displayName: Demo MSP
%s
sync:
  entities: [tickets, contacts, companies, timeEntries]
  ingestWindow: 90d
  pollInterval: 1m
userMappings:
  unmappedPolicy: warn
  mappings:
%s
callbacks:
  url: %s
  secret: %s
  events: %s
  staleAfter: 15m
widgets:
  - {name: dashboard, url: %s/widgets/dashboard}
  - {name: ticket, url: %s/widgets/ticket}
writeback: {enabled: true}
# The daemon runs the smoke test after the apply that registers the webhooks.
smoke: {auto: true, callbackTimeout: 20s}
`

// demoHints prints the exact commands that work in another terminal while
// the demo runs.
func (m *Main) demoHints(files *demoFiles, ln net.Listener) {
	prog, file, env := programName(), displayPath(files.config), m.demoDatabaseEnv()
	m.say("Try in another terminal, from this directory, while the demo runs:")
	m.say("  curl -s http://%s/metrics | grep ^horizon_", ln.Addr())
	for _, cmd := range []string{"plan", "logs sync", "logs callbacks", "users", "picklists", "callbacks status"} {
		m.say("  %s%s %s %s", env, prog, cmd, file)
	}
	if env == "" && m.Settings.DatabaseURL != "" {
		m.say("  (with this terminal's HORIZON_DATABASE_URL)")
	}
	m.say("Staff in the sandbox PSA now edit tickets; each change reaches Horizon as a callback. Ctrl-C stops.\n")
}

// demoDatabaseEnv is the variable the hints need to find the demo's store:
// none for the default, the URL of an SQLite file, and never a PostgreSQL
// URL (it may hold a password).
func (m *Main) demoDatabaseEnv() string {
	url := m.Settings.DatabaseURL
	if url == "" || url == store.DefaultURL || !strings.HasPrefix(url, "sqlite:") {
		return ""
	}
	return "HORIZON_DATABASE_URL=" + shellQuote(url) + " "
}

// programName is how to run this program again: go run for a binary go run
// built, else the name it was started by.
func programName() string {
	if strings.Contains(os.Args[0], "go-build") {
		return "go run ./cmd/reconciler"
	}
	return os.Args[0]
}

// displayPath shortens a path under the working directory.
func displayPath(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if rel, err := filepath.Rel(wd, abs); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return abs
}

// demoSummary prints what the demo did: records synced per entity, the
// callbacks received, and where its files are.
func (m *Main) demoSummary(st store.Store, scope store.Scope, files *demoFiles, start time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m.say("\n== Summary (%s)", time.Since(start).Round(time.Second))
	runs, err := st.SyncRuns(ctx, scope, store.SyncRunFilter{Since: start, Limit: 100_000})
	if err != nil {
		m.say("Sync runs: unknown (%v)", err)
	} else {
		m.say("Synced into the store:")
		for _, line := range syncTotals(runs) {
			m.say("  %s", line)
		}
	}
	if cs, err := st.CallbackStats(ctx, scope, start); err != nil {
		m.say("Callbacks: unknown (%v)", err)
	} else {
		m.say("Callbacks received: %s", callbackTotals(cs.ByResult))
	}
	m.say("Files: %s, secrets in %s, log %s; database %s", displayPath(files.config), displayPath(files.secrets),
		displayPath(files.log), store.Redact(cmp.Or(m.Settings.DatabaseURL, store.DefaultURL)))
}

// syncTotals sums sync runs per entity, one line each, in a fixed order.
func syncTotals(runs []store.SyncRun) []string {
	type total struct{ runs, created, updated, failedRuns int }
	totals := map[string]*total{}
	for _, r := range runs {
		t := totals[string(r.Entity)]
		if t == nil {
			t = &total{}
			totals[string(r.Entity)] = t
		}
		t.runs++
		t.created += r.Created
		t.updated += r.Updated
		if r.Error != "" {
			t.failedRuns++
		}
	}
	if len(totals) == 0 {
		return []string{"nothing (no sync ran)"}
	}
	var lines []string
	for _, e := range syncEntities {
		if t := totals[e]; t != nil {
			line := fmt.Sprintf("%-12s %d new, %d updated in %d %s", e, t.created, t.updated, t.runs, plural(t.runs, "run", "runs"))
			if t.failedRuns > 0 {
				line += fmt.Sprintf(" (%d failed)", t.failedRuns)
			}
			lines = append(lines, line)
		}
	}
	return lines
}

// callbackTotals renders callback counts by result: "14 (12 processed, 2 duplicate)".
func callbackTotals(byResult map[string]int) string {
	n := 0
	var parts []string
	for _, result := range slices.Sorted(maps.Keys(byResult)) {
		n += byResult[result]
		parts = append(parts, fmt.Sprintf("%d %s", byResult[result], result))
	}
	if n == 0 {
		return "none"
	}
	return fmt.Sprintf("%d (%s)", n, strings.Join(parts, ", "))
}
