package store

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Opener opens a backend from a database URL.
type Opener func(ctx context.Context, url string) (Store, error)

var (
	mu      sync.Mutex
	openers = map[string]Opener{}
)

// Register makes a backend available to Open for URLs with the given
// scheme ("sqlite", "postgres"). Backends call it from init.
func Register(scheme string, o Opener) {
	mu.Lock()
	defer mu.Unlock()
	openers[scheme] = o
}

// DefaultURL is the database used when HORIZON_DATABASE_URL is unset.
const DefaultURL = "sqlite:horizon.db"

// Open opens the store a database URL names and applies migrations:
// "sqlite:PATH" (or "" for DefaultURL), "postgres://..." or
// "postgresql://...".
func Open(ctx context.Context, url string) (Store, error) {
	if url == "" {
		url = DefaultURL
	}
	scheme, _, ok := strings.Cut(url, ":")
	if !ok {
		return nil, fmt.Errorf("store: database URL %q has no scheme: use sqlite:PATH or postgres://…", Redact(url))
	}
	if scheme == "postgresql" {
		scheme = "postgres"
	}
	mu.Lock()
	o := openers[scheme]
	mu.Unlock()
	if o == nil {
		return nil, fmt.Errorf("store: unknown database scheme %q (known: %s)", scheme, strings.Join(schemes(), ", "))
	}
	return o(ctx, url)
}

func schemes() []string {
	mu.Lock()
	defer mu.Unlock()
	var s []string
	for k := range openers {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// Redact hides every credential a database URL may carry, for logs and
// errors: the password of postgres://user:pass@host, password-like query
// parameters (password, sslpassword, sslkey), and the value of
// password=... in a keyword/value connection string.
func Redact(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" && (u.User != nil || u.RawQuery != "") {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		q := u.Query()
		for k := range q {
			if sensitiveParam(k) {
				q.Set(k, "xxxxx")
			}
		}
		u.RawQuery = q.Encode()
		return strings.ReplaceAll(u.String(), "xxxxx", "<secret>")
	}
	raw = userinfoPassword.ReplaceAllString(raw, "${1}<secret>@") // a URL url.Parse refused
	return keywordPassword.ReplaceAllString(raw, "${1}<secret>")
}

// userinfoPassword matches the password of scheme://user:password@host.
var userinfoPassword = regexp.MustCompile(`(://[^:/@\s]*:)[^@\s]*@`)

func sensitiveParam(k string) bool {
	k = strings.ToLower(k)
	return k == "password" || k == "sslpassword" || k == "sslkey" || k == "passfile"
}

// keywordPassword matches password=... in "host=db password=x" strings,
// quoted or not.
var keywordPassword = regexp.MustCompile(`(?i)((?:^|\s)(?:password|sslpassword)\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)
