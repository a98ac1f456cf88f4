package halopsa

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/transport"
)

// request is one API call relative to {base}/api.
type request struct {
	method string
	path   string // "/Tickets"
	query  url.Values
	body   any
}

// call sends r with a bearer token and decodes a 2xx body into out (nil:
// ignore the body). Errors are *helpdesk.Error values.
func (c *Client) call(ctx context.Context, op string, r request, out any) (*transport.Response, error) {
	return c.callDecode(ctx, op, r, func(b []byte) error {
		if out == nil || len(b) == 0 {
			return nil
		}
		return json.Unmarshal(b, out)
	})
}

// callDecode is call with a decode of its own: an error from it is
// retried like a transient failure, then returned.
func (c *Client) callDecode(ctx context.Context, op string, r request, decode func(body []byte) error) (*transport.Response, error) {
	var body []byte
	if r.body != nil {
		var err error
		if body, err = json.Marshal(r.body); err != nil {
			return nil, fmt.Errorf("encode %s body: %w", op, err)
		}
	}
	u := c.apiRoot + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	build := func(ctx context.Context) (*http.Request, error) {
		tok, err := c.auth.token(ctx)
		if err != nil {
			return nil, err
		}
		return newRequest(ctx, r.method, u, body, tok)
	}
	res, err := c.t.DoDecode(ctx, op, build, decode)
	return res, hint(err)
}

func newRequest(ctx context.Context, method, u string, body []byte, token string) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	return req, nil
}

func (c *Client) get(ctx context.Context, op, path string, q url.Values, out any) (*transport.Response, error) {
	return c.call(ctx, op, request{method: http.MethodGet, path: path, query: q}, out)
}

// post sends items as a JSON array (Halo's upsert shape) and returns the
// saved objects, whether Halo answered one object or an array.
func (c *Client) post(ctx context.Context, op, path string, items ...any) (objects, error) {
	var out objects
	_, err := c.call(ctx, op, request{method: http.MethodPost, path: path, body: items}, &out)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, &helpdesk.Error{Provider: helpdesk.HaloPSA, Op: op, Kind: helpdesk.ErrTransient,
			Message: "empty response to a save"}
	}
	return out, nil
}

func (c *Client) delete(ctx context.Context, op, path string) error {
	_, err := c.call(ctx, op, request{method: http.MethodDelete, path: path}, nil)
	return err
}

// hint unwraps a token failure carried through the transport and adds
// which setting to check to auth failures.
func hint(err error) error {
	if err == nil {
		return nil
	}
	var te *tokenError
	if errors.As(err, &te) {
		return te.e
	}
	var he *helpdesk.Error
	if !errors.As(err, &he) {
		return err
	}
	cp := *he
	switch {
	case errors.Is(err, helpdesk.ErrUnauthorized):
		cp.Message = joinMsg(cp.Message, "the API rejected a freshly issued token; "+credentialHint)
	case errors.Is(err, helpdesk.ErrForbidden):
		cp.Message = joinMsg(cp.Message, "the agent the API application acts as lacks a permission")
	default:
		return err
	}
	return &cp
}

func joinMsg(a, b string) string {
	if a == "" {
		return b
	}
	return a + " (" + b + ")"
}

// errorMessage reads Halo's error bodies, whose shapes vary:
// {"resultCode","errorMessage"}, {"ClassName","Message"}, {"Message"},
// {"error","error_description"}, field-keyed validation errors
// ({"[0].id":"..."}) and plain text.
func errorMessage(_ int, body []byte) string {
	body = bytes.TrimSpace(body)
	var m map[string]any
	if len(body) == 0 || body[0] != '{' || json.Unmarshal(body, &m) != nil {
		return excerpt(body, 200)
	}
	for _, k := range []string{"errorMessage", "Message", "message", "error_description", "error"} {
		if s, ok := lookupString(m, k); ok && s != "" {
			return excerpt([]byte(s), 200)
		}
	}
	return fieldErrors(m)
}

func lookupString(m map[string]any, key string) (string, bool) {
	for k, v := range m {
		if strings.EqualFold(k, key) {
			s, ok := v.(string)
			return s, ok
		}
	}
	return "", false
}

// fieldErrors joins a field-keyed validation body as "field: message".
func fieldErrors(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %v", k, m[k]))
	}
	return excerpt([]byte(strings.Join(parts, "; ")), 200)
}

func excerpt(b []byte, n int) string {
	s := strings.ToValidUTF8(string(b), "")
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// scrubURL drops the URL from a transport error (it may carry the tenant
// or other query values).
func scrubURL(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}

// redact returns err with every occurrence of the secrets blanked from a
// helpdesk.Error's message (a PSA may echo a posted value).
func redact(err error, secrets ...string) error {
	var he *helpdesk.Error
	if !errors.As(err, &he) {
		return err
	}
	cp := *he
	for _, s := range secrets {
		if s != "" {
			cp.Message = strings.ReplaceAll(cp.Message, s, "<secret>")
		}
	}
	return &cp
}
