package halopsa

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// maxBody bounds a POST body.
const maxBody = 4 << 20

// item is one object of a POST array, with its fields by lower-cased
// name (ASP.NET binds JSON properties case-insensitively). Type errors
// are collected in errs under "[i].field".
type item struct {
	idx  int
	m    map[string]json.RawMessage
	errs fieldErrors
}

// readItems reads a POST body, which must be a non-empty JSON array of
// objects. Unknown fields are errors unless Settings.AcceptUnknownFields.
// It writes the 400 itself and returns false when the body is unusable.
func (s *Server) readItems(w http.ResponseWriter, r *http.Request, allowed map[string]bool) ([]*item, fieldErrors, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	body = bytes.TrimSpace(body)
	var raws []json.RawMessage
	if err != nil || len(body) == 0 || body[0] != '[' || json.Unmarshal(body, &raws) != nil {
		writeResult(w, http.StatusBadRequest, "The request body must be a JSON array of objects.")
		return nil, nil, false
	}
	if len(raws) == 0 {
		writeResult(w, http.StatusBadRequest, "The request body must not be an empty array.")
		return nil, nil, false
	}
	errs := fieldErrors{}
	items := make([]*item, 0, len(raws))
	for i, raw := range raws {
		it := &item{idx: i, m: map[string]json.RawMessage{}, errs: errs}
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil || m == nil {
			errs.add(fmt.Sprintf("[%d]", i), "Each element must be an object.")
			continue
		}
		for k, v := range m {
			k = strings.ToLower(k)
			it.m[k] = v
			if !allowed[k] && !s.set.AcceptUnknownFields {
				it.fail(k, "Unknown field.")
			}
		}
		items = append(items, it)
	}
	return items, errs, true
}

func (it *item) fail(field, msg string) { it.errs.add(fmt.Sprintf("[%d].%s", it.idx, field), msg) }

// raw returns a present, non-null field.
func (it *item) raw(key string) (json.RawMessage, bool) {
	v, ok := it.m[key]
	if !ok || string(bytes.TrimSpace(v)) == "null" {
		return nil, false
	}
	return v, true
}

func (it *item) has(key string) bool { _, ok := it.raw(key); return ok }

// int reads an integer sent as a number or a numeric string.
func (it *item) int(key string) (int64, bool) {
	v, ok := it.raw(key)
	if !ok {
		return 0, false
	}
	s := strings.Trim(string(bytes.TrimSpace(v)), `"`)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		it.fail(key, "The value is not a valid integer.")
		return 0, false
	}
	return int64(f), true
}

func (it *item) float(key string) (float64, bool) {
	v, ok := it.raw(key)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.Trim(string(bytes.TrimSpace(v)), `"`), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		it.fail(key, "The value is not a valid number.")
		return 0, false
	}
	return f, true
}

func (it *item) str(key string) (string, bool) {
	v, ok := it.raw(key)
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		it.fail(key, "The value is not a valid string.")
		return "", false
	}
	return s, true
}

func (it *item) boolean(key string) (bool, bool) {
	v, ok := it.raw(key)
	if !ok {
		return false, false
	}
	var b bool
	if json.Unmarshal(v, &b) != nil {
		it.fail(key, "The value is not a valid boolean.")
		return false, false
	}
	return b, true
}

// writeSaved answers a save: the object for one item, an array for
// several (or always an array with Settings.ArrayResponses).
func (s *Server) writeSaved(w http.ResponseWriter, saved []any) {
	if len(saved) == 1 && !s.set.ArrayResponses {
		writeJSON(w, http.StatusOK, saved[0])
		return
	}
	writeJSON(w, http.StatusOK, saved)
}

func fieldSet(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
