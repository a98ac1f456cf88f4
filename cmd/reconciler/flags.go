package main

import (
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/store"
)

// accountFlags adds the flags of a command that works on accounts: -f
// FILE|DIR, repeatable, and --account NAME (see accountFiles). The files
// may also be given as the arguments (reconciler plan accounts/); a
// command with arguments of its own (trace ticket ID) keeps them and reads
// its files from -f only. It sets the command's Args.
func accountFlags(cmd *cobra.Command, af *accountFiles) {
	own := cmd.Args != nil && reflect.ValueOf(cmd.Args).Pointer() != reflect.ValueOf(noArgs).Pointer()
	help := "The horizon.yaml to use, or a directory of account files (every *.yaml and *.yml not starting with a dot); repeatable"
	use := "-f FILE|DIR [--account NAME]"
	if !own {
		help += "; the files may also be given as the arguments"
		use = "[-f] FILE|DIR... [--account NAME]"
	}
	cmd.Flags().StringArrayVarP(&af.paths, "file", "f", []string{"horizon.yaml"}, help+".")
	cmd.Flags().StringVar(&af.account, "account", "", "The account to use when the files hold several: its account.name.")
	cmd.Use = strings.Replace(cmd.Use, "-f FILE", use, 1)
	if own {
		return
	}
	cmd.Args = func(cmd *cobra.Command, args []string) error { return fileArgs(cmd, af, args) }
}

// fileArgs adds the arguments to the files -f names, each file once.
func fileArgs(cmd *cobra.Command, af *accountFiles, args []string) error {
	if cmd.HasSubCommands() {
		for _, a := range args {
			if !strings.ContainsAny(a, "./\\") { // a bare word is a mistyped subcommand, not a file
				return noArgs(cmd, []string{a})
			}
		}
	}
	paths := args
	if cmd.Flags().Changed("file") || len(args) == 0 {
		paths = append(slices.Clone(af.paths), args...)
	}
	af.paths = nil
	seen := map[string]bool{}
	for _, p := range paths {
		if !seen[filepath.Clean(p)] {
			seen[filepath.Clean(p)] = true
			af.paths = append(af.paths, p)
		}
	}
	return nil
}

// filesHelp says what -f of an account command may name.
const filesHelp = "-f may name a directory of account files (every *.yaml and *.yml in it not starting with a dot) " +
	"or be given several times"

// accountHelp is the paragraph addAccountHelp adds.
const accountHelp = filesHelp + "; --account NAME then picks the account by its account.name. It may be left out " +
	"when the files hold one account; otherwise, or when NAME is not among them, the command exits 2 listing the " +
	"accounts there are."

// addAccountHelp explains --account in the help of every command that
// takes it and does not explain it itself, with an example.
func addAccountHelp(cmd *cobra.Command) {
	if cmd.Flags().Lookup("account") != nil && !strings.Contains(cmd.Long, "--account") {
		long := cmd.Long
		if long == "" {
			long = cmd.Short + "."
		}
		before, after, found := strings.Cut(long, "\n\nExit status")
		cmd.Long = strings.TrimRight(before, "\n") + "\n\n" + accountHelp
		if found {
			cmd.Long += "\n\nExit status" + after
		}
		example, _, _ := strings.Cut(cmd.Example, "\n")
		if !strings.Contains(example, "-f horizon.yaml") {
			example = "  " + cmd.CommandPath() + " -f horizon.yaml"
		}
		if cmd.Example != "" {
			cmd.Example += "\n"
		}
		cmd.Example += strings.Replace(example, "-f horizon.yaml", "-f accounts/ --account acme-msp", 1)
	}
	for _, c := range cmd.Commands() {
		addAccountHelp(c)
	}
}

// checkEnum rejects a flag value outside allowed, listing the valid ones;
// "" (the flag not given) passes. A filter that silently matches nothing
// would look like an empty log.
func checkEnum(cmd *cobra.Command, flag, value string, allowed []string) error {
	if value == "" || slices.Contains(allowed, value) {
		return nil
	}
	msg := fmt.Sprintf("--%s %q: want one of %s", flag, value, strings.Join(allowed, ", "))
	if s := config.Suggest(value, allowed); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return &usageError{message: msg, hint: cmd.CommandPath() + " --help"}
}

// syncEntities are the entities a sync (and the sync run log) knows.
var syncEntities = []string{"tickets", "contacts", "companies", "timeEntries", "notes", "members", "picklists"}

// syncTriggers are the triggers the sync run log records.
var syncTriggers = []string{store.TriggerBackfill, store.TriggerPoll, store.TriggerCallback, store.TriggerManual,
	store.TriggerReconcile}

// callbackResults are the results the callback log records.
var callbackResults = []string{store.CallbackAccepted, store.CallbackProcessed, store.CallbackRejected,
	store.CallbackDuplicate, store.CallbackFailed}

// exitOne says what exit status 1 means where it means more than an
// invalid file: the commands whose answer can be "no".
var exitOne = map[string]string{
	"reconciler apply":            "the file is invalid, or the plan has errors (then nothing is applied)",
	"reconciler callbacks status": "the file is invalid, or the callback verdict is not ok",
	"reconciler sync":             "the file is invalid, or --ticket names a ticket that exists on neither side",
	"reconciler trace ticket":     "the file is invalid, or the ticket is not current in Horizon (or exists nowhere)",
	"reconciler validate":         "a file is invalid",
	"reconciler ticket":           "the file is invalid, or the write was refused (by Horizon before sending, or by the PSA)",
	"reconciler ticket create":    "the file is invalid, or the write was refused (by Horizon before sending, or by the PSA)",
	"reconciler ticket update":    "the file is invalid, or the write was refused (by Horizon before sending, or by the PSA)",
	"reconciler ticket note":      "the file is invalid, or the write was refused (by Horizon before sending, or by the PSA)",
	"reconciler ticket time":      "the file is invalid, or the write was refused (by Horizon before sending, or by the PSA)",
}

// exitStatusHelp is the exit-status paragraph of cmd's help: the codes
// scripts rely on.
func exitStatusHelp(cmd *cobra.Command) string {
	one, ok := exitOne[cmd.CommandPath()]
	if !ok {
		one = "the file is invalid"
	}
	return "Exit status: 0 success; 1 " + one + "; 2 a usage error (unknown command, flag or value) or a file " +
		"that cannot be read; 3 any other failure (the PSA or the database unreachable, a change or sync that failed)."
}

// addExitStatus appends the exit-status paragraph to the help of every
// command that does not state its own.
func addExitStatus(cmd *cobra.Command) {
	if !strings.Contains(cmd.Long, "Exit status") {
		if cmd.Long == "" {
			cmd.Long = cmd.Short + "."
		}
		cmd.Long = strings.TrimRight(cmd.Long, "\n") + "\n\n" + exitStatusHelp(cmd)
	}
	for _, c := range cmd.Commands() {
		addExitStatus(c)
	}
}
