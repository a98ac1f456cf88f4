package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEnumFlagsRejectUnknownValues: a filter or format outside its values
// is a usage error listing the valid ones, never an empty answer.
func TestEnumFlagsRejectUnknownValues(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"logs", "sync", "--entity", "ticket"}, `--entity "ticket": want one of tickets, contacts, companies, timeEntries, notes, members, picklists; did you mean "tickets"?`},
		{[]string{"logs", "sync", "--trigger", "bogus"}, "--trigger \"bogus\": want one of backfill, poll, callback, manual, reconcile"},
		{[]string{"logs", "sync", "--trigger", "Poll"}, `did you mean "poll"?`},
		{[]string{"logs", "sync", "-o", "xml"}, "want text or json"},
		{[]string{"logs", "sync", "--since", "yesterday"}, `--since "yesterday"`},
		{[]string{"logs", "callbacks", "-o", "yaml"}, "want text or json"},
		{[]string{"logs", "callbacks", "--since", "2 hours"}, `--since "2 hours"`},
		{[]string{"logs", "callbacks", "--result", "ok"}, "--result \"ok\": want one of accepted, processed, rejected, duplicate, failed"},
		{[]string{"sync", "--entity", "invoices"}, "want one of tickets, contacts"},
		{[]string{"plan", "-o", "html"}, "want text, json or markdown"},
		{[]string{"validate", "-o", "xml", "x.yaml"}, "--output"},
		{[]string{"users", "-o", "csv"}, "want text or json"},
		{[]string{"picklists", "-o", "csv"}, "want text or json"},
		{[]string{"widgets", "-o", "csv"}, "want text or json"},
		{[]string{"callbacks", "status", "-o", "csv"}, "want text or json"},
		{[]string{"demo", "--provider", "servicenow"}, "want one of autotask, connectwise, halopsa, zohodesk"},
		{[]string{"sandbox", "--provider", "servicenow"}, "servicenow"},
		{[]string{"--log-level", "loud", "schema"}, "--log-level"},
		{[]string{"--log-format", "xml", "schema"}, "--log-format"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			// The file does not exist: the value is checked before it is read.
			code, stdout, stderr := run(t, nil, "", append(tt.args, "-f", "no-such-file.yaml")...)
			if tt.args[0] == "validate" || tt.args[0] == "demo" || tt.args[0] == "sandbox" || tt.args[0][0] == '-' {
				code, stdout, stderr = run(t, nil, "", tt.args...)
			}
			if code != ExitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", code, ExitUsage, tt.want, stdout, stderr)
			}
			if strings.Contains(stdout, "No sync runs") || strings.Contains(stdout, "No callbacks") {
				t.Errorf("an unknown value printed an empty answer:\n%s", stdout)
			}
		})
	}
}

// fileCommands are every command that takes -f FILE.
var fileCommands = [][]string{
	{"plan"}, {"apply"}, {"sync"}, {"run"}, {"users"}, {"picklists"}, {"picklists", "refresh"},
	{"widgets"}, {"callbacks", "status"}, {"logs", "sync"}, {"logs", "callbacks"},
}

// TestFileArgument: every command that takes -f takes the file as its
// argument too. The account commands read every file -f and the arguments
// name (the first missing one is the error); for run, -f and an argument
// that disagree are a usage error.
func TestFileArgument(t *testing.T) {
	for _, c := range fileCommands {
		name := strings.Join(c, " ")
		t.Run(name, func(t *testing.T) {
			args := func(more ...string) []string { return append(append([]string{}, c...), more...) }
			code, _, stderr := run(t, nil, "", args("missing-by-argument.yaml")...)
			if code != ExitUsage || !strings.Contains(stderr, "missing-by-argument.yaml") {
				t.Errorf("%s FILE: exit %d, want the argument read as the file:\n%s", name, code, stderr)
			}
			several, twoArgs := "a.yaml: no such file", "a.yaml: no such file"
			code, _, stderr = run(t, nil, "", args("-f", "a.yaml", "b.yaml")...)
			if code != ExitUsage || !strings.Contains(stderr, several) {
				t.Errorf("%s -f a.yaml b.yaml: exit %d, want %q:\n%s", name, code, several, stderr)
			}
			code, _, stderr = run(t, nil, "", args("a.yaml", "b.yaml")...)
			if code != ExitUsage || !strings.Contains(stderr, twoArgs) {
				t.Errorf("%s a.yaml b.yaml: exit %d, want %q:\n%s", name, code, twoArgs, stderr)
			}
			code, _, stderr = run(t, nil, "", args("-f", "./same.yaml", "same.yaml")...)
			if code != ExitUsage || !strings.Contains(stderr, "same.yaml") || strings.Contains(stderr, "different files") {
				t.Errorf("%s -f ./same.yaml same.yaml: the same file named twice must be read: exit %d:\n%s", name, code, stderr)
			}
		})
	}
}

// TestFileFlagKeepsOwnArguments: a command whose argument is not the file
// (trace ticket ID) reads its file from -f only.
func TestFileFlagKeepsOwnArguments(t *testing.T) {
	code, _, stderr := run(t, nil, "", "trace", "ticket", "4711", "-f", "missing-trace.yaml")
	if code != ExitUsage || !strings.Contains(stderr, "missing-trace.yaml") || strings.Contains(stderr, "different files") {
		t.Errorf("trace ticket 4711 -f FILE: exit %d:\n%s", code, stderr)
	}
}

// TestPlanFileArgumentAgainstSandbox: plan horizon.yaml plans the file.
func TestPlanFileArgumentAgainstSandbox(t *testing.T) {
	file, env := sandboxFile(t, planTail)
	code, stdout, stderr := run(t, env, "", "plan", file, "--detailed-exitcode")
	if code != 2 || !strings.Contains(stdout, "Plan: ") {
		t.Fatalf("plan FILE: exit %d, want 2 (changes)\n%s\n%s", code, stdout, stderr)
	}
}

// TestExitStatusInEveryHelp: every command's help documents 0, 1, 2 and 3.
func TestExitStatusInEveryHelp(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		path := strings.Fields(c.CommandPath())[1:]
		code, stdout, _ := run(t, nil, "", append(path, "--help")...)
		if code != ExitOK {
			t.Errorf("%s --help: exit %d", c.CommandPath(), code)
		}
		for _, want := range []string{"Exit status: 0 ", "; 1 ", "; 2 ", "; 3 "} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%s --help lacks %q", c.CommandPath(), want)
			}
		}
		for _, sub := range c.Commands() {
			if !sub.Hidden && sub.Name() != "help" {
				walk(sub)
			}
		}
	}
	walk((&Main{}).rootCommand())
}
