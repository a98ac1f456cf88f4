package autotask

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// timeLayout is how the client sends datetimes: UTC with milliseconds and
// Z, the shape Autotask itself returns [K] and documents as accepted [D].
const timeLayout = "2006-01-02T15:04:05.000Z"

// parseLayouts are tried in order when reading a datetime. Autotask returns
// "2019-09-23T11:00:00.000Z"; webhooks send "2025-09-15T14:57:50Z"; values
// without a zone are UTC [D].
var parseLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// formatTime renders t in the format the API expects, in UTC.
func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// parseTime reads an Autotask datetime, with or without Z and fractional
// seconds; a value without a zone is UTC.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range parseLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unreadable datetime %q", s)
}

// atTime is a datetime field: null and "" decode to the zero time.
type atTime struct{ time.Time }

// UnmarshalJSON implements json.Unmarshaler.
func (t *atTime) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("datetime: %w", err)
	}
	if s == "" {
		t.Time = time.Time{}
		return nil
	}
	v, err := parseTime(s)
	t.Time = v
	return err
}

// flexInt is an integer field that may arrive as a number, a numeric
// string (webhook Fields send "5" [K]) or null.
type flexInt struct {
	V     int64
	Valid bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexInt) UnmarshalJSON(b []byte) error {
	*f = flexInt{}
	if isNull(b) {
		return nil
	}
	s := string(bytes.TrimSpace(b))
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return nil
		}
	}
	v, err := parseInt(s)
	if err != nil {
		return err
	}
	*f = flexInt{V: v, Valid: true}
	return nil
}

// String returns the decimal value, or "" when null.
func (f flexInt) String() string {
	if !f.Valid {
		return ""
	}
	return strconv.FormatInt(f.V, 10)
}

// parseInt reads an integer, accepting a float with no fraction (5.0).
func parseInt(s string) (int64, error) {
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, nil
	}
	fv, err := strconv.ParseFloat(s, 64)
	if err != nil || fv != math.Trunc(fv) || math.Abs(fv) > 1<<53 {
		return 0, fmt.Errorf("not an integer: %q", s)
	}
	return int64(fv), nil
}

// flexBool is a boolean that some tenants send as 0/1 [I].
type flexBool bool

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexBool) UnmarshalJSON(b []byte) error {
	switch strings.Trim(strings.ToLower(string(bytes.TrimSpace(b))), `"`) {
	case "true", "1":
		*f = true
	case "false", "0", "null", "":
		*f = false
	default:
		return fmt.Errorf("not a boolean: %s", b)
	}
	return nil
}

func isNull(b []byte) bool { return string(bytes.TrimSpace(b)) == "null" }

// parseID reads a helpdesk ID string as an Autotask int64 ID.
func parseID(s string) (int64, error) {
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("not an Autotask id: %q", s)
	}
	return v, nil
}

// idString renders an ID for the helpdesk types.
func idString(v int64) string { return strconv.FormatInt(v, 10) }

// itemResponse is the answer to GET /{Entity}/{id}: {"item": {...}} or
// {"item": null} when the id does not exist [K].
type itemResponse struct {
	Item json.RawMessage `json:"item"`
}

// decodeBody reads a get-by-id answer, refusing one that is not an object
// holding "item" (an empty body, null, HTML): the transport retries it,
// and only {"item":null} says the record does not exist [K].
func (r *itemResponse) decodeBody(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return fmt.Errorf("the PSA answered %q where an item was due", excerptBytes(b, 40))
	}
	for k, v := range m {
		if strings.EqualFold(k, "item") {
			r.Item = v
			return nil
		}
	}
	return errors.New(`the PSA answered an object without "item"`)
}

func excerptBytes(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// itemIDResponse is the answer to POST, PATCH and DELETE: {"itemId": N} [K].
type itemIDResponse struct {
	ItemID flexInt `json:"itemId"`
}
