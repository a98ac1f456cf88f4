package syncer

import (
	"errors"
	"fmt"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// AuthError is a sync that failed because the PSA rejected Horizon's
// credentials (401) or refused access with them (403). Retrying cannot
// help: a human must fix horizon.yaml or the PSA account. Its message
// names the settings to check and never a credential.
type AuthError struct {
	Provider  string
	Forbidden bool  // 403: the credentials work but lack permission
	Err       error // the provider's error
}

// Error implements error.
func (e *AuthError) Error() string {
	return fmt.Sprintf("%s: %v", e.Hint(), e.Err)
}

// Unwrap returns the provider's error (helpdesk.ErrUnauthorized or
// helpdesk.ErrForbidden match through it).
func (e *AuthError) Unwrap() error { return e.Err }

// Hint says, in one sentence, what to check.
func (e *AuthError) Hint() string {
	name := title(e.Provider)
	if e.Forbidden {
		perm, ok := permissionHints[e.Provider]
		if !ok {
			perm = "check the API user's permissions in the PSA"
		}
		return fmt.Sprintf("%s accepted the credentials but refused access: %s", name, perm)
	}
	cred, ok := credentialHints[e.Provider]
	if !ok {
		cred = fmt.Sprintf("check the credentials under helpdesk.%s", e.Provider)
	}
	return fmt.Sprintf("%s rejected the credentials: %s", name, cred)
}

// credentialHints names, per provider, the horizon.yaml settings behind a
// 401.
var credentialHints = map[string]string{
	helpdesk.ConnectWise: "check helpdesk.connectwise.publicKey/privateKey, companyId and clientId",
	helpdesk.Autotask:    "check helpdesk.autotask.username, secret and integrationCode",
	helpdesk.ZohoDesk:    "check helpdesk.zohodesk.refreshToken, clientId/clientSecret and dataCenter",
	helpdesk.HaloPSA:     "check helpdesk.halopsa.clientId/clientSecret and tenant",
}

// permissionHints says, per provider, where a 403 comes from.
var permissionHints = map[string]string{
	helpdesk.ConnectWise: "check the API member's security role (Inquire level on Service Desk, Companies, Time and System)",
	helpdesk.Autotask:    "check the API user's security level and that its integration code is still active",
	helpdesk.ZohoDesk:    "check the OAuth scopes granted to the refresh token (Desk.tickets.READ, Desk.contacts.READ, ...) and helpdesk.zohodesk.orgId",
	helpdesk.HaloPSA:     "check the API application's permissions (read tickets, clients, users, agents) in HaloPSA",
}

// titles are the providers' own spellings.
var titles = map[string]string{
	helpdesk.ConnectWise: "ConnectWise",
	helpdesk.Autotask:    "Autotask",
	helpdesk.ZohoDesk:    "Zoho Desk",
	helpdesk.HaloPSA:     "HaloPSA",
}

func title(provider string) string {
	if t, ok := titles[provider]; ok {
		return t
	}
	return provider
}

// wrap gives a run's error its entity context, turning an authentication
// failure into an *AuthError.
func (s *Syncer) wrap(e helpdesk.Entity, err error) error {
	if err == nil {
		return nil
	}
	var ae *AuthError
	if !errors.As(err, &ae) {
		switch {
		case errors.Is(err, helpdesk.ErrUnauthorized):
			err = &AuthError{Provider: s.p.Name(), Err: err}
		case errors.Is(err, helpdesk.ErrForbidden):
			err = &AuthError{Provider: s.p.Name(), Forbidden: true, Err: err}
		}
	}
	return fmt.Errorf("sync %s: %w", e, err)
}
