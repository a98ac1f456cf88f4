package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/horizon/reconciler/internal/account"
	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/reconcile"
)

// eachOptions tune eachAccount.
type eachOptions struct {
	// verb says what was done to an account: "planned", "applied".
	verb string
	// format is the output format: text, markdown or json (then every
	// account's output is collected into one JSON document).
	format string
	// detailed maps statuses as plan --detailed-exitcode does.
	detailed bool
	account  accountOptions
}

// accountOutcome is one account file's part of a run over several.
type accountOutcome struct {
	File     string `json:"file"`
	Account  string `json:"account,omitempty"`
	Provider string `json:"provider,omitempty"`
	// ExitStatus is the status the account alone would have exited with.
	ExitStatus  int                 `json:"exitStatus"`
	Error       string              `json:"error,omitempty"`
	Diagnostics []config.Diagnostic `json:"diagnostics,omitempty"`
	Plan        json.RawMessage     `json:"plan,omitempty"`
}

// eachAccount runs do for every valid account of the files af names, one
// after the other, each with its own PSA client, under a heading naming
// the account. An invalid file, or an account whose do fails, is reported
// and does not stop the others. The exit status is the worst of the
// accounts' (see worstStatus).
func (m *Main) eachAccount(ctx context.Context, af accountFiles, o eachOptions,
	do func(ctx context.Context, a *account.Account, w io.Writer) error) error {
	set, err := config.LoadSet(af.paths, config.LoadOptions{LookupEnv: m.lookupEnv()})
	if err != nil {
		fmt.Fprintf(m.Stderr, "reconciler: %v\n", err)
		return errUnreadable
	}
	st, err := m.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	var outcomes []accountOutcome
	for i, file := range set.Files {
		if err := ctx.Err(); err != nil {
			return err
		}
		out := accountOutcome{File: file, Diagnostics: fileDiagnostics(set, file)}
		for _, d := range out.Diagnostics {
			fmt.Fprintln(m.Stderr, d.String())
		}
		cfg := setConfig(set, file)
		if i > 0 && o.format != reconcile.FormatJSON {
			fmt.Fprintln(m.Stdout)
		}
		if cfg == nil {
			out.ExitStatus = ExitInvalid
			m.heading(o.format, fmt.Sprintf("%s: invalid, not %s", file, o.verb))
			outcomes = append(outcomes, out)
			continue
		}
		out.Account, out.Provider = cfg.Account.Name, string(cfg.Helpdesk.Provider)
		m.heading(o.format, fmt.Sprintf("account %s (%s, %s)", out.Account, out.Provider, file))
		var w io.Writer = m.Stdout
		var buf bytes.Buffer
		if o.format == reconcile.FormatJSON {
			w = &buf
		}
		a, err := m.newAccount(ctx, st, cfg, o.account)
		if err == nil {
			err = do(ctx, a, w)
		}
		out.ExitStatus, out.Error = accountStatus(err, o.detailed)
		m.failure(o.format, out)
		if buf.Len() > 0 {
			out.Plan = json.RawMessage(bytes.TrimSpace(buf.Bytes()))
		}
		outcomes = append(outcomes, out)
	}
	worst := worstStatus(outcomes, o.detailed)
	if err := m.writeOutcomes(outcomes, o, worst); err != nil {
		return err
	}
	switch {
	case worst == ExitOK:
		return nil
	case o.detailed && worst == 2:
		return errHasChanges
	}
	return &exitError{code: worst}
}

// heading starts an account's part of the output.
func (m *Main) heading(format, text string) {
	switch format {
	case reconcile.FormatJSON:
	case reconcile.FormatMarkdown:
		fmt.Fprintf(m.Stdout, "## %s\n\n", text)
	default:
		fmt.Fprintf(m.Stdout, "== %s\n", text)
	}
}

// accountStatus returns the status an account alone would have exited
// with and the message it would have printed.
func accountStatus(err error, detailed bool) (int, string) {
	if detailed {
		err = detailedExit(err)
	}
	var msg strings.Builder
	code := exitCode(err, &msg)
	var lines []string
	for _, line := range strings.Split(strings.TrimSpace(msg.String()), "\n") {
		if line = strings.TrimPrefix(line, "reconciler: "); line != "" {
			lines = append(lines, line)
		}
	}
	return code, strings.Join(lines, "; ")
}

// failure reports an account's failure under its heading, where a reader
// of the report looks for it; JSON holds it in the document, so it goes
// to stderr as well.
func (m *Main) failure(format string, out accountOutcome) {
	if out.Error == "" {
		return
	}
	switch format {
	case reconcile.FormatJSON:
		fmt.Fprintf(m.Stderr, "reconciler: account %s: %s\n", out.Account, out.Error)
	case reconcile.FormatMarkdown:
		fmt.Fprintf(m.Stdout, "> **Failed (exit %d):** %s\n", out.ExitStatus, out.Error)
	default:
		fmt.Fprintf(m.Stdout, "Failed (exit %d): %s\n", out.ExitStatus, out.Error)
	}
}

// worstStatus is the status of a run over several accounts: the highest
// of theirs; with --detailed-exitcode, 1 when any account failed, else 2
// when any has changes, else 0.
func worstStatus(outcomes []accountOutcome, detailed bool) int {
	worst := ExitOK
	for _, o := range outcomes {
		switch {
		case detailed && (o.ExitStatus == 1 || worst == 1):
			worst = 1
		case o.ExitStatus > worst:
			worst = o.ExitStatus
		}
	}
	return worst
}

// writeOutcomes ends the output: a summary line, or the JSON document of
// every account.
func (m *Main) writeOutcomes(outcomes []accountOutcome, o eachOptions, worst int) error {
	if o.format == reconcile.FormatJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Accounts   []accountOutcome `json:"accounts"`
			ExitStatus int              `json:"exitStatus"`
		}{outcomes, worst})
	}
	var done, invalid, failed []string
	for _, out := range outcomes {
		switch {
		case out.Account == "":
			invalid = append(invalid, out.File)
		case out.ExitStatus != ExitOK && !(o.detailed && out.ExitStatus == 2):
			failed = append(failed, fmt.Sprintf("%s: exit %d", out.Account, out.ExitStatus))
		default:
			done = append(done, out.Account)
		}
	}
	parts := []string{fmt.Sprintf("%d %s", len(done), o.verb)}
	if len(invalid) > 0 {
		parts = append(parts, fmt.Sprintf("%d invalid (%s)", len(invalid), strings.Join(invalid, ", ")))
	}
	if len(failed) > 0 {
		parts = append(parts, fmt.Sprintf("%d failed (%s)", len(failed), strings.Join(failed, ", ")))
	}
	fmt.Fprintln(m.Stdout)
	m.heading(o.format, fmt.Sprintf("%d %s: %s", len(outcomes), plural(len(outcomes), "account", "accounts"),
		strings.Join(parts, ", ")))
	return nil
}

// fileDiagnostics are the diagnostics of one file of set.
func fileDiagnostics(set *config.Set, file string) []config.Diagnostic {
	var out []config.Diagnostic
	for _, d := range set.Diagnostics {
		if d.File == file {
			out = append(out, d)
		}
	}
	return out
}

// setConfig is the valid account of file, or nil.
func setConfig(set *config.Set, file string) *config.Config {
	for _, c := range set.Configs {
		if c.File == file {
			return c
		}
	}
	return nil
}
