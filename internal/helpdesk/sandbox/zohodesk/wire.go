package zohodesk

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// maxFrom is Zoho's ceiling on the from offset.
const maxFrom = 4999

// wireTime is Zoho's time layout: ISO-8601 UTC with milliseconds.
const wireTime = "2006-01-02T15:04:05.000Z"

func isoTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(wireTime)
}

// apiError is an error answer in Zoho's format.
type apiError struct {
	status int
	code   string
	msg    string
	fields []fieldError
}

type fieldError struct {
	FieldName    string `json:"fieldName"`
	ErrorType    string `json:"errorType"`
	ErrorMessage string `json:"errorMessage"`
}

func unprocessable(msg string) *apiError {
	return &apiError{status: http.StatusUnprocessableEntity, code: "UNPROCESSABLE_ENTITY", msg: msg}
}

func invalidData(field, typ, msg string) *apiError {
	return &apiError{status: http.StatusUnprocessableEntity, code: "INVALID_DATA", msg: "An invalid value was passed.",
		fields: []fieldError{{FieldName: "/" + field, ErrorType: typ, ErrorMessage: msg}}}
}

func notFound() *apiError {
	return &apiError{status: http.StatusNotFound, code: "URL_NOT_FOUND", msg: "The URL you requested could not be found."}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"errorCode": code, "message": msg})
}

func writeAPIError(w http.ResponseWriter, e *apiError) {
	body := map[string]any{"errorCode": e.code, "message": e.msg}
	if len(e.fields) > 0 {
		body["errors"] = e.fields
	}
	writeJSON(w, e.status, body)
}

// writeList answers a list: 204 with no body when empty.
func writeList(w http.ResponseWriter, data []map[string]any, count int, withCount bool) {
	if len(data) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	body := map[string]any{"data": data}
	if withCount {
		body["count"] = count
	}
	writeJSON(w, http.StatusOK, body)
}

// checkParams rejects query parameters outside allowed (orgId is always
// allowed: Zoho takes it as header or parameter).
func checkParams(q url.Values, allowed ...string) *apiError {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "orgId" {
			continue
		}
		ok := false
		for _, a := range allowed {
			ok = ok || a == k
		}
		if !ok {
			return unprocessable(fmt.Sprintf("An extra query parameter '%s' is present.", k))
		}
		if len(q[k]) > 1 {
			return unprocessable(fmt.Sprintf("The query parameter '%s' is repeated.", k))
		}
	}
	return nil
}

// paging reads from (a 0-based offset, default 0) and limit (default
// 10), rejecting values outside Zoho's ranges with Zoho's messages.
func paging(q url.Values, maxLimit int) (from, limit int, e *apiError) {
	limit, e = intParam(q, "limit", 10)
	if e != nil {
		return 0, 0, e
	}
	if limit < 1 || limit > maxLimit {
		return 0, 0, unprocessable(fmt.Sprintf("The value passed for field 'limit' exceeds the range of '1-%d'.", maxLimit))
	}
	from, e = intParam(q, "from", 0)
	if e != nil {
		return 0, 0, e
	}
	if from < 0 || from > maxFrom {
		return 0, 0, unprocessable(fmt.Sprintf("The value passed for field 'from' exceeds the range of '0-%d'.", maxFrom))
	}
	return from, limit, nil
}

func intParam(q url.Values, name string, def int) (int, *apiError) {
	v := q.Get(name)
	if v == "" && !q.Has(name) {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, unprocessable(fmt.Sprintf("The value passed for field '%s' is invalid.", name))
	}
	return n, nil
}

var isoPattern = regexp.MustCompile(`^(19|20)\d\d-(0[1-9]|1[012])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,3})?Z$`)

// parseISO reads a time in Zoho's request format.
func parseISO(s string) (time.Time, bool) {
	if !isoPattern.MatchString(s) {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t.UTC(), err == nil
}

// timeRange is an inclusive [from, to] filter; the zero value matches all.
type timeRange struct {
	set      bool
	from, to time.Time
}

func (r timeRange) has(t time.Time) bool {
	return !r.set || (!t.Before(r.from) && !t.After(r.to))
}

// rangeParam reads "from,to" ISO times.
func rangeParam(q url.Values, name string) (timeRange, *apiError) {
	v := q.Get(name)
	if v == "" && !q.Has(name) {
		return timeRange{}, nil
	}
	bad := unprocessable(fmt.Sprintf("The value passed for field '%s' is invalid.", name))
	a, b, ok := strings.Cut(v, ",")
	if !ok {
		return timeRange{}, bad
	}
	from, ok1 := parseISO(a)
	to, ok2 := parseISO(b)
	if !ok1 || !ok2 || to.Before(from) {
		return timeRange{}, bad
	}
	return timeRange{set: true, from: from, to: to}, nil
}

// sortParam reads sortBy against allowed keys; desc is the '-' prefix.
func sortParam(q url.Values, def string, allowed ...string) (key string, desc bool, e *apiError) {
	v := q.Get("sortBy")
	if v == "" {
		v = def
	}
	key, desc = strings.TrimPrefix(v, "-"), strings.HasPrefix(v, "-")
	for _, a := range allowed {
		if a == key {
			return key, desc, nil
		}
	}
	return "", false, unprocessable("The value passed for field 'sortBy' is invalid.")
}

// parseWireID reads a numeric wire id into a World id.
func parseWireID(s string) (int64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= idBase {
		return 0, false
	}
	return n - idBase, true
}

// body is a decoded JSON object body with strict field checking.
type body map[string]json.RawMessage

// readBody decodes a JSON object and rejects fields outside allowed.
func readBody(r *http.Request, allowed ...string) (body, *apiError) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, unprocessable("The request body could not be read.")
	}
	var b body
	if err := json.Unmarshal(raw, &b); err != nil || b == nil {
		return nil, &apiError{status: http.StatusBadRequest, code: "INVALID_DATA", msg: "The JSON body is malformed."}
	}
	keys := make([]string, 0, len(b))
	for k := range b {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		known := false
		for _, a := range allowed {
			known = known || a == k
		}
		if !known {
			return nil, invalidData(k, "invalid", "unknown field")
		}
	}
	return b, nil
}

func (b body) has(k string) bool { _, ok := b[k]; return ok }

func (b body) isNull(k string) bool { return string(b[k]) == "null" }

// str reads a string field; ok false when present but not a string.
func (b body) str(k string) (string, *apiError) {
	v, present := b[k]
	if !present || string(v) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", invalidData(k, "invalid", "must be a string")
	}
	return s, nil
}

// id reads an id sent as a numeric string or number.
func (b body) id(k string) (int64, bool, *apiError) {
	v, present := b[k]
	if !present || string(v) == "null" {
		return 0, false, nil
	}
	s := strings.Trim(string(v), `"`)
	n, ok := parseWireID(s)
	if !ok {
		return 0, true, invalidData(k, "invalid", "not a valid id")
	}
	return n, true, nil
}

func (b body) boolean(k string) (bool, bool, *apiError) {
	v, present := b[k]
	if !present {
		return false, false, nil
	}
	var x bool
	if json.Unmarshal(v, &x) != nil {
		return false, true, invalidData(k, "invalid", "must be a boolean")
	}
	return x, true, nil
}

// count reads an int sent as a number or numeric string.
func (b body) count(k string, max int64) (int64, *apiError) {
	v, present := b[k]
	if !present || string(v) == "null" {
		return 0, nil
	}
	n, err := strconv.ParseInt(strings.Trim(string(v), `"`), 10, 64)
	if err != nil || n < 0 || n > max {
		return 0, invalidData(k, "invalid", fmt.Sprintf("must be between 0 and %d", max))
	}
	return n, nil
}
