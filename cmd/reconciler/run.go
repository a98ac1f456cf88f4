package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/daemon"
	"github.com/horizon/reconciler/internal/store"
)

func (m *Main) runCommand() *cobra.Command {
	var af accountFiles
	var admin string
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "run -f FILE [--interval D]",
		Short: "Run the reconciler daemon: reconcile, sync, receive callbacks, export metrics",
		Long: "Run keeps the accounts of its files reconciled: one horizon.yaml, several (-f repeated, or as " +
			"arguments) or a directory of account files (every *.yaml and *.yml not starting with a dot, each one " +
			"account; account.name must be unique). It serves, on HORIZON_LISTEN_ADDR, /metrics " +
			"(Prometheus; every account's series carry account=NAME), /healthz, /readyz (ready once an account is in " +
			"force, the store answers and HTTP is served; never dependent on a PSA) and the PSA's webhooks at " +
			"/callbacks/{account}/{provider} (/callbacks/{provider} when it runs one file), the write API at " +
			"/api/v1/accounts/{account}/... (/api/v1/... for one file), and on HORIZON_ADMIN_ADDR (default " +
			"127.0.0.1:8081, keep it private) the status pages at /ui/ (with several accounts, an accounts overview; " +
			"each account at /ui/accounts/{account}/). For each account it reconciles every --interval (with jitter), " +
			"when its file changes and on SIGHUP (which re-reads every file and its secrets, and reconciles even when " +
			"nothing changed); runs the polling sync at sync.pollInterval and the picklist refresh at " +
			"sync.picklistRefreshInterval; and dispatches callbacks to one-ticket syncs. A file added to the " +
			"directory starts its account; a file removed stops it.\n\n" +
			"A failed pass is retried with backoff (10s, doubling up to --interval), unless the PSA rejected the " +
			"credentials or refused access: that needs a human, is logged and exported as such " +
			"(horizon_reconcile_failure_needs_human 1) and is retried at --interval, or at once on a file change or " +
			"SIGHUP.\n\n" +
			"An invalid new file never replaces an account's last good one: the account keeps running on it, sets " +
			"horizon_config_valid to 0 and logs every problem as file:line:col; the other accounts are not affected. " +
			"It starts when at least one file is valid (the only file, when given one). SIGTERM or SIGINT shut it " +
			"down gracefully: the batch in hand finishes first.\n\n" +
			"Several replicas may share one PostgreSQL database: all accept callbacks for every account; the " +
			"accounts are shared evenly among the replicas by leases (the holder of an account's lease reconciles, " +
			"syncs and writes back for it). SQLite serves one replica.",
		Example: "  HORIZON_DATABASE_URL=postgres://horizon@db/horizon reconciler run -f /etc/horizon/horizon.yaml\n" +
			"  HORIZON_DATABASE_URL=postgres://horizon@db/horizon reconciler run -f /etc/horizon/accounts",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if af.account != "" {
				return &usageError{message: "run serves every account of its files; --account is for the one-account commands", hint: "reconciler run -f ACCOUNT.yaml"}
			}
			if cmd.Flags().Changed("admin-addr") {
				m.Settings.AdminAddr = admin
			}
			return m.run(cmd.Context(), af.paths, interval)
		},
	}
	accountFlags(cmd, &af)
	cmd.Flags().StringVar(&admin, "admin-addr", "127.0.0.1:8081", "Address of the status pages (/ui/); overrides HORIZON_ADMIN_ADDR; off disables them.")
	cmd.Flags().DurationVar(&interval, "interval", daemon.DefaultReconcileInterval, "Time between reconcile passes (jittered by ±10%).")
	return cmd
}

func (m *Main) run(ctx context.Context, paths []string, interval time.Duration) error {
	set, err := config.LoadSet(paths, config.LoadOptions{LookupEnv: m.lookupEnv()})
	if err != nil {
		fmt.Fprintf(m.Stderr, "reconciler: %v\n", err)
		return errUnreadable
	}
	for _, d := range set.Diagnostics {
		fmt.Fprintln(m.Stderr, d.String())
	}
	if len(set.Configs) == 0 {
		return errInvalid
	}
	st, err := m.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := store.ClaimDaemon(st); err != nil { // SQLite serves one daemon
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan struct{}, 1)
	go forwardSignals(ctx, hup, reload)
	d, err := daemon.New(daemon.Options{ConfigPath: paths[0], ConfigPaths: paths[1:], Listen: m.Settings.ListenAddr, Store: st,
		AdminListen: m.Settings.AdminAddr, AdminToken: m.Settings.AdminToken,
		Logger: m.Logger, ReconcileInterval: interval, Reload: reload, Retention: &m.Settings.Retention})
	if err != nil {
		return err
	}
	return d.Run(ctx)
}

// forwardSignals turns SIGHUP into reload requests until ctx ends.
func forwardSignals(ctx context.Context, sig <-chan os.Signal, reload chan<- struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-sig:
			select {
			case reload <- struct{}{}:
			default:
			}
		}
	}
}
