package autotask

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// zonePrefix is zone n's API path prefix, lower-cased: zone 1 is served
// at /ATServicesRest/V1.0, later zones under /zone<n>/ (paths match any
// case [D]).
func zonePrefix(n int) string {
	if n <= 1 {
		return "/atservicesrest/v1.0"
	}
	return fmt.Sprintf("/zone%d/atservicesrest/v1.0", n)
}

func isZoneRequest(r *http.Request) bool {
	return strings.HasSuffix(strings.ToLower(r.URL.Path), "/v1.0/zoneinformation")
}

// serve answers one request: zone discovery without credentials, then
// for the API: zone, credentials, thread limit, threshold, route.
func (e *Emulator) serve(w http.ResponseWriter, r *http.Request) {
	if isZoneRequest(r) {
		e.zoneInfo(w, r)
		return
	}
	segs, status := e.apiPath(r.URL.Path)
	if status != 0 {
		writeErrors(w, status, "The requested resource was not found in this zone.")
		return
	}
	if !e.authorized(r) {
		writeErrors(w, http.StatusUnauthorized, "Unauthorized: the API user's credentials were not accepted.")
		return
	}
	release, ok := e.acquire(strings.ToLower(segs[0]))
	if !ok {
		writeErrors(w, e.set.ThreadLimitStatus, "The thread limit of concurrent requests for this integration and endpoint has been reached.")
		return
	}
	defer release()
	if e.countRequest(w, r) {
		e.route(w, r, segs)
	}
}

// apiPath strips the current zone's prefix. A path in an earlier zone
// answers 401 (the zone moved [K]); any other path 404.
func (e *Emulator) apiPath(path string) ([]string, int) {
	e.mu.Lock()
	zone := e.zone
	e.mu.Unlock()
	lower := strings.ToLower(path)
	if p := zonePrefix(zone) + "/"; strings.HasPrefix(lower, p) {
		var segs []string
		for _, s := range strings.Split(path[len(p):], "/") {
			if s != "" {
				segs = append(segs, s)
			}
		}
		if len(segs) > 0 {
			return segs, 0
		}
	}
	for z := 1; z < zone; z++ {
		if strings.HasPrefix(lower, zonePrefix(z)+"/") {
			return nil, http.StatusUnauthorized
		}
	}
	return nil, http.StatusNotFound
}

// authorized checks the three credential headers [D][K]; header names
// are case-insensitive.
func (e *Emulator) authorized(r *http.Request) bool {
	ok := func(h, want string) bool {
		return subtle.ConstantTimeCompare([]byte(r.Header.Get(h)), []byte(want)) == 1
	}
	user := strings.EqualFold(strings.TrimSpace(r.Header.Get("UserName")), e.set.Username)
	return user && ok("Secret", e.set.Secret) && ok("ApiIntegrationCode", e.set.IntegrationCode)
}

// acquire takes one of the thread-limit slots of an endpoint.
func (e *Emulator) acquire(endpoint string) (func(), bool) {
	key := e.set.IntegrationCode + "/" + endpoint
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.inflight[key] >= e.set.ThreadLimit {
		return nil, false
	}
	e.inflight[key]++
	return func() {
		e.mu.Lock()
		e.inflight[key]--
		e.mu.Unlock()
	}, true
}

// countRequest counts a request against the hourly threshold: refused at
// the threshold, slowed past half of it [D].
func (e *Emulator) countRequest(w http.ResponseWriter, r *http.Request) bool {
	now := time.Now()
	e.mu.Lock()
	used := e.usageLocked(now)
	if used >= e.set.ThresholdLimit {
		e.mu.Unlock()
		writeErrors(w, e.set.ThresholdStatus, fmt.Sprintf(
			"Request refused: the API request threshold of %d requests per 60 minutes has been exceeded.", e.set.ThresholdLimit))
		return false
	}
	e.usage = append(e.usage, now)
	slow := 2*(used+1) >= e.set.ThresholdLimit
	e.mu.Unlock()
	if slow && e.set.ThresholdLatency > 0 {
		t := time.NewTimer(e.set.ThresholdLatency)
		defer t.Stop()
		select {
		case <-r.Context().Done():
			return false
		case <-t.C:
		}
	}
	return true
}

// usageLocked prunes the window and returns its count; e.mu is held.
func (e *Emulator) usageLocked(now time.Time) int {
	cut := now.Add(-time.Hour)
	i := 0
	for i < len(e.usage) && !e.usage[i].After(cut) {
		i++
	}
	e.usage = e.usage[i:]
	return e.others + len(e.usage)
}

// zoneInfo answers GET zoneInformation?user= [D][K]: an unknown user is a
// 500 with an error body [K].
func (e *Emulator) zoneInfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, r)
		return
	}
	if !strings.EqualFold(strings.TrimSpace(r.URL.Query().Get("user")), e.set.Username) {
		writeErrors(w, http.StatusInternalServerError, "Zone information could not be determined for the user.")
		return
	}
	e.mu.Lock()
	zone := e.zone
	e.mu.Unlock()
	base := e.baseURL(r)
	root := "/ATServicesRest/"
	if zone > 1 {
		root = fmt.Sprintf("/zone%d/ATServicesRest/", zone)
	}
	if e.set.ZoneURLDoubleSlash {
		root = "/" + root
	}
	writeJSON(w, http.StatusOK, map[string]any{"zoneName": "Sandbox Zone " + strconv.Itoa(zone),
		"url": base + root, "webUrl": base + "/", "ci": 1})
}

// baseURL is Settings.PublicURL, or the request's scheme and host plus
// any path prefix stripped before the emulator (http.StripPrefix), so
// that the emulator can be mounted below a path.
func (e *Emulator) baseURL(r *http.Request) string {
	if e.set.PublicURL != "" {
		return strings.TrimRight(e.set.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	orig, _, _ := strings.Cut(r.RequestURI, "?")
	prefix := ""
	if p := r.URL.EscapedPath(); strings.HasSuffix(orig, p) {
		prefix = strings.TrimRight(orig[:len(orig)-len(p)], "/")
	}
	return scheme + "://" + r.Host + prefix
}

// apiRoot is the current zone's API root URL as clients see it.
func (e *Emulator) apiRoot(r *http.Request) string {
	e.mu.Lock()
	zone := e.zone
	e.mu.Unlock()
	if zone > 1 {
		return fmt.Sprintf("%s/zone%d/ATServicesRest/V1.0", e.baseURL(r), zone)
	}
	return e.baseURL(r) + "/ATServicesRest/V1.0"
}

// errorWriters answer injected faults in Autotask's format: 429 and 401
// with {"errors":[...]}; an injected server error is an IIS-style 500
// page, a failure of the front end rather than a business rule.
func (e *Emulator) errorWriters() sandbox.ErrorWriters {
	return sandbox.ErrorWriters{
		RateLimited: func(w http.ResponseWriter, _ time.Duration) {
			writeErrors(w, http.StatusTooManyRequests, "Request refused: too many requests; slow down.")
		},
		ServerError: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, "<html><body><h1>500 - Internal server error.</h1></body></html>")
		},
		Unauthorized: func(w http.ResponseWriter) {
			writeErrors(w, http.StatusUnauthorized, "Unauthorized: the API user's credentials were not accepted.")
		},
	}
}

// writeErrors writes Autotask's error body: {"errors":["..."]} [K].
func writeErrors(w http.ResponseWriter, status int, msgs ...string) {
	writeJSON(w, status, map[string]any{"errors": msgs})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeErrors(w, http.StatusMethodNotAllowed, fmt.Sprintf("The requested resource does not support http method '%s'.", r.Method))
}
