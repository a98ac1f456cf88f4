package autotask

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// opZone is the metric label of zone discovery.
const opZone = "zoneInformation"

// zonePath is the unauthenticated discovery endpoint [D][K].
const zonePath = "/atservicesrest/v1.0/zoneInformation"

// zoneInfo is the discovery answer [K]: url has no version and may carry
// a doubled slash.
type zoneInfo struct {
	ZoneName string  `json:"zoneName"`
	URL      string  `json:"url"`
	WebURL   string  `json:"webUrl"`
	CI       flexInt `json:"ci"`
}

// apiRoot returns the API root, discovering the zone on first use.
func (c *Client) apiRoot(ctx context.Context) (string, error) {
	c.zoneMu.Lock()
	root := c.root
	c.zoneMu.Unlock()
	if root != "" {
		return root, nil
	}
	return c.discover(ctx)
}

// zoneMoved rediscovers the zone after a 401 and reports the new root when
// it differs from old. A pinned zone never moves.
func (c *Client) zoneMoved(ctx context.Context, old string) (string, bool) {
	if c.cfg.ZoneURL != "" {
		return "", false
	}
	root, err := c.discover(ctx)
	if err != nil {
		c.log.WarnContext(ctx, "autotask zone rediscovery after 401 failed", "err", err)
		return "", false
	}
	return root, root != old
}

// discover asks zoneInformation for the API user's zone and stores it.
func (c *Client) discover(ctx context.Context) (string, error) {
	base := c.cfg.BaseURL
	if base == "" {
		base = DefaultWebservicesURL
	}
	target := strings.TrimRight(base, "/") + zonePath + "?user=" + url.QueryEscape(c.cfg.Username)
	var zi zoneInfo
	build := func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err == nil {
			req.Header.Set("Accept", "application/json")
		}
		return req, err
	}
	if _, err := c.t.DoJSON(ctx, opZone, build, &zi); err != nil {
		return "", zoneError(err)
	}
	root, err := c.zoneRoot(zi.URL)
	if err != nil {
		return "", fmt.Errorf("autotask: zone discovery: %w", wireError(opZone, err))
	}
	c.zoneMu.Lock()
	c.root, c.userKnown = root, true
	c.zoneMu.Unlock()
	return root, nil
}

// zoneError explains a failed discovery. Autotask answers an unknown or
// blank user with HTTP 500 [K]; that is a configuration error, named by
// setting and never by value.
func zoneError(err error) error {
	if helpdesk.Retryable(err) {
		return fmt.Errorf("autotask: zone discovery: %w", err)
	}
	return fmt.Errorf("autotask: zone discovery: Autotask does not know the API user; check the username setting: %w", err)
}

// zoneRoot turns a zone URL into the API root. With BaseURL set, the
// root is moved onto BaseURL's host so that every call goes there.
func (c *Client) zoneRoot(raw string) (string, error) {
	root, err := cleanZoneURL(raw)
	if err != nil || c.cfg.BaseURL == "" {
		return root, err
	}
	return rebase(root, c.cfg.BaseURL)
}

// cleanZoneURL collapses doubled slashes (seen in old discovery answers
// [K]) and appends the version segment V1.0 unless present.
func cleanZoneURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("zone URL: %w", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("zone URL %q is not an absolute http(s) URL", raw)
	}
	var segs []string
	for _, s := range strings.Split(u.Path, "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	if len(segs) == 0 || !strings.EqualFold(segs[len(segs)-1], "v1.0") {
		segs = append(segs, "V1.0")
	}
	u.Path, u.RawPath, u.RawQuery, u.Fragment = "/"+strings.Join(segs, "/"), "", "", ""
	return u.String(), nil
}

// rebase moves root onto base's scheme and host when they differ.
func rebase(root, base string) (string, error) {
	r, err := url.Parse(root)
	if err != nil {
		return "", err
	}
	b, err := url.Parse(base)
	if err != nil || b.Host == "" {
		return "", errors.New("baseURL is not an absolute URL")
	}
	r.Scheme, r.Host = b.Scheme, b.Host
	return r.String(), nil
}
