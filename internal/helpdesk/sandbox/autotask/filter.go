package autotask

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxRecords is the page size limit [D][K]; maxOr the most OR conditions a
// query may hold [D].
const (
	maxRecords = 500
	maxOr      = 500
)

// Query operators [K], lower-cased.
var (
	valueOps = map[string]bool{"eq": true, "noteq": true, "gt": true, "gte": true, "lt": true, "lte": true,
		"beginswith": true, "endswith": true, "contains": true}
	listOps  = map[string]bool{"in": true, "notin": true}
	existOps = map[string]bool{"exist": true, "notexist": true}
	groupOps = map[string]bool{"and": true, "or": true}
)

// cond is one parsed filter condition.
type cond struct {
	op    string
	field field
	value any   // typed for the field: int64, float64, string, bool, time.Time
	list  []any // in / notIn
	items []cond
}

// badQuery is a query the API rejects, with the message it answers.
type badQuery string

// Error implements error.
func (b badQuery) Error() string { return string(b) }

func badf(format string, a ...any) error { return badQuery(fmt.Sprintf(format, a...)) }

// parsedQuery is a validated query body.
type parsedQuery struct {
	filter  []cond
	max     int
	include []string
	raw     []byte // the body as received, carried in next-page URLs
}

// parseQuery validates a query body strictly: known keys only, at least
// one condition, MaxRecords 1..500, known queryable fields, values of
// the field's type.
func parseQuery(body []byte, ent *entity) (parsedQuery, error) {
	keys, err := objectKeys(body)
	if err != nil {
		return parsedQuery{}, badQuery("The query body is not a JSON object.")
	}
	q := parsedQuery{max: maxRecords, raw: body}
	for k, v := range keys {
		switch k {
		case "filter":
			q.filter, err = parseFilter(v, ent)
		case "maxrecords":
			q.max, err = parseMaxRecords(v)
		case "includefields":
			q.include, err = parseInclude(v, ent)
		default:
			err = badf("Unknown query property '%s'.", k)
		}
		if err != nil {
			return parsedQuery{}, err
		}
	}
	if len(q.filter) == 0 {
		return parsedQuery{}, badQuery("A query must contain at least one filter condition.")
	}
	if n := countOr(q.filter, false); n > maxOr {
		return parsedQuery{}, badf("A query may contain at most %d OR conditions.", maxOr)
	}
	return q, nil
}

// objectKeys decodes a JSON object with lower-cased keys (Autotask reads
// property names case-insensitively [K]).
func objectKeys(b []byte) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out, nil
}

func parseMaxRecords(v json.RawMessage) (int, error) {
	var n int
	if json.Unmarshal(v, &n) != nil || n < 1 || n > maxRecords {
		return 0, badf("MaxRecords must be an integer between 1 and %d.", maxRecords)
	}
	return n, nil
}

func parseInclude(v json.RawMessage, ent *entity) ([]string, error) {
	var names []string
	if json.Unmarshal(v, &names) != nil {
		return nil, badQuery("IncludeFields must be an array of field names.")
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		f, ok := ent.field(n)
		if !ok {
			return nil, badf("Unknown field '%s' in IncludeFields.", n)
		}
		out = append(out, f.name)
	}
	return out, nil
}

func parseFilter(v json.RawMessage, ent *entity) ([]cond, error) {
	var items []json.RawMessage
	if json.Unmarshal(v, &items) != nil {
		return nil, badQuery("filter must be an array of conditions.")
	}
	out := make([]cond, 0, len(items))
	for _, it := range items {
		c, err := parseCond(it, ent)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func parseCond(b json.RawMessage, ent *entity) (cond, error) {
	keys, err := objectKeys(b)
	if err != nil {
		return cond{}, badQuery("A filter condition must be a JSON object.")
	}
	for k := range keys {
		if k != "op" && k != "field" && k != "value" && k != "udf" && k != "items" {
			return cond{}, badf("Unknown filter property '%s'.", k)
		}
	}
	var op string
	if json.Unmarshal(keys["op"], &op) != nil || op == "" {
		return cond{}, badQuery("A filter condition needs an op.")
	}
	c := cond{op: strings.ToLower(op)}
	switch {
	case groupOps[c.op]:
		return parseGroup(c, keys, ent)
	case valueOps[c.op], listOps[c.op], existOps[c.op]:
		return parseLeaf(c, keys, ent)
	}
	return cond{}, badf("Unknown filter op '%s'.", op)
}

func parseGroup(c cond, keys map[string]json.RawMessage, ent *entity) (cond, error) {
	if _, ok := keys["field"]; ok {
		return cond{}, badf("A '%s' condition takes items, not a field.", c.op)
	}
	items, err := parseFilter(keys["items"], ent)
	if err != nil || len(items) == 0 {
		return cond{}, badf("A '%s' condition needs a non-empty items array.", c.op)
	}
	c.items = items
	return c, nil
}

func parseLeaf(c cond, keys map[string]json.RawMessage, ent *entity) (cond, error) {
	var name string
	if json.Unmarshal(keys["field"], &name) != nil || name == "" {
		return cond{}, badf("A '%s' condition needs a field.", c.op)
	}
	if udf, ok := keys["udf"]; ok && string(udf) == "true" {
		return cond{}, badf("Unknown user-defined field '%s'.", name)
	}
	f, ok := ent.field(name)
	if !ok {
		return cond{}, badf("Unknown field '%s' on entity %s.", name, ent.name)
	}
	if !f.queryable {
		return cond{}, badf("Field '%s' cannot be queried.", f.name)
	}
	c.field = f
	raw, has := keys["value"]
	switch {
	case existOps[c.op]:
		if has && !isNullRaw(raw) {
			return cond{}, badf("The '%s' op takes no value.", c.op)
		}
		return c, nil
	case listOps[c.op]:
		return parseList(c, raw)
	}
	if (c.op == "beginswith" || c.op == "endswith" || c.op == "contains") && f.typ != tString {
		return cond{}, badf("The '%s' op applies to string fields only.", c.op)
	}
	v, err := typedValue(f, raw)
	c.value = v
	return c, err
}

func parseList(c cond, raw json.RawMessage) (cond, error) {
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil || len(items) == 0 {
		return cond{}, badf("The '%s' op needs a non-empty array value.", c.op)
	}
	for _, it := range items {
		v, err := typedValue(c.field, it)
		if err != nil {
			return cond{}, err
		}
		c.list = append(c.list, v)
	}
	return c, nil
}

func isNullRaw(b json.RawMessage) bool { return strings.TrimSpace(string(b)) == "null" }

// typedValue converts a condition value to the field's type. Booleans
// must be literal true/false [D]; integers may be numbers or numeric
// strings; datetimes are strings with or without Z and milliseconds.
func typedValue(f field, raw json.RawMessage) (any, error) {
	if len(raw) == 0 || isNullRaw(raw) {
		return nil, badf("Field '%s' needs a value.", f.name)
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil, badf("Unreadable value for field '%s'.", f.name)
	}
	switch f.typ {
	case tInt, tLong:
		return intValue(f, v)
	case tDouble:
		if n, ok := v.(float64); ok {
			return n, nil
		}
	case tBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case tString:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case tTime:
		if s, ok := v.(string); ok {
			if t, err := parseTime(s); err == nil {
				return t, nil
			}
		}
	}
	return nil, badf("Value '%v' is not a valid %s for field '%s'.", v, f.typ, f.name)
}

func intValue(f field, v any) (any, error) {
	switch n := v.(type) {
	case float64:
		if n == float64(int64(n)) {
			return int64(n), nil
		}
	case string:
		if i, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64); err == nil {
			return i, nil
		}
	}
	return nil, badf("Value '%v' is not a valid integer for field '%s'.", v, f.name)
}

// parseTime reads a datetime with or without Z and milliseconds; no zone
// means UTC [D].
func parseTime(s string) (time.Time, error) {
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(l, strings.TrimSpace(s)); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad datetime %q", s)
}

// countOr counts the leaf conditions under OR groups.
func countOr(cs []cond, underOr bool) int {
	n := 0
	for _, c := range cs {
		switch {
		case c.items != nil:
			n += countOr(c.items, underOr || c.op == "or")
		case underOr:
			n++
		}
	}
	return n
}
