package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/zohodesk"
)

func (m *Main) authCommand() *cobra.Command {
	auth := &cobra.Command{
		Use:   "auth",
		Short: "Obtain the credentials a PSA's OAuth consent gives",
		Long:  "Auth runs a PSA's OAuth consent flow and stores what it yields where horizon.yaml can reference it.",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	auth.AddCommand(m.authZohoCommand())
	return auth
}

// zohoAuthFlags are the settings of `auth zohodesk`.
type zohoAuthFlags struct {
	clientID, secretEnv, dataCenter, accountsURL, redirectURI, out, code string
}

func (m *Main) authZohoCommand() *cobra.Command {
	var f zohoAuthFlags
	cmd := &cobra.Command{
		Use:   "zohodesk --client-id ID --redirect-uri URI --out FILE",
		Short: "Get a Zoho Desk refresh token with exactly the scopes Horizon uses",
		Long: "Zohodesk prints the Zoho Accounts consent URL for your OAuth client, asking for exactly the scopes " +
			"Horizon's calls need (" + strings.Join(zohodesk.Scopes, ", ") + ") with offline access. Open it as an " +
			"agent of the Zoho Desk organisation, approve, and paste the grant code Zoho shows (or that it adds to " +
			"the redirect URI as ?code=); the command exchanges it and writes the refresh token to --out with mode " +
			"0600. The token is never printed: reference the file from horizon.yaml as " +
			"refreshToken: {file: FILE}.\n\nThe client secret is read from the variable --client-secret-env names. " +
			"A grant code works once and for a few minutes.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return m.runAuthZoho(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.clientID, "client-id", "", "OAuth client id (Zoho API console).")
	fl.StringVar(&f.secretEnv, "client-secret-env", "ZOHO_CLIENT_SECRET", "Variable holding the OAuth client secret.")
	fl.StringVar(&f.dataCenter, "data-center", "us", "Zoho data centre: us, eu, in, au, jp, ca, sa or cn.")
	fl.StringVar(&f.accountsURL, "accounts-url", "", "Zoho Accounts URL, replacing the data centre's (sandbox, tests).")
	fl.StringVar(&f.redirectURI, "redirect-uri", "", "Redirect URI registered with the OAuth client.")
	fl.StringVar(&f.out, "out", "", "File to write the refresh token to (created or replaced, mode 0600).")
	fl.StringVar(&f.code, "code", "", "Grant code, when already at hand; otherwise it is read from standard input.")
	return cmd
}

func (m *Main) runAuthZoho(cmd *cobra.Command, f zohoAuthFlags) error {
	var missing []string
	for name, v := range map[string]string{"--client-id": f.clientID, "--redirect-uri": f.redirectURI, "--out": f.out} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return &usageError{message: "auth zohodesk: missing " + strings.Join(missing, ", "), hint: "reconciler auth zohodesk --help"}
	}
	secret, ok := m.lookupEnv()(f.secretEnv)
	if !ok || secret == "" {
		return &usageError{message: fmt.Sprintf("auth zohodesk: variable %s (the client secret) is not set", f.secretEnv),
			hint: "export " + f.secretEnv + "=... or name another with --client-secret-env"}
	}
	c := zohodesk.Consent{DataCenter: f.dataCenter, AccountsURL: f.accountsURL, ClientID: f.clientID,
		ClientSecret: helpdesk.Secret(secret), RedirectURI: f.redirectURI}
	u, err := c.URL()
	if err != nil {
		return &usageError{message: "auth zohodesk: " + err.Error(), hint: "reconciler auth zohodesk --help"}
	}
	fmt.Fprintf(m.Stdout, "Open this URL as an agent of your Zoho Desk organisation and approve:\n\n  %s\n\n", u)
	code := f.code
	if code == "" {
		if code, err = m.readCode(); err != nil {
			return err
		}
	}
	refresh, err := c.Exchange(cmd.Context(), code)
	if err != nil {
		return err
	}
	if err := writeSecretFile(f.out, refresh); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Refresh token written to %s (mode 0600). In horizon.yaml:\n\n  refreshToken: {file: %s}\n", f.out, f.out)
	return nil
}

// readCode reads the grant code from standard input, taking it out of a
// pasted redirect URL (…?code=X&…) too.
func (m *Main) readCode() (string, error) {
	fmt.Fprint(m.Stdout, "Grant code: ")
	line, err := bufio.NewReader(m.Stdin).ReadString('\n')
	line = strings.TrimSpace(line)
	if line == "" {
		if err == nil {
			err = errors.New("empty line")
		}
		return "", fmt.Errorf("auth zohodesk: no grant code read: %w", err)
	}
	if _, after, ok := strings.Cut(line, "code="); ok {
		line, _, _ = strings.Cut(after, "&")
	}
	return line, nil
}

// writeSecretFile replaces path with secret, mode 0600, through a
// temporary file in the same directory so that a reader never sees half.
func writeSecretFile(path string, secret helpdesk.Secret) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".refresh-token-*")
	if err != nil {
		return fmt.Errorf("auth zohodesk: write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("auth zohodesk: write %s: %w", path, err)
	}
	_, werr := tmp.WriteString(secret.Reveal() + "\n")
	if err := errors.Join(werr, tmp.Sync(), tmp.Close()); err != nil {
		return fmt.Errorf("auth zohodesk: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("auth zohodesk: write %s: %w", path, err)
	}
	return nil
}
