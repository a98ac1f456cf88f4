// Package listing reads the records of a PSA's list response, for every
// provider client. A body that is not a list where one is due (empty,
// null, HTML, cut off) is an error, so that the transport retries it and a
// sync never mistakes it for the end of the data; records are then
// decoded one by one, so that one record of the wrong shape or with a
// field over the size bound is left out and reported with its id instead
// of failing the whole page.
package listing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/transport"
)

// DefaultMaxFieldBytes bounds one field of a record (a summary, a
// description) unless a client is told otherwise: a record with a larger
// field is skipped and reported, not stored.
const DefaultMaxFieldBytes = 1 << 20

// NotAListError is a 2xx answer that does not hold the list it should.
type NotAListError struct {
	// What the body was: "an empty body", "null", "HTML", ...
	What string
	Err  error
}

// Error implements error.
func (e *NotAListError) Error() string {
	s := "the PSA answered " + e.What + " where a list was due"
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap exposes the parse error, if any.
func (e *NotAListError) Unwrap() error { return e.Err }

// Expect checks that body is JSON starting with open ('[' for a bare
// array, '{' for an object holding one), naming what it is otherwise.
func Expect(body []byte, open byte) error {
	b := bytes.TrimSpace(body)
	switch {
	case len(b) == 0:
		return &NotAListError{What: "an empty body"}
	case bytes.Equal(b, []byte("null")):
		return &NotAListError{What: "null"}
	case b[0] == '<':
		return &NotAListError{What: "HTML"}
	case b[0] != open:
		return &NotAListError{What: fmt.Sprintf("JSON starting with %q", excerpt(b, 16))}
	}
	return nil
}

// Array returns the elements of a body that must be a JSON array.
func Array(body []byte) ([]json.RawMessage, error) {
	if err := Expect(body, '['); err != nil {
		return nil, err
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, &NotAListError{What: "JSON that does not parse", Err: err}
	}
	return raws, nil
}

// Decoder converts one record.
type Decoder[T any] func(json.RawMessage) (T, error)

// Records converts raws with conv, in order. A record conv refuses, or
// with a field over maxField bytes (0: DefaultMaxFieldBytes), is left out
// and told to skip (when not nil) with its id and the reason.
func Records[T any](raws []json.RawMessage, entity helpdesk.Entity, maxField int, conv Decoder[T], skip func(helpdesk.Skipped)) []T {
	out := make([]T, 0, len(raws))
	for _, raw := range raws {
		if reason := Oversized(raw, maxField); reason != "" {
			Report(skip, entity, raw, reason)
			continue
		}
		v, err := conv(raw)
		if err != nil {
			Report(skip, entity, raw, err.Error())
			continue
		}
		out = append(out, v)
	}
	return out
}

// Report tells skip (when not nil) that the record raw was left out.
func Report(skip func(helpdesk.Skipped), entity helpdesk.Entity, raw json.RawMessage, reason string) {
	if skip != nil {
		skip(helpdesk.Skipped{Entity: entity, ID: ID(raw), Reason: reason})
	}
}

// ID reads a record's "id" whatever its JSON type (a number, or a string
// where the PSA sent one): "" when there is none.
func ID(raw json.RawMessage) string {
	var v struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(raw, &v) != nil || len(v.ID) == 0 || bytes.Equal(v.ID, []byte("null")) {
		return ""
	}
	var s string
	if json.Unmarshal(v.ID, &s) == nil {
		return s
	}
	if _, err := strconv.ParseFloat(string(v.ID), 64); err == nil {
		return string(v.ID)
	}
	return excerpt(v.ID, 40)
}

// Oversized returns why raw is over the field bound ("" when it is not):
// the first top-level field whose value is larger than maxField bytes
// (0: DefaultMaxFieldBytes). Records no larger than the bound are not
// looked into.
func Oversized(raw json.RawMessage, maxField int) string {
	if maxField <= 0 {
		maxField = DefaultMaxFieldBytes
	}
	if len(raw) <= maxField {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Sprintf("record of %d bytes is not an object", len(raw))
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			break
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			break
		}
		if len(v) > maxField {
			return fmt.Sprintf("field %v is %d bytes, over the limit of %s", key, len(v), transport.FormatBytes(int64(maxField)))
		}
	}
	return ""
}

func excerpt(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
