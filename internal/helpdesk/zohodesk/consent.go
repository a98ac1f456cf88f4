package zohodesk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// Scopes are the OAuth scopes of every call this client makes, and no
// more (docs/permissions.md lists each with the calls that need it):
// organizations, agents (myinfo) and departments (basic), the ticket
// field picklists (settings), the modifiedTime searches (search), tickets
// with their comments and time entries (read, create, update), contacts
// and accounts (contacts read) and the webhook registrations.
var Scopes = []string{
	"Desk.basic.READ",
	"Desk.settings.READ",
	"Desk.search.READ",
	"Desk.tickets.READ",
	"Desk.tickets.CREATE",
	"Desk.tickets.UPDATE",
	"Desk.contacts.READ",
	"Desk.webhooks.READ",
	"Desk.webhooks.CREATE",
	"Desk.webhooks.UPDATE",
	"Desk.webhooks.DELETE",
}

// Consent is the authorization-code flow that yields the refresh token
// the client needs: the admin opens URL, approves, and Exchange trades
// the grant code Zoho shows (or sends to RedirectURI) for a refresh token.
type Consent struct {
	// DataCenter and AccountsURL pick the Accounts host as in Config.
	DataCenter  string
	AccountsURL string
	ClientID    string
	// ClientSecret is the OAuth client's secret (for Exchange).
	ClientSecret helpdesk.Secret
	// RedirectURI is the redirect URI registered with the client.
	RedirectURI string
	// HTTPClient sends the exchange; default: a 30 s timeout.
	HTTPClient *http.Client
}

func (c Consent) accounts() (string, error) {
	_, accounts, err := hosts(Config{DataCenter: c.DataCenter, AccountsURL: c.AccountsURL})
	return accounts, err
}

// URL is the consent page: exactly Scopes (comma-separated, as Zoho
// documents them), offline access and a forced consent screen, without
// which Zoho issues no refresh token [C-off, C-code].
func (c Consent) URL() (string, error) {
	accounts, err := c.accounts()
	if err != nil {
		return "", err
	}
	q := url.Values{"scope": {strings.Join(Scopes, ",")}, "client_id": {c.ClientID}, "response_type": {"code"},
		"access_type": {"offline"}, "prompt": {"consent"}, "redirect_uri": {c.RedirectURI}}
	return accounts + "/oauth/v2/auth?" + q.Encode(), nil
}

// Exchange trades a grant code for the refresh token. Errors name what to
// do, never a credential.
func (c Consent) Exchange(ctx context.Context, code string) (helpdesk.Secret, error) {
	accounts, err := c.accounts()
	if err != nil {
		return "", err
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: defaultTimeout}
	}
	conf := oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret.Reveal(), RedirectURL: c.RedirectURI,
		Endpoint: oauth2.Endpoint{TokenURL: accounts + "/oauth/v2/token", AuthStyle: oauth2.AuthStyleInParams}}
	tok, err := conf.Exchange(context.WithValue(ctx, oauth2.HTTPClient, hc), strings.TrimSpace(code))
	if err != nil {
		return "", exchangeError(err)
	}
	if tok.RefreshToken == "" {
		return "", errors.New("zohodesk: Zoho Accounts issued no refresh token: approve the consent page this command prints " +
			"(it asks for offline access); a code from another page gives none")
	}
	return helpdesk.Secret(tok.RefreshToken), nil
}

func exchangeError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		code := safeCode(re.ErrorCode)
		switch {
		case strings.Contains(code, "invalid_code"):
			return errors.New("zohodesk: Zoho Accounts refused the grant code (invalid_code): a code works once and " +
				"for a few minutes; open the consent URL again for a new one")
		case strings.Contains(code, "client"):
			return fmt.Errorf("zohodesk: Zoho Accounts refused the client (%s): check the client id and secret", code)
		case re.Response != nil && re.Response.StatusCode >= 300:
			return fmt.Errorf("zohodesk: Zoho Accounts answered HTTP %d to the code exchange", re.Response.StatusCode)
		}
		return fmt.Errorf("zohodesk: Zoho Accounts refused the code exchange (%s)", code)
	}
	if strings.Contains(err.Error(), "missing access_token") {
		return errors.New("zohodesk: Zoho Accounts answered without a token: check the code, client id and secret")
	}
	return fmt.Errorf("zohodesk: code exchange: %w", scrubURL(err))
}
