package connectwise

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The conditions grammar, from the ConnectWise Developer Guide: strings
// in double quotes (single quotes are accepted as in the /search sample),
// integers bare, booleans true/false, datetimes in square brackets,
// references with a slash, operators = != < <= > >= contains like in and
// a not prefix, AND/OR (AND binds tighter), parentheses. Field names are
// case-insensitive. Anything else is a 400.

// kind is the type of a field or literal.
type kind int

const (
	kString kind = iota + 1
	kNumber
	kBool
	kTime
	kNull
	kList
)

// String names the kind in error messages.
func (k kind) String() string {
	return [...]string{"", "string", "number", "boolean", "datetime", "null", "list"}[k]
}

// val is a field value or literal.
type val struct {
	k    kind
	s    string
	n    float64
	b    bool
	t    time.Time
	list []val
}

func str(s string) val   { return val{k: kString, s: s} }
func num(n int64) val    { return val{k: kNumber, n: float64(n)} }
func flt(f float64) val  { return val{k: kNumber, n: f} }
func boolean(b bool) val { return val{k: kBool, b: b} }
func tm(t time.Time) val { return val{k: kTime, t: t} }
func null() val          { return val{k: kNull} }

// refNum is a reference id: null when there is no reference.
func refNum(id int64) val {
	if id == 0 {
		return null()
	}
	return num(id)
}

// refStr is a reference's string field: null when there is no reference.
func refStr(ok bool, s string) val {
	if !ok {
		return null()
	}
	return str(s)
}

// field is one filterable (and sortable) field of a resource.
type field[R any] struct {
	k   kind
	get func(R) val
}

// fieldSet maps lower-case field paths to fields.
type fieldSet[R any] map[string]field[R]

// condError is a malformed or unsupported condition.
type condError struct{ msg string }

// Error implements error.
func (e *condError) Error() string { return e.msg }

func condErrorf(format string, a ...any) error { return &condError{fmt.Sprintf(format, a...)} }

// token kinds of the lexer.
type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tTime
	tOp
	tLParen
	tRParen
	tComma
)

type token struct {
	k   tokKind
	s   string
	pos int
}

// lex splits a conditions string into tokens.
func lex(src string) ([]token, error) {
	var out []token
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == ',':
			out = append(out, token{map[byte]tokKind{'(': tLParen, ')': tRParen, ',': tComma}[c], string(c), i})
			i++
		case c == '"' || c == '\'':
			s, n, err := lexString(src[i:])
			if err != nil {
				return nil, condErrorf("conditions: %v at position %d", err, i)
			}
			out = append(out, token{tString, s, i})
			i += n
		case c == '[':
			j := strings.IndexByte(src[i:], ']')
			if j < 0 {
				return nil, condErrorf("conditions: unterminated datetime at position %d", i)
			}
			out = append(out, token{tTime, src[i+1 : i+j], i})
			i += j + 1
		case strings.ContainsRune("=!<>", rune(c)):
			op := string(c)
			if i+1 < len(src) && src[i+1] == '=' {
				op += "="
			} else if c == '<' && i+1 < len(src) && src[i+1] == '>' {
				op = "<>"
			}
			if op == "!" {
				return nil, condErrorf("conditions: unexpected '!' at position %d", i)
			}
			out = append(out, token{tOp, op, i})
			i += len(op)
		case c == '-' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || src[j] == '.') {
				j++
			}
			out = append(out, token{tNumber, src[i:j], i})
			i = j
		case isIdentByte(c):
			j := i
			for j < len(src) && isIdentByte(src[j]) {
				j++
			}
			out = append(out, token{tIdent, src[i:j], i})
			i = j
		default:
			return nil, condErrorf("conditions: unexpected %q at position %d", c, i)
		}
	}
	return append(out, token{tEOF, "", len(src)}), nil
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '/' || c == '.' || c < 128 && (unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c)))
}

// lexString reads a quoted string with backslash escapes; it returns the
// value and the bytes consumed.
func lexString(src string) (string, int, error) {
	q := src[0]
	var b strings.Builder
	for i := 1; i < len(src); i++ {
		switch c := src[i]; {
		case c == '\\' && i+1 < len(src):
			i++
			b.WriteByte(src[i])
		case c == q:
			return b.String(), i + 1, nil
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, fmt.Errorf("unterminated string")
}

// node is a parsed condition.
type node struct {
	op          string // "and", "or", or a comparison operator
	left, right *node
	path        string
	not         bool
	lit         val
}

type parser struct {
	toks []token
	i    int
}

// parseConditions parses a conditions string; "" is nil (match all).
func parseConditions(src string) (*node, error) {
	if strings.TrimSpace(src) == "" {
		return nil, nil
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.k != tEOF {
		return nil, condErrorf("conditions: unexpected %q at position %d", t.s, t.pos)
	}
	return n, nil
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token { t := p.toks[p.i]; p.i = min(p.i+1, len(p.toks)-1); return t }

func (p *parser) keyword(word string) bool {
	if t := p.peek(); t.k == tIdent && strings.EqualFold(t.s, word) {
		p.next()
		return true
	}
	return false
}

func (p *parser) or() (*node, error)  { return p.chain("or", p.and) }
func (p *parser) and() (*node, error) { return p.chain("and", p.unary) }

func (p *parser) chain(word string, sub func() (*node, error)) (*node, error) {
	left, err := sub()
	if err != nil {
		return nil, err
	}
	for p.keyword(word) {
		right, err := sub()
		if err != nil {
			return nil, err
		}
		left = &node{op: word, left: left, right: right}
	}
	return left, nil
}

func (p *parser) unary() (*node, error) {
	if p.peek().k == tLParen {
		p.next()
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if t := p.next(); t.k != tRParen {
			return nil, condErrorf("conditions: expected ')' at position %d", t.pos)
		}
		return n, nil
	}
	return p.comparison()
}

func (p *parser) comparison() (*node, error) {
	t := p.next()
	if t.k != tIdent || isKeyword(t.s) {
		return nil, condErrorf("conditions: expected a field name at position %d", t.pos)
	}
	n := &node{path: strings.ToLower(t.s)}
	n.not = p.keyword("not")
	op := p.next()
	switch {
	case op.k == tOp:
		n.op = op.s
	case op.k == tIdent && (strings.EqualFold(op.s, "contains") || strings.EqualFold(op.s, "like") || strings.EqualFold(op.s, "in")):
		n.op = strings.ToLower(op.s)
	default:
		return nil, condErrorf("conditions: expected an operator after %s at position %d", t.s, op.pos)
	}
	if n.not && op.k == tOp {
		return nil, condErrorf("conditions: 'not' before %s at position %d", op.s, op.pos)
	}
	v, err := p.value(n.op == "in")
	if err != nil {
		return nil, err
	}
	n.lit = v
	return n, nil
}

func isKeyword(s string) bool {
	switch strings.ToLower(s) {
	case "and", "or", "not", "contains", "like", "in":
		return true
	}
	return false
}

func (p *parser) value(list bool) (val, error) {
	if list {
		return p.list()
	}
	t := p.next()
	switch t.k {
	case tString:
		return str(t.s), nil
	case tNumber:
		f, err := strconv.ParseFloat(t.s, 64)
		if err != nil {
			return val{}, condErrorf("conditions: bad number %q at position %d", t.s, t.pos)
		}
		return flt(f), nil
	case tTime:
		v, err := parseDatetime(t.s)
		if err != nil {
			return val{}, condErrorf("conditions: bad datetime [%s] at position %d", t.s, t.pos)
		}
		return tm(v), nil
	case tIdent:
		switch strings.ToLower(t.s) {
		case "true", "false":
			return boolean(strings.EqualFold(t.s, "true")), nil
		case "null":
			return null(), nil
		}
	}
	return val{}, condErrorf("conditions: expected a value at position %d (strings need quotes, datetimes square brackets)", t.pos)
}

func (p *parser) list() (val, error) {
	if t := p.next(); t.k != tLParen {
		return val{}, condErrorf("conditions: 'in' needs a parenthesised list at position %d", t.pos)
	}
	out := val{k: kList}
	for {
		v, err := p.value(false)
		if err != nil {
			return val{}, err
		}
		out.list = append(out.list, v)
		t := p.next()
		if t.k == tRParen {
			return out, nil
		}
		if t.k != tComma {
			return val{}, condErrorf("conditions: expected ',' or ')' at position %d", t.pos)
		}
	}
}

// parseDatetime reads the inside of [...]: ISO 8601, UTC when no zone.
func parseDatetime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad datetime %q", s)
}

// compile turns a parsed condition into a predicate over R, checking
// field names and literal types.
func compile[R any](n *node, fs fieldSet[R]) (func(R) bool, error) {
	if n == nil {
		return func(R) bool { return true }, nil
	}
	if n.op == "and" || n.op == "or" {
		l, err := compile(n.left, fs)
		if err != nil {
			return nil, err
		}
		r, err := compile(n.right, fs)
		if err != nil {
			return nil, err
		}
		if n.op == "and" {
			return func(x R) bool { return l(x) && r(x) }, nil
		}
		return func(x R) bool { return l(x) || r(x) }, nil
	}
	f, ok := fs[n.path]
	if !ok {
		return nil, condErrorf("conditions: unknown field %q", n.path)
	}
	if err := checkLiteral(n, f.k); err != nil {
		return nil, err
	}
	op, not, lit := n.op, n.not, n.lit
	return func(x R) bool { return compare(f.get(x), op, lit) != not }, nil
}

// checkLiteral rejects a literal of the wrong type for the field and
// operators the type does not support.
func checkLiteral(n *node, fk kind) error {
	lits := []val{n.lit}
	if n.lit.k == kList {
		lits = n.lit.list
	}
	for _, l := range lits {
		if l.k == kNull && (n.op == "=" || n.op == "!=" || n.op == "<>") {
			continue
		}
		if l.k != fk {
			return condErrorf("conditions: %s is a %s field, compared with a %s", n.path, fk, l.k)
		}
	}
	if (n.op == "contains" || n.op == "like") && fk != kString {
		return condErrorf("conditions: %s cannot be used on %s field %s", n.op, fk, n.path)
	}
	if fk == kBool && n.op != "=" && n.op != "!=" && n.op != "<>" && n.op != "in" {
		return condErrorf("conditions: %s cannot be used on boolean field %s", n.op, n.path)
	}
	return nil
}

func compare(v val, op string, lit val) bool {
	switch op {
	case "in":
		for _, l := range lit.list {
			if order(v, l) == 0 {
				return true
			}
		}
		return false
	case "contains":
		return v.k == kString && strings.Contains(strings.ToLower(v.s), strings.ToLower(lit.s))
	case "like":
		return v.k == kString && like(strings.ToLower(v.s), strings.ToLower(lit.s))
	}
	if v.k == kNull || lit.k == kNull {
		eq := v.k == lit.k
		return (op == "=" && eq) || ((op == "!=" || op == "<>") && !eq)
	}
	c := order(v, lit)
	switch op {
	case "=":
		return c == 0
	case "!=", "<>":
		return c != 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	default: // ">="
		return c >= 0
	}
}

// order compares two values of one kind; strings case-insensitively.
func order(a, b val) int {
	if a.k != b.k {
		return -2
	}
	switch a.k {
	case kString:
		return strings.Compare(strings.ToLower(a.s), strings.ToLower(b.s))
	case kNumber:
		return cmpFloat(a.n, b.n)
	case kBool:
		if a.b == b.b {
			return 0
		}
		return -2
	case kTime:
		return a.t.Compare(b.t)
	}
	return 0
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// like matches s against a pattern where * (or %) is any run.
func like(s, pattern string) bool {
	pattern = strings.ReplaceAll(pattern, "%", "*")
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return s == pattern
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}
