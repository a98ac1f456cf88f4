package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/sethvargo/go-envconfig"
	"github.com/spf13/cobra"

	"github.com/horizon/reconciler/internal/settings"
)

// Main is the reconciler program: its streams, environment and settings.
type Main struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// LookupEnv reads the environment (settings and secret checks).
	LookupEnv func(string) (string, bool)

	Settings settings.Settings
	Logger   *slog.Logger

	flags settingFlags
	outMu sync.Mutex // serialises lines written by concurrent goroutines
}

// settingFlags hold the persistent flags that override the environment.
type settingFlags struct {
	databaseURL, listenAddr, logLevel, logFormat string
	listenAddrSet                                bool // --listen-addr was given
}

// NewMain returns a Main wired to the process's streams and environment.
func NewMain() *Main {
	return &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, LookupEnv: os.LookupEnv}
}

// Run executes the command line args (without the program name).
func (m *Main) Run(ctx context.Context, args []string) error {
	root := m.rootCommand()
	addAccountHelp(root)
	addExitStatus(root) // after every command is registered, wherever
	root.SetArgs(args)
	root.SetIn(m.Stdin)
	root.SetOut(m.Stdout)
	root.SetErr(m.Stderr)
	err := root.ExecuteContext(ctx)
	if detailedPlan(args) {
		// Terraform's contract: 2 means changes, so every failure —
		// usage errors included — must be 1.
		return detailedExit(err)
	}
	return err
}

// detailedPlan reports whether args run plan with --detailed-exitcode.
func detailedPlan(args []string) bool {
	plan, detailed := false, false
	for _, a := range args {
		switch {
		case a == "plan":
			plan = true
		case a == "--detailed-exitcode" || a == "--detailed-exitcode=true":
			detailed = true
		}
	}
	return plan && detailed
}

func (m *Main) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "reconciler",
		Short: "Keep a PSA and Horizon in the state declared by horizon.yaml",
		Long: "The reconciler reads horizon.yaml, the file that declares how a Horizon account connects to its PSA " +
			"(ConnectWise Manage, Autotask, Zoho Desk or HaloPSA), and makes the PSA and Horizon match it.\n\n" +
			"Process settings come from the environment; the flags of the same name override them.\n\n" +
			envHelp(),
		SilenceErrors:     true,
		SilenceUsage:      true,
		Args:              noArgs,
		RunE:              func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return m.loadSettings(cmd) },
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &usageError{message: err.Error(), hint: c.CommandPath() + " --help"}
	})
	root.CompletionOptions.HiddenDefaultCmd = true
	pf := root.PersistentFlags()
	pf.BoolP("help", "h", false, "Show help for the command.")
	pf.StringVar(&m.flags.databaseURL, "database-url", "", "Database URL; overrides HORIZON_DATABASE_URL. Prefer the variable: flags show in process lists.")
	pf.StringVar(&m.flags.listenAddr, "listen-addr", ":8080", "HTTP listen address; overrides HORIZON_LISTEN_ADDR.")
	pf.StringVar(&m.flags.logLevel, "log-level", "info", "Log level (debug, info, warn or error); overrides HORIZON_LOG_LEVEL.")
	pf.StringVar(&m.flags.logFormat, "log-format", "text", "Log format (text or json); overrides HORIZON_LOG_FORMAT.")
	root.AddCommand(m.validateCommand(), m.schemaCommand(), m.versionCommand(), m.docsCommand(), m.sandboxCommand(),
		m.planCommand(), m.applyCommand(), m.syncCommand(), m.logsCommand(), m.usersCommand(), m.picklistsCommand(),
		m.runCommand(), m.demoCommand(), m.callbacksCommand(), m.widgetsCommand())
	root.AddCommand(m.authCommand())
	root.AddCommand(m.traceCommand())
	root.AddCommand(m.ticketCommand())
	root.AddCommand(m.smokeCommand())
	return root
}

func envHelp() string {
	var b strings.Builder
	b.WriteString("Environment:\n")
	for _, v := range settings.Variables() {
		def := ""
		if v.Default != "" {
			def = " Default " + v.Default + "."
		}
		fmt.Fprintf(&b, "  %-27s %s%s\n", v.Name, v.Help, def)
	}
	return b.String()
}

// loadSettings reads the environment, then applies the flags the user set.
func (m *Main) loadSettings(cmd *cobra.Command) error {
	s, err := settings.FromEnv(cmd.Context(), envconfig.LookuperFunc(m.lookupEnv()))
	if err != nil {
		return &usageError{message: err.Error(), hint: "reconciler --help"}
	}
	flags := cmd.Flags()
	if flags.Changed("database-url") {
		s.DatabaseURL = m.flags.databaseURL
	}
	if flags.Changed("listen-addr") {
		s.ListenAddr = m.flags.listenAddr
		m.flags.listenAddrSet = true
	}
	if flags.Changed("log-level") {
		if err := s.LogLevel.UnmarshalText([]byte(m.flags.logLevel)); err != nil {
			return &usageError{message: "--log-level: " + err.Error()}
		}
	}
	if flags.Changed("log-format") {
		if err := s.LogFormat.UnmarshalText([]byte(m.flags.logFormat)); err != nil {
			return &usageError{message: "--log-format: " + err.Error()}
		}
	}
	m.Settings = s
	m.Logger = s.Logger(m.Stderr)
	return nil
}

func (m *Main) lookupEnv() func(string) (string, bool) {
	if m.LookupEnv != nil {
		return m.LookupEnv
	}
	return os.LookupEnv
}

// noArgs rejects arguments, naming an unknown subcommand as such.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return &usageError{
			message: fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath()),
			hint:    cmd.CommandPath() + " --help",
		}
	}
	return nil
}
