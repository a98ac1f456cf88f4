package autotask

import (
	"cmp"
	"strings"
	"time"
)

// matchAll reports whether r satisfies every top-level condition (they
// are ANDed [K]).
func matchAll(cs []cond, r rec) bool {
	for _, c := range cs {
		if !c.match(r) {
			return false
		}
	}
	return true
}

func (c cond) match(r rec) bool {
	switch c.op {
	case "and":
		return matchAll(c.items, r)
	case "or":
		for _, it := range c.items {
			if it.match(r) {
				return true
			}
		}
		return false
	}
	v := r[c.field.name]
	switch c.op {
	case "exist":
		return present(v)
	case "notexist":
		return !present(v)
	case "in":
		return present(v) && inList(v, c.list)
	case "notin":
		return !present(v) || !inList(v, c.list)
	case "noteq":
		return !present(v) || compare(v, c.value) != 0
	}
	if !present(v) {
		return false
	}
	return c.matchValue(v)
}

func (c cond) matchValue(v any) bool {
	switch c.op {
	case "eq":
		return compare(v, c.value) == 0
	case "gt":
		return compare(v, c.value) > 0
	case "gte":
		return compare(v, c.value) >= 0
	case "lt":
		return compare(v, c.value) < 0
	case "lte":
		return compare(v, c.value) <= 0
	}
	s, want := strings.ToLower(toString(v)), strings.ToLower(toString(c.value))
	switch c.op {
	case "beginswith":
		return strings.HasPrefix(s, want)
	case "endswith":
		return strings.HasSuffix(s, want)
	case "contains":
		return strings.Contains(s, want)
	}
	return false
}

// present: nil, the zero time and "" count as no value.
func present(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case time.Time:
		return !x.IsZero()
	case string:
		return x != ""
	}
	return true
}

func inList(v any, list []any) bool {
	for _, w := range list {
		if compare(v, w) == 0 {
			return true
		}
	}
	return false
}

// compare orders two values of one field; strings compare
// case-insensitively, as Autotask's database collation does [I].
func compare(a, b any) int {
	switch x := a.(type) {
	case time.Time:
		y, _ := b.(time.Time)
		return x.Compare(y)
	case string:
		return cmp.Compare(strings.ToLower(x), strings.ToLower(toString(b)))
	}
	return cmp.Compare(toFloat(a), toFloat(b))
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	case bool:
		if x {
			return 1
		}
	}
	return 0
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}
