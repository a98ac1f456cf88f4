package helpdesk

import (
	"net/url"
	"strings"
)

const redacted = "<secret>"

// RedactURL hides every secret a webhook URL may carry: the password of
// its user info, the values of token-like query parameters (token, secret,
// key, signature, auth, ...), path segments after /callbacks/{provider}
// (Halo and Zoho Desk path tokens), and any occurrence of the given
// secrets. The result is for display only.
func RedactURL(raw string, secrets ...Secret) string {
	out := raw
	if u, err := url.Parse(raw); err == nil {
		out = redactParsed(u)
	}
	for _, s := range secrets {
		if v := s.Reveal(); len(v) >= 4 {
			out = strings.ReplaceAll(out, v, redacted)
			out = strings.ReplaceAll(out, url.QueryEscape(v), redacted)
			out = strings.ReplaceAll(out, url.PathEscape(v), redacted)
		}
	}
	return out
}

// placeholder survives url.URL.String's escaping and becomes "<secret>".
const placeholder = "HORIZONREDACTED"

func redactParsed(u *url.URL) string {
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), placeholder)
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k, vs := range q {
			if SensitiveParam(k) {
				for i := range vs {
					vs[i] = placeholder
				}
			}
		}
		u.RawQuery = q.Encode()
	}
	u.Path, u.RawPath = redactPath(u.Path), ""
	return strings.ReplaceAll(u.String(), placeholder, redacted)
}

// redactPath replaces the segments after "callbacks/<provider>".
func redactPath(p string) string {
	segs := strings.Split(p, "/")
	for i := 0; i+2 < len(segs); i++ {
		if segs[i] == "callbacks" {
			for j := i + 2; j < len(segs); j++ {
				if segs[j] != "" {
					segs[j] = placeholder
				}
			}
			break
		}
	}
	return strings.Join(segs, "/")
}

// SensitiveParam reports whether a query parameter name looks like it
// carries a credential.
func SensitiveParam(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"token", "secret", "key", "sig", "auth", "pass", "code", "credential"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}
