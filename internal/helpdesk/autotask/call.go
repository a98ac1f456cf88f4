package autotask

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/transport"
)

// request is one API call.
type request struct {
	op     string // metric label; a small fixed set
	method string
	path   string // relative to the API root ("Tickets/query"), or an absolute next-page URL
	body   any    // JSON body; nil sends none
}

// call sends r and decodes the answer into out. On a 401 it rediscovers
// the zone once and, when the zone moved, retries there [K].
func (c *Client) call(ctx context.Context, r request, out any) error {
	body, err := marshalBody(r.body)
	if err != nil {
		return &helpdesk.Error{Provider: helpdesk.Autotask, Op: r.op, Kind: helpdesk.ErrInvalid, Err: err}
	}
	root, err := c.apiRoot(ctx)
	if err != nil {
		return err
	}
	err = c.send(ctx, r, root, body, out)
	if errors.Is(err, helpdesk.ErrUnauthorized) {
		if moved, ok := c.zoneMoved(ctx, root); ok {
			err = c.send(ctx, r, moved, body, out)
		}
	}
	if err != nil {
		return c.explain(err)
	}
	if r.op != opThreshold && c.pace.due() {
		c.refreshThreshold(ctx)
	}
	return nil
}

func marshalBody(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode body: %w", err)
	}
	return b, nil
}

// send makes one call (with the transport's retries) against root.
func (c *Client) send(ctx context.Context, r request, root string, body []byte, out any) error {
	target, err := resolve(root, r.path)
	if err != nil {
		return &helpdesk.Error{Provider: helpdesk.Autotask, Op: r.op, Kind: helpdesk.ErrInvalid, Err: err}
	}
	build := func(ctx context.Context) (*http.Request, error) {
		if err := c.pace.wait(ctx); err != nil {
			return nil, err
		}
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, r.method, target, rd)
		if err != nil {
			return nil, err
		}
		c.authorize(req.Header, body != nil)
		impersonate(ctx, r.method, req.Header)
		return req, nil
	}
	var resp *transport.Response
	if d, ok := out.(bodyDecoder); ok {
		resp, err = c.t.DoDecode(ctx, r.op, build, d.decodeBody)
	} else {
		resp, err = c.t.DoJSON(ctx, r.op, build, out)
	}
	if err == nil && out != nil && len(bytes.TrimSpace(resp.Body)) == 0 && resp.Status != http.StatusNoContent {
		// DoJSON accepts an empty body; an answer Horizon must read cannot be.
		return &helpdesk.Error{Provider: helpdesk.Autotask, Op: r.op, Kind: helpdesk.ErrTransient,
			Status: resp.Status, Message: "empty response body"}
	}
	return err
}

// bodyDecoder is an answer that reads and checks its own body (a query
// page): a body it refuses is retried like a transient failure.
type bodyDecoder interface {
	decodeBody([]byte) error
}

// authorize sets the three credential headers [D][K].
func (c *Client) authorize(h http.Header, hasBody bool) {
	h.Set("ApiIntegrationCode", c.cfg.IntegrationCode.Reveal())
	h.Set("UserName", c.cfg.Username)
	h.Set("Secret", c.cfg.Secret.Reveal())
	h.Set("Accept", "application/json")
	if hasBody {
		h.Set("Content-Type", "application/json")
	}
}

// resolve joins a relative path to the API root. An absolute URL (a
// nextPageUrl) must stay on the root's host, so that credentials never go
// elsewhere.
func resolve(root, path string) (string, error) {
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		return root + "/" + strings.TrimPrefix(path, "/"), nil
	}
	u, err := url.Parse(path)
	if err != nil {
		return "", fmt.Errorf("next page URL: %w", err)
	}
	ru, err := url.Parse(root)
	if err != nil {
		return "", fmt.Errorf("API root: %w", err)
	}
	if !strings.EqualFold(u.Host, ru.Host) {
		return "", fmt.Errorf("next page URL points at another host (%s)", u.Host)
	}
	return path, nil
}

// getItem reads GET /{path} answering {"item":...}; {"item":null} is
// ErrNotFound [K].
func (c *Client) getItem(ctx context.Context, op, path string, out any) error {
	var resp itemResponse
	if err := c.call(ctx, request{op: op, method: http.MethodGet, path: path}, &resp); err != nil {
		return err
	}
	if len(resp.Item) == 0 || isNull(resp.Item) {
		return &helpdesk.Error{Provider: helpdesk.Autotask, Op: op, Kind: helpdesk.ErrNotFound,
			Status: http.StatusOK, Message: "no such item: " + path}
	}
	if err := json.Unmarshal(resp.Item, out); err != nil {
		return wireError(op, err)
	}
	return nil
}

// write sends a POST, PATCH or DELETE answering {"itemId": N} and returns N.
func (c *Client) write(ctx context.Context, op, method, path string, body any) (int64, error) {
	var resp itemIDResponse
	if err := c.call(ctx, request{op: op, method: method, path: path, body: body}, &resp); err != nil {
		return 0, err
	}
	if !resp.ItemID.Valid {
		return 0, wireError(op, errors.New("answer has no itemId"))
	}
	return resp.ItemID.V, nil
}

// wireError reports an answer the client could not read.
func wireError(op string, err error) error {
	return &helpdesk.Error{Provider: helpdesk.Autotask, Op: op, Kind: helpdesk.ErrInvalid,
		Message: "unexpected response", Err: err}
}
