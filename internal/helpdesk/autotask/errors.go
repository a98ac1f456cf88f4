package autotask

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// errorBody is Autotask's error answer: {"errors":["message", ...]} [K].
// Some clients also meet {"errors":[{"message":...,"field":...}]}, and
// IIS-level failures answer {"Message":"..."}; all are read.
type errorBody struct {
	Errors  []json.RawMessage `json:"errors"`
	Message string            `json:"message"`
}

// messages returns the error strings of an error body, or nil when body
// is not one.
func messages(body []byte) []string {
	var eb errorBody
	if json.Unmarshal(body, &eb) != nil {
		return nil
	}
	var out []string
	for _, raw := range eb.Errors {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			out = append(out, s)
			continue
		}
		var obj struct{ Message, Field string }
		if json.Unmarshal(raw, &obj) == nil && obj.Message != "" {
			if obj.Field != "" {
				obj.Message = obj.Field + ": " + obj.Message
			}
			out = append(out, obj.Message)
		}
	}
	if len(out) == 0 && eb.Message != "" {
		out = append(out, eb.Message)
	}
	return out
}

// errorMessage is the transport's ErrorMessage hook: the provider's
// messages joined, with any credential value blanked out.
func (c *Client) errorMessage(_ int, body []byte) string {
	msg := strings.Join(messages(body), "; ")
	if msg == "" {
		msg = string(body)
	}
	if len(msg) > 500 {
		msg = msg[:500] + "..."
	}
	return c.redact(msg)
}

// redact removes credential values from text that came from the PSA.
func (c *Client) redact(s string) string {
	for _, v := range []string{c.cfg.Secret.Reveal(), c.cfg.IntegrationCode.Reveal(), c.cfg.Username} {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "<redacted>")
		}
	}
	return s
}

// throttleText matches the messages Autotask gives when a request is
// refused for the hourly threshold or the thread limit.
var throttleText = regexp.MustCompile(`(?i)threshold|thread|too many|rate limit|throttl`)

// classify is the transport's Classify hook. Autotask answers business
// rule failures with 500 and an error body [K]: those are invalid
// requests, not worth retrying, unless the message says the threshold or
// thread limit refused the call (the refusal's status code is not
// documented [I], so both 429 and 500 are read as throttling). A 500
// without an error body stays transient.
func classify(status int, _ http.Header, body []byte) error {
	if status < 500 {
		return nil
	}
	msgs := messages(body)
	if len(msgs) == 0 {
		return nil
	}
	if throttleText.MatchString(strings.Join(msgs, " ")) {
		return helpdesk.ErrRateLimited
	}
	if status == http.StatusInternalServerError {
		return helpdesk.ErrInvalid
	}
	return nil
}
