package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// BodyFault is a way to corrupt a successful answer's body.
type BodyFault string

// Body faults. Each answers 200 with the emulator's own headers.
const (
	// BodyEmpty sends no body at all.
	BodyEmpty BodyFault = "empty"
	// BodyNull sends the JSON literal null.
	BodyNull BodyFault = "null"
	// BodyTruncated sends the first half of the JSON, with a
	// Content-Length that matches it (a complete HTTP answer whose JSON is
	// cut, unlike FaultSettings.TruncateRate's dropped connection).
	BodyTruncated BodyFault = "truncated"
	// BodyHTML sends a proxy's HTML error page.
	BodyHTML BodyFault = "html"
	// BodyOversized pads the JSON with Size bytes of whitespace: still
	// valid, but large.
	BodyOversized BodyFault = "oversized"
	// BodyBigField sets Field (default "summary") of the page's record
	// number Record to a string of Size bytes.
	BodyBigField BodyFault = "bigfield"
	// BodyWrongType sends Field (default "id") of record number Record
	// with the wrong JSON type: a number or boolean as a string, a string
	// as an object.
	BodyWrongType BodyFault = "wrongtype"
)

var bodyFaults = []BodyFault{BodyEmpty, BodyNull, BodyTruncated, BodyHTML, BodyOversized, BodyBigField, BodyWrongType}

// PageFault corrupts chosen answers of one list endpoint, for every
// emulator alike (they all serve through Faults.Wrap).
type PageFault struct {
	// Path selects requests by the end of their URL path, compared
	// case-insensitively: "/service/tickets" (ConnectWise),
	// "/Tickets/query*" (Autotask; a trailing * also matches whatever
	// follows, such as the /next of next-page URLs).
	Path string
	// Page is which answer to Path is corrupted first: 1 for the first
	// request made to it (retries count as requests).
	Page int
	// Times is how many answers from Page on are corrupted; 0 corrupts
	// every one from Page on (a PSA that keeps failing, so that retries
	// are spent), 1 only that one (a retry gets the real page).
	Times int
	Body  BodyFault
	// Size is the size in bytes for BodyOversized and BodyBigField.
	Size int
	// Field and Record choose the record field BodyBigField and
	// BodyWrongType change (Record is 0-based within the page).
	Field  string
	Record int
}

// ParsePageFault reads a page fault written as comma-separated key=value
// pairs: "path=/service/tickets,page=3,body=null[,times=1][,size=N]
// [,field=F][,record=N]" (the form the sandbox command's --page-fault
// takes).
func ParsePageFault(s string) (PageFault, error) {
	pf := PageFault{Page: 1}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return pf, fmt.Errorf("page fault %q: %q is not key=value", s, kv)
		}
		var err error
		switch strings.ToLower(k) {
		case "path":
			pf.Path = v
		case "page":
			pf.Page, err = strconv.Atoi(v)
		case "times":
			pf.Times, err = strconv.Atoi(v)
		case "size":
			pf.Size, err = strconv.Atoi(v)
		case "record":
			pf.Record, err = strconv.Atoi(v)
		case "field":
			pf.Field = v
		case "body":
			pf.Body = BodyFault(strings.ToLower(v))
		default:
			return pf, fmt.Errorf("page fault %q: unknown key %q (want path, page, times, body, size, field, record)", s, k)
		}
		if err != nil {
			return pf, fmt.Errorf("page fault %q: %s=%q is not a number", s, k, v)
		}
	}
	return pf, pf.validate()
}

func (pf PageFault) validate() error {
	var bodies []string
	for _, b := range bodyFaults {
		bodies = append(bodies, string(b))
	}
	switch {
	case pf.Path == "":
		return fmt.Errorf("page fault: path is required")
	case pf.Page < 1 || pf.Times < 0 || pf.Record < 0 || pf.Size < 0:
		return fmt.Errorf("page fault on %s: page must be 1 or more; times, size and record 0 or more", pf.Path)
	case !strings.Contains(" "+strings.Join(bodies, " ")+" ", " "+string(pf.Body)+" "):
		return fmt.Errorf("page fault on %s: body %q: want one of %s", pf.Path, pf.Body, strings.Join(bodies, ", "))
	case (pf.Body == BodyOversized || pf.Body == BodyBigField) && pf.Size == 0:
		return fmt.Errorf("page fault on %s: body %s needs size=BYTES", pf.Path, pf.Body)
	}
	return nil
}

// matches reports whether a request path is one pf selects.
func (pf PageFault) matches(path string) bool {
	p := strings.ToLower(strings.TrimRight(path, "/"))
	pat := strings.ToLower(pf.Path)
	if prefix, ok := strings.CutSuffix(pat, "*"); ok {
		return strings.Contains(p, prefix)
	}
	return strings.HasSuffix(p, pat)
}

// pageFault returns the page fault, if any, for a request to path, and
// counts the request.
func (f *Faults) pageFault(path string) (PageFault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, pf := range f.s.Pages {
		if !pf.matches(path) {
			continue
		}
		if f.pageSeen == nil {
			f.pageSeen = map[int]int{}
		}
		f.pageSeen[i]++
		n := f.pageSeen[i]
		if n >= pf.Page && (pf.Times == 0 || n < pf.Page+pf.Times) {
			return pf, true
		}
	}
	return PageFault{}, false
}

// writeCorrupted sends the recorded answer with pf applied; answers that
// are not a success pass unchanged.
func writeCorrupted(w http.ResponseWriter, rec *recorder, pf PageFault) {
	body := rec.buf.Bytes()
	for k, v := range rec.h {
		w.Header()[k] = v
	}
	if rec.status/100 == 2 {
		body = corrupt(w.Header(), body, pf)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.status)
	w.Write(body)
}

func corrupt(h http.Header, body []byte, pf PageFault) []byte {
	switch pf.Body {
	case BodyEmpty:
		return nil
	case BodyNull:
		return []byte("null")
	case BodyTruncated:
		return body[:len(body)/2]
	case BodyHTML:
		h.Set("Content-Type", "text/html")
		return []byte("<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>")
	case BodyOversized:
		if len(body) == 0 {
			return body
		}
		out := make([]byte, 0, len(body)+pf.Size)
		out = append(out, body[0])
		out = append(out, bytes.Repeat([]byte(" "), pf.Size)...)
		return append(out, body[1:]...)
	}
	var doc any
	if json.Unmarshal(body, &doc) != nil {
		return body
	}
	recs := records(doc)
	if pf.Record >= len(recs) {
		return body
	}
	r := recs[pf.Record]
	switch pf.Body {
	case BodyBigField:
		r[orDefault(pf.Field, "summary")] = strings.Repeat("x", pf.Size)
	case BodyWrongType:
		field := orDefault(pf.Field, "id")
		switch v := r[field].(type) {
		case string:
			r[field] = map[string]any{"value": v}
		default:
			r[field] = fmt.Sprint(v)
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return body
	}
	return out
}

// records finds a page's records: a top-level array, or the first (by
// key) array of objects in a top-level object (Autotask "items", Zoho
// "data", Halo "tickets").
func records(doc any) []map[string]any {
	objects := func(v any) []map[string]any {
		arr, _ := v.([]any)
		var out []map[string]any
		for _, it := range arr {
			if m, ok := it.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	if _, ok := doc.([]any); ok {
		return objects(doc)
	}
	m, _ := doc.(map[string]any)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if recs := objects(m[k]); len(recs) > 0 {
			return recs
		}
	}
	return nil
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}
