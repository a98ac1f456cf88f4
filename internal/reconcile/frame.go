package reconcile

import (
	"fmt"
	"net/http"
	neturl "net/url"
	"slices"
	"strings"

	"github.com/horizon/reconciler/internal/config"
)

// Origins the PSAs frame widgets from, by the file's settings. An
// Autotask zone's web host (wwN.autotask.net) is known only from a
// pinned zoneURL; without one every zone's host must be allowed.
var (
	connectwiseSites = map[string]string{
		"na": "https://na.myconnectwise.net", "eu": "https://eu.myconnectwise.net",
		"au": "https://au.myconnectwise.net", "staging": "https://staging.connectwisedev.com",
	}
	zohoDeskHosts = map[string]string{
		"us": "https://desk.zoho.com", "eu": "https://desk.zoho.eu", "in": "https://desk.zoho.in",
		"au": "https://desk.zoho.com.au", "jp": "https://desk.zoho.jp", "ca": "https://desk.zohocloud.ca",
		"sa": "https://desk.zoho.sa", "cn": "https://desk.zoho.com.cn",
	}
)

// anyAutotaskZone stands for every Autotask zone's web host.
const anyAutotaskZone = "https://*.autotask.net"

// PSAOrigin is the origin (scheme://host[:port]) of the PSA pages that
// embed the widgets: the ConnectWise site host, the Autotask zone's web
// host, the Zoho Desk host, the Halo base URL; a baseURL (on-premise,
// tests) wins. For Autotask without a pinned zone it is
// https://*.autotask.net: a widget must then allow every zone.
func PSAOrigin(h config.Helpdesk) string {
	switch {
	case h.ConnectWise != nil:
		if h.ConnectWise.BaseURL != "" {
			return origin(h.ConnectWise.BaseURL)
		}
		return connectwiseSites[h.ConnectWise.Site]
	case h.Autotask != nil:
		return autotaskOrigin(h.Autotask)
	case h.ZohoDesk != nil:
		if h.ZohoDesk.BaseURL != "" {
			return origin(h.ZohoDesk.BaseURL)
		}
		return zohoDeskHosts[h.ZohoDesk.DataCenter]
	case h.HaloPSA != nil:
		return origin(h.HaloPSA.BaseURL)
	}
	return ""
}

// autotaskOrigin maps webservicesN.autotask.net (the API zone) to
// wwN.autotask.net (the web UI of the same zone).
func autotaskOrigin(a *config.Autotask) string {
	if a.ZoneURL == "" {
		if a.BaseURL != "" {
			return origin(a.BaseURL)
		}
		return anyAutotaskZone
	}
	u, err := neturl.Parse(a.ZoneURL)
	if err != nil {
		return anyAutotaskZone
	}
	host := strings.ToLower(u.Hostname())
	if n, ok := strings.CutPrefix(host, "webservices"); ok {
		if zone, rest, ok := strings.Cut(n, "."); ok && rest == "autotask.net" {
			return "https://ww" + zone + ".autotask.net"
		}
	}
	return origin(a.ZoneURL)
}

func origin(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host)
}

// frameRefusal says why a browser would refuse to show the page that
// answered with h, loaded from page, in a frame on a psa-origin page; ""
// when it would show it. CSP frame-ancestors, where present, decides and
// X-Frame-Options is ignored, as browsers do; every policy must allow.
func frameRefusal(h http.Header, page *neturl.URL, psa string) string {
	pageOrigin := page.Scheme + "://" + strings.ToLower(page.Host)
	var found bool
	for _, policy := range cspPolicies(h) {
		sources, ok := frameAncestors(policy)
		if !ok {
			continue
		}
		found = true
		if !ancestorsAllow(sources, psa, pageOrigin) {
			return "Content-Security-Policy frame-ancestors " + orNone(sources)
		}
	}
	if found {
		return ""
	}
	return xfoRefusal(h.Values("X-Frame-Options"), psa, pageOrigin)
}

// cspPolicies returns every enforced policy: several headers, or several
// policies joined by commas in one.
func cspPolicies(h http.Header) []string {
	var out []string
	for _, v := range h.Values("Content-Security-Policy") {
		out = append(out, strings.Split(v, ",")...)
	}
	return out
}

// frameAncestors returns the source list of a policy's frame-ancestors
// directive; false when the policy has none.
func frameAncestors(policy string) ([]string, bool) {
	for _, d := range strings.Split(policy, ";") {
		f := strings.Fields(d)
		if len(f) > 0 && strings.EqualFold(f[0], "frame-ancestors") {
			return f[1:], true
		}
	}
	return nil, false
}

func orNone(sources []string) string {
	if len(sources) == 0 {
		return "(empty: no ancestor allowed)"
	}
	return strings.Join(sources, " ")
}

// ancestorsAllow reports whether a frame-ancestors source list matches
// the PSA's origin.
func ancestorsAllow(sources []string, psa, pageOrigin string) bool {
	return slices.ContainsFunc(sources, func(s string) bool { return sourceMatches(s, psa, pageOrigin) })
}

func sourceMatches(src, psa, pageOrigin string) bool {
	psaScheme, psaHost, _ := strings.Cut(psa, "://")
	switch s := strings.ToLower(src); {
	case s == "'none'":
		return false
	case s == "*":
		return psaScheme == "http" || psaScheme == "https"
	case s == "'self'":
		return psa == pageOrigin
	case strings.HasSuffix(s, ":") && !strings.Contains(s, "/"):
		return schemeMatches(strings.TrimSuffix(s, ":"), psaScheme)
	case strings.HasPrefix(s, "'"):
		return false // nonces, hashes, keywords frame-ancestors ignores
	default:
		return hostSourceMatches(s, psaScheme, psaHost, pageOrigin)
	}
}

// schemeMatches: a source's http also matches https (CSP's upgrade rule).
func schemeMatches(src, scheme string) bool {
	return src == scheme || (src == "http" && scheme == "https")
}

// hostSourceMatches matches [scheme://]host[:port][/path] (the path is
// ignored for ancestors) against the PSA's scheme and host[:port]. A PSA
// host of the form *.suffix (every Autotask zone) matches only a wildcard
// source covering it.
func hostSourceMatches(src, psaScheme, psaHost, pageOrigin string) bool {
	scheme, rest, ok := strings.Cut(src, "://")
	if !ok {
		scheme, rest = strings.SplitN(pageOrigin, "://", 2)[0], src
	}
	if !schemeMatches(scheme, psaScheme) {
		return false
	}
	rest, _, _ = strings.Cut(rest, "/")
	srcHost, srcPort, hasPort := strings.Cut(rest, ":")
	host, port := splitHostPort(psaHost, psaScheme)
	if hasPort && srcPort != "*" && srcPort != port {
		return false
	}
	if !hasPort && port != defaultPort(psaScheme) {
		return false
	}
	if suffix, ok := strings.CutPrefix(srcHost, "*."); ok {
		if psaSuffix, ok := strings.CutPrefix(host, "*."); ok {
			return psaSuffix == suffix || strings.HasSuffix(psaSuffix, "."+suffix)
		}
		return strings.HasSuffix(host, "."+suffix)
	}
	return srcHost == host
}

func splitHostPort(hostport, scheme string) (host, port string) {
	if h, p, ok := strings.Cut(hostport, ":"); ok {
		return h, p
	}
	return hostport, defaultPort(scheme)
}

func defaultPort(scheme string) string {
	if scheme == "http" {
		return "80"
	}
	return "443"
}

// xfoRefusal applies X-Frame-Options as browsers do: DENY refuses,
// SAMEORIGIN allows only the page's own origin, ALLOW-FROM is not
// supported (ignored), and conflicting values refuse.
func xfoRefusal(values []string, psa, pageOrigin string) string {
	seen := map[string]bool{}
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			p := strings.ToUpper(strings.TrimSpace(part))
			if p == "DENY" || p == "SAMEORIGIN" {
				seen[p] = true
			}
		}
	}
	switch {
	case len(seen) > 1:
		return "X-Frame-Options " + strings.Join(values, ", ") + " (conflicting values)"
	case seen["DENY"]:
		return "X-Frame-Options DENY"
	case seen["SAMEORIGIN"] && psa != pageOrigin:
		return "X-Frame-Options SAMEORIGIN"
	}
	return ""
}

// frameError is the cause a widget check reports for a refusal.
func frameError(psa, refusal string) error {
	return fmt.Errorf("refuses to be framed by %s: %s", psa, refusal)
}
