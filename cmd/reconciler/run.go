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
	var file, admin string
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "run -f FILE [--interval D]",
		Short: "Run the reconciler daemon: reconcile, sync, receive callbacks, export metrics",
		Long: "Run keeps the account in horizon.yaml reconciled. It serves, on HORIZON_LISTEN_ADDR, /metrics " +
			"(Prometheus), /healthz, /readyz (ready once the config is in force, the store answers and HTTP is served; " +
			"never dependent on the PSA) and /callbacks/{provider} " +
			"(the PSA's webhooks), and on HORIZON_ADMIN_ADDR (default 127.0.0.1:8081, keep it private) the status " +
			"pages at /ui/. It reconciles every --interval (with jitter), when the file changes and on " +
			"SIGHUP (which re-reads the file and its secrets, and reconciles even when nothing changed); runs the polling sync at sync.pollInterval and the picklist refresh at " +
			"sync.picklistRefreshInterval; and dispatches callbacks to one-ticket syncs.\n\n" +
			"A failed pass is retried with backoff (10s, doubling up to --interval), unless the PSA rejected the " +
			"credentials or refused access: that needs a human, is logged and exported as such " +
			"(horizon_reconcile_failure_needs_human 1) and is retried at --interval, or at once on a file change or " +
			"SIGHUP.\n\n" +
			"An invalid new file never replaces the last good one: the daemon keeps running on it, sets " +
			"horizon_config_valid to 0 and logs every problem as file:line:col. SIGTERM or SIGINT shut it down " +
			"gracefully: the batch in hand finishes first.\n\n" +
			"Several replicas may share one PostgreSQL database: all accept callbacks; the holder of the " +
			"account's lease reconciles and syncs.",
		Example: "  HORIZON_DATABASE_URL=postgres://horizon@db/horizon reconciler run -f /etc/horizon/horizon.yaml",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("admin-addr") {
				m.Settings.AdminAddr = admin
			}
			return m.run(cmd.Context(), file, interval)
		},
	}
	fileFlag(cmd, &file)
	cmd.Flags().StringVar(&admin, "admin-addr", "127.0.0.1:8081", "Address of the status pages (/ui/); overrides HORIZON_ADMIN_ADDR; off disables them.")
	cmd.Flags().DurationVar(&interval, "interval", daemon.DefaultReconcileInterval, "Time between reconcile passes (jittered by ±10%).")
	return cmd
}

func (m *Main) run(ctx context.Context, file string, interval time.Duration) error {
	if config.IsDir(file) {
		set, err := config.LoadSet([]string{file}, config.LoadOptions{LookupEnv: m.lookupEnv()})
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
	} else if _, err := m.loadConfig(file); err != nil {
		return err
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
	d, err := daemon.New(daemon.Options{ConfigPath: file, Listen: m.Settings.ListenAddr, Store: st,
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
