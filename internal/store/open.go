package store

import (
	"context"
	"fmt"
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
		return nil, fmt.Errorf("store: database URL %q has no scheme: use sqlite:PATH or postgres://…", redact(url))
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

// redact hides a password in a database URL for error messages.
func redact(url string) string {
	at := strings.LastIndex(url, "@")
	sep := strings.Index(url, "://")
	if at < 0 || sep < 0 || at < sep {
		return url
	}
	cred := url[sep+3 : at]
	if user, _, ok := strings.Cut(cred, ":"); ok {
		return url[:sep+3] + user + ":<secret>" + url[at:]
	}
	return url
}

// Redact hides a password in a database URL, for logs and errors.
func Redact(url string) string { return redact(url) }
