package connectwise

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// cloudSites maps a region to its API host and its UI (login) host.
var cloudSites = map[string][2]string{
	"na":      {"api-na.myconnectwise.net", "na.myconnectwise.net"},
	"eu":      {"api-eu.myconnectwise.net", "eu.myconnectwise.net"},
	"au":      {"api-au.myconnectwise.net", "au.myconnectwise.net"},
	"staging": {"api-staging.connectwisedev.com", "staging.connectwisedev.com"},
}

// hosts returns the API and site origins (scheme://host[/prefix]) and,
// when it is already known, the API root.
func hosts(cfg Config) (api, site, root string, err error) {
	if cfg.BaseURL != "" {
		return baseHosts(cfg)
	}
	site = strings.ToLower(strings.TrimSpace(cfg.Site))
	if h, ok := cloudSites[site]; ok {
		api, site = "https://"+h[0], "https://"+h[1]
	} else if strings.Contains(site, ".") && !strings.ContainsAny(site, "/:@?#") {
		api, site = "https://"+site, "https://"+site // on-premise host
	} else {
		return "", "", "", fmt.Errorf("connectwise: config: unknown site %q (want na, eu, au or staging)", cfg.Site)
	}
	if cfg.Codebase != "" {
		root = api + "/" + normCodebase(cfg.Codebase) + "apis/3.0"
	}
	return api, site, root, nil
}

func baseHosts(cfg Config) (api, site, root string, err error) {
	u, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", "", "", fmt.Errorf("connectwise: config: baseURL must be an absolute http(s) URL")
	}
	if u.User != nil || u.RawQuery != "" {
		return "", "", "", fmt.Errorf("connectwise: config: baseURL must not carry credentials or a query")
	}
	origin := u.Scheme + "://" + u.Host
	if strings.HasSuffix(u.Path, "/apis/3.0") {
		return origin, origin, origin + u.Path, nil
	}
	prefix := origin + u.Path
	if cfg.Codebase != "" {
		root = prefix + "/" + normCodebase(cfg.Codebase) + "apis/3.0"
	}
	return prefix, prefix, root, nil
}

// normCodebase makes a codebase end in exactly one slash, without a
// leading one.
func normCodebase(cb string) string {
	return strings.Trim(strings.TrimSpace(cb), "/") + "/"
}

// companyInfo is the answer of GET /login/companyinfo/{companyId}.
type companyInfo struct {
	CompanyName string `json:"CompanyName"`
	Codebase    string `json:"Codebase"`
	VersionCode string `json:"VersionCode"`
	IsCloud     any    `json:"IsCloud"` // "True"/"False" as a string
}

// root returns the API root, discovering the codebase once. Discovery
// failures fall back to DefaultCodebase with a warning, except when ctx
// ended, which is returned.
func (c *Client) root(ctx context.Context) (string, error) {
	c.rootMu.Lock()
	defer c.rootMu.Unlock()
	if c.apiRoot != "" {
		return c.apiRoot, nil
	}
	cb, err := c.discover(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("discover codebase: %w", ctx.Err())
		}
		c.log.WarnContext(ctx, "connectwise codebase discovery failed; using "+DefaultCodebase,
			"provider", helpdesk.ConnectWise, "err", err)
		cb = DefaultCodebase
	}
	c.apiRoot = c.apiHost + "/" + cb + "apis/3.0"
	return c.apiRoot, nil
}

// Codebase returns the codebase in use, discovering it if needed.
func (c *Client) Codebase(ctx context.Context) (string, error) {
	root, err := c.root(ctx)
	if err != nil {
		return "", wrapErr("codebase", err)
	}
	root = strings.TrimSuffix(root, "apis/3.0")
	return root[strings.LastIndex(strings.TrimSuffix(root, "/"), "/")+1:], nil
}

func (c *Client) discover(ctx context.Context) (string, error) {
	u := c.siteHost + "/login/companyinfo/" + url.PathEscape(c.cfg.CompanyID)
	var info companyInfo
	build := func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err == nil {
			req.Header.Set("Accept", "application/json")
		}
		return req, err
	}
	if _, err := c.t.DoJSON(ctx, "companyinfo", build, &info); err != nil {
		return "", err
	}
	cb := normCodebase(info.Codebase)
	if cb == "/" || strings.ContainsAny(cb[:len(cb)-1], "/?#\\ ") {
		return "", errors.New("companyinfo: no usable Codebase in the answer")
	}
	return cb, nil
}
