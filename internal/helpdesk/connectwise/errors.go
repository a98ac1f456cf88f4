package connectwise

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// apiError is ConnectWise's error body:
// {"code":"InvalidObject","message":"...","errors":[{...}]}, and the 429
// body {"error":"ConnectWiseAPI","message":"Too many requests. ..."}.
type apiError struct {
	Code    string `json:"code"`
	Error   string `json:"error"`
	Message string `json:"message"`
	Errors  []struct {
		Code     string `json:"code"`
		Message  string `json:"message"`
		Resource string `json:"resource"`
		Field    string `json:"field"`
	} `json:"errors"`
}

// errorMessage turns an error body into "Code: message (field: message;
// ...)". Unknown bodies give a short excerpt. Credentials are scrubbed in
// case a proxy echoes them.
func (c *Client) errorMessage(status int, body []byte) string {
	var e apiError
	if err := json.Unmarshal(body, &e); err != nil || (e.Message == "" && e.Code == "") {
		return c.scrub(excerpt(body))
	}
	code := e.Code
	if code == "" {
		code = e.Error
	}
	msg := strings.TrimSpace(code + ": " + e.Message)
	var details []string
	for _, d := range e.Errors {
		s := d.Message
		if d.Field != "" {
			s = d.Field + ": " + s
		}
		details = append(details, s)
	}
	if len(details) > 0 {
		msg += " (" + strings.Join(details, "; ") + ")"
	}
	return c.scrub(msg)
}

// scrub replaces any credential value in s.
func (c *Client) scrub(s string) string {
	for _, v := range []string{c.cfg.PrivateKey.Reveal(), c.cfg.PublicKey.Reveal(), c.cfg.ClientID,
		strings.TrimPrefix(c.auth.Reveal(), "Basic ")} {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "<secret>")
		}
	}
	return s
}

func excerpt(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// hint adds to auth failures which credential to check.
func hint(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, helpdesk.ErrUnauthorized):
		return &hinted{err, "check the ConnectWise companyId, publicKey and privateKey of the API member, and the clientId"}
	case errors.Is(err, helpdesk.ErrForbidden):
		return &hinted{err, "check the security role of the ConnectWise API member"}
	}
	return err
}

// hinted is an error with advice appended; its message is built when read
// so that context added to the inner error later shows.
type hinted struct {
	err  error
	hint string
}

// Error implements error.
func (h *hinted) Error() string { return h.err.Error() + " (" + h.hint + ")" }

// Unwrap exposes the inner error.
func (h *hinted) Unwrap() error { return h.err }

// wrapErr adds context to err. A transport error already reads
// "connectwise: <op>: ..."; it gets the context folded into its Op instead
// of a second prefix ("connectwise: get ticket 12: not found ...").
// Anything else is prefixed with "connectwise: <context>: ".
func wrapErr(context string, err error) error {
	var he *helpdesk.Error
	if errors.As(err, &he) && strings.HasPrefix(err.Error(), he.Provider+": "+he.Op+":") {
		if !strings.HasPrefix(context, he.Op) {
			context += ": " + he.Op
		}
		he.Op = context
		return err
	}
	return fmt.Errorf("connectwise: %s: %w", context, err)
}
