package halopsa

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
)

// flexID reads an integer ID sent as a JSON number or string. 0 and null
// read as "" (Halo sends agent_id 0 for "unassigned").
type flexID string

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	var s string
	switch {
	case string(b) == "null":
	case len(b) > 0 && b[0] == '"':
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
	default:
		n, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return errors.New("halopsa: id is neither a number nor a string")
		}
		s = strconv.FormatFloat(n, 'f', -1, 64)
	}
	if s == "0" || s == "-1" {
		s = ""
	}
	*f = flexID(s)
	return nil
}

// flexFloat reads a number sent as a JSON number or string; anything
// else reads as 0.
type flexFloat float64

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexFloat) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		n = 0
	}
	*f = flexFloat(n)
	return nil
}

// flexTime reads Halo's ISO-8601 datetimes: with Z, with an offset or
// with no zone at all (read as UTC), with 0 to 7 fractional digits.
// Null, empty, unreadable and Halo's 1900-01-01 "no date" read as zero.
type flexTime time.Time

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexTime) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) != nil {
		s = ""
	}
	*f = flexTime(parseTime(s))
	return nil
}

// Time returns the time in UTC.
func (f flexTime) Time() time.Time { return time.Time(f) }

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"}

func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			if t.Year() < 1901 {
				return time.Time{}
			}
			return t.UTC()
		}
	}
	return time.Time{}
}

// formatTime writes a query datetime as Halo documents it:
// yyyy-MM-ddTHH:mm:ssZ in UTC.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// rawObject is one JSON object, kept whole (for Raw fields).
type rawObject json.RawMessage

// UnmarshalJSON implements json.Unmarshaler.
func (r *rawObject) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return errors.New("halopsa: expected a JSON object")
	}
	*r = append((*r)[:0], b...)
	return nil
}

func (r rawObject) decode(v any) error { return json.Unmarshal(r, v) }

// objects is a response that is one object or an array of objects (Halo
// answers a save of one item with the object, of several with an array).
type objects []rawObject

// UnmarshalJSON implements json.Unmarshaler.
func (o *objects) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		*o = objects{rawObject(bytes.Clone(b))}
		return nil
	}
	var arr []rawObject
	if err := json.Unmarshal(b, &arr); err != nil {
		return err
	}
	*o = arr
	return nil
}

// page is one list response: the envelope
// {"page_no","page_size","record_count","<key>":[...]} or a bare array.
type page struct {
	key      string // plural resource key: tickets, users, clients, actions
	pageSize int    // page_size as the server reports it, 0 when absent
	// recordCount is record_count, the number of matches, when counted.
	recordCount int
	counted     bool
	records     []rawObject
	bare        bool
}

// errNoList is a 200 whose body holds no list where one is due.
var errNoList = errors.New("the answer holds no list")

// UnmarshalJSON implements json.Unmarshaler. The array key is matched
// case-insensitively. A body of null, or an envelope without the array
// (unless its record_count is 0), is an error and not an empty page: read
// as the end of a listing it would drop the rest silently.
func (p *page) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		p.bare = true
		return json.Unmarshal(b, &p.records)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	found := false
	for k, v := range m {
		switch {
		case strings.EqualFold(k, "page_size"):
			var n flexFloat
			_ = n.UnmarshalJSON(v)
			p.pageSize = int(n)
		case strings.EqualFold(k, "record_count"):
			var n flexFloat
			if n.UnmarshalJSON(v) == nil && string(v) != "null" {
				p.recordCount, p.counted = int(n), true
			}
		case strings.EqualFold(k, p.key) && string(v) != "null":
			if err := json.Unmarshal(v, &p.records); err != nil {
				return err
			}
			found = true
		}
	}
	if m == nil || !found && !(p.counted && p.recordCount == 0) {
		return errNoList
	}
	return nil
}
