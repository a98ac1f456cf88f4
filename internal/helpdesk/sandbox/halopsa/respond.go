package halopsa

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// Halo's error bodies vary by layer; the emulator uses each shape where
// that layer would answer:
//   - 401 from the API's auth filter: {"Message": "..."} (ASP.NET).
//   - 403 and 404 from the application: {"ClassName", "Message"} (.NET
//     exception).
//   - 400 validation: field-keyed {"[0].field": "..."}; a body that is not
//     an array: {"resultCode", "errorMessage"}.
//   - 429: plain text; 500: {"ClassName", "Message"}.
//   - Token endpoint: {"error": "invalid_client"} and friends.

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"ClassName":"System.Exception","Message":"serialisation failed"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func writeMessage(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"Message": msg})
}

func writeException(w http.ResponseWriter, status int, class, msg string) {
	writeJSON(w, status, map[string]string{"ClassName": class, "Message": msg})
}

func writeUnauthorized(w http.ResponseWriter) {
	writeMessage(w, http.StatusUnauthorized, "Authorization has been denied for this request.")
}

func writeForbidden(w http.ResponseWriter) {
	writeException(w, http.StatusForbidden, "System.UnauthorizedAccessException",
		"The agent this application acts as does not have permission to perform this action.")
}

func writeNotFound(w http.ResponseWriter, msg string) {
	writeException(w, http.StatusNotFound, "System.Collections.Generic.KeyNotFoundException", msg)
}

func writeResult(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"resultCode": 1, "errorMessage": msg})
}

// fieldErrors collects validation errors keyed by field, as Halo's 400s
// are.
type fieldErrors map[string]string

func (e fieldErrors) add(field, msg string) {
	if _, ok := e[field]; !ok {
		e[field] = msg
	}
}

func (e fieldErrors) write(w http.ResponseWriter) {
	writeJSON(w, http.StatusBadRequest, map[string]string(e))
}

func faultWriters() sandbox.ErrorWriters {
	return sandbox.ErrorWriters{
		RateLimited: func(w http.ResponseWriter, _ time.Duration) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte("Too Many Requests"))
		},
		ServerError: func(w http.ResponseWriter) {
			writeException(w, http.StatusInternalServerError, "System.Exception", "An error has occurred.")
		},
		Unauthorized: writeUnauthorized,
	}
}

// timeText renders an entity datetime: UTC with milliseconds and a Z, or
// with no zone when Settings.OmitTimeZone.
func (s *Server) timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	if s.set.OmitTimeZone {
		return t.UTC().Format("2006-01-02T15:04:05.000")
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// query reads typed query parameters (names case-insensitive, as ASP.NET
// binds them) and collects errors for malformed values.
type query struct {
	v    url.Values
	errs fieldErrors
}

func newQuery(r *http.Request) *query {
	v := url.Values{}
	for k, vals := range r.URL.Query() {
		v[strings.ToLower(k)] = append(v[strings.ToLower(k)], vals...)
	}
	return &query{v: v, errs: fieldErrors{}}
}

func (q *query) has(key string) bool { return q.v.Get(key) != "" }

func (q *query) str(key string) string { return q.v.Get(key) }

func (q *query) boolean(key string, def bool) bool {
	s := q.v.Get(key)
	if s == "" {
		return def
	}
	b, err := strconv.ParseBool(strings.ToLower(s))
	if err != nil {
		q.errs.add(key, "The value '"+s+"' is not valid for Boolean.")
		return def
	}
	return b
}

func (q *query) integer(key string, def int64) int64 {
	s := q.v.Get(key)
	if s == "" {
		return def
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		q.errs.add(key, "The value '"+s+"' is not valid for Int32.")
		return def
	}
	return n
}

// when reads a date filter: ISO-8601 with or without a zone (no zone
// means UTC), or a plain date.
func (q *query) when(key string) time.Time {
	s := q.v.Get(key)
	if s == "" {
		return time.Time{}
	}
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC()
		}
	}
	q.errs.add(key, "The value '"+s+"' is not a valid date.")
	return time.Time{}
}

// paging is a list request's paging: pageinate=true&page_size&page_no.
type paging struct {
	on     bool
	asked  int // page_size as asked
	size   int // page_size served (capped)
	no     int
	count  int // count=N without paging (0: all)
	offset int
}

func (s *Server) paging(q *query) paging {
	p := paging{on: q.boolean("pageinate", false), no: 1}
	p.asked = int(q.integer("page_size", int64(s.set.DefaultPageSize)))
	p.no = int(q.integer("page_no", 1))
	p.count = int(q.integer("count", 0))
	if p.asked < 1 {
		q.errs.add("page_size", "page_size must be at least 1.")
	}
	if p.no < 1 {
		q.errs.add("page_no", "page_no must be at least 1.")
	}
	if p.count < 0 {
		q.errs.add("count", "count must not be negative.")
	}
	p.size = min(max(p.asked, 1), s.set.MaxPageSize)
	p.offset = (max(p.no, 1) - 1) * p.size
	if !p.on {
		p.offset, p.size = 0, p.count
	}
	return p
}

// envelope is the list answer: {"page_no","page_size","record_count",key}
// when paging, {"record_count",key} otherwise.
func (s *Server) envelope(p paging, key string, total int, records any) map[string]any {
	out := map[string]any{"record_count": total, key: records}
	if p.on {
		out["page_no"] = p.no
		out["page_size"] = p.size
		if s.set.ReportRequestedPageSize {
			out["page_size"] = p.asked
		}
	}
	return out
}
