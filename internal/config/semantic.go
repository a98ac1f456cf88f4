package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
)

// semantics runs the checks the schema cannot express. Checks on raw values
// (durations, URLs) read the document; the others read the sections that
// decoded, and skip a section the schema already rejected.
type semantics struct {
	doc     *document
	cfg     *Config
	decoded map[string]bool
	caps    Capabilities
	hasCaps bool
	opts    LoadOptions
	diags   []Diagnostic
}

func checkSemantics(doc *document, cfg *Config, decoded map[string]bool, opts LoadOptions) []Diagnostic {
	s := &semantics{doc: doc, cfg: cfg, decoded: decoded, opts: opts}
	// The provider comes from the document: a helpdesk block the schema
	// rejected (say, for a literal secret) must not hide capability errors.
	if p, ok := doc.lookup("/helpdesk/provider"); ok {
		if name, ok := p.(string); ok {
			s.caps, s.hasCaps = CapabilitiesOf(Provider(name))
		}
	}
	s.durations()
	s.urls()
	s.mappings()
	s.capabilities()
	s.picklistBoards()
	s.widgetNames()
	s.writeback()
	s.secrets()
	return s.diags
}

func (s *semantics) add(sev Severity, ptr string, p position, format string, args ...any) {
	s.diags = append(s.diags, Diagnostic{
		Line: p.line, Col: p.col, Pointer: ptr,
		Severity: sev, Message: fmt.Sprintf(format, args...),
	})
}

func (s *semantics) errorAt(ptr string, format string, args ...any) {
	s.add(SeverityError, ptr, s.doc.at(ptr), format, args...)
}

// durations checks every duration against its bounds.
func (s *semantics) durations() {
	for _, b := range durationBounds {
		for _, ptr := range s.match(b.pattern) {
			v, _ := s.doc.lookup(ptr)
			text, ok := v.(string)
			if !ok || !durationRE.MatchString(text) || text == "" {
				continue // the schema reports it
			}
			d, err := ParseDuration(text)
			switch {
			case errors.Is(err, ErrDurationRange):
				s.errorAt(ptr, "%s is %s, which is too large; the maximum is %s", dotted(ptr), text, b.Max)
			case d < b.Min:
				s.errorAt(ptr, "%s is %s, which is too short; the minimum is %s", dotted(ptr), text, b.Min)
			case d > b.Max:
				s.errorAt(ptr, "%s is %s, which is too long; the maximum is %s", dotted(ptr), text, b.Max)
			}
		}
	}
}

// match returns the pointers of the document that match a pattern whose
// "*" tokens stand for any list index or key.
func (s *semantics) match(pattern []string) []string {
	ptrs := []string{""}
	for _, tok := range pattern {
		var next []string
		for _, p := range ptrs {
			v, _ := s.doc.lookup(p)
			next = append(next, children(p, v, tok)...)
		}
		ptrs = next
	}
	return ptrs
}

func children(ptr string, v any, tok string) []string {
	var out []string
	switch c := v.(type) {
	case map[string]any:
		for k := range c {
			if tok == "*" || tok == k {
				out = append(out, childPtr(ptr, k))
			}
		}
	case []any:
		for i := range c {
			if tok == "*" || tok == strconv.Itoa(i) {
				out = append(out, childPtr(ptr, strconv.Itoa(i)))
			}
		}
	}
	return out
}

var urlPatterns = [][]string{
	{"helpdesk", "*", "baseURL"},
	{"helpdesk", "autotask", "zoneURL"},
	{"callbacks", "url"},
	{"widgets", "*", "url"},
}

// urls requires https (http only for loopback hosts) and no credentials.
func (s *semantics) urls() {
	for _, pattern := range urlPatterns {
		for _, ptr := range s.match(pattern) {
			if v, ok := s.doc.lookup(ptr); ok {
				if text, ok := v.(string); ok {
					s.url(ptr, text)
				}
			}
		}
	}
}

func (s *semantics) url(ptr, text string) {
	u, err := url.Parse(text)
	if err != nil || (!strings.EqualFold(u.Scheme, "https") && !strings.EqualFold(u.Scheme, "http")) {
		return // not an http(s) URL: the schema reports it
	}
	switch {
	case u.User != nil:
		s.errorAt(ptr, "%s must not carry credentials (user:password@); use a secret reference instead", dotted(ptr))
	case u.Hostname() == "":
		s.errorAt(ptr, "%s has no host", dotted(ptr))
	case strings.EqualFold(u.Scheme, "http") && !isLoopback(u.Hostname()):
		s.errorAt(ptr, "%s must use https; http is allowed only for localhost (got %s)", dotted(ptr), u.Redacted())
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// mappings rejects a PSA user or a Horizon user mapped twice. Both compare
// case-insensitively: PSA logins and email addresses do.
func (s *semantics) mappings() {
	if !s.decoded["userMappings"] {
		return
	}
	seenPSA, seenHorizon := map[string]string{}, map[string]string{}
	for i, m := range s.cfg.UserMappings.Mappings {
		base := fmt.Sprintf("/userMappings/mappings/%d", i)
		s.unique(seenPSA, strings.TrimSpace(string(m.HelpdeskUser)), base+"/helpdeskUser",
			"helpdesk user %q is mapped twice (first at line %d); each helpdesk user maps to one Horizon user")
		s.unique(seenHorizon, strings.TrimSpace(m.HorizonUser), base+"/horizonUser",
			"Horizon user %q is mapped twice (first at line %d); each Horizon user maps to one helpdesk user")
	}
	seenIgnore := map[string]string{}
	for i, v := range s.cfg.UserMappings.Ignore {
		ptr := fmt.Sprintf("/userMappings/ignore/%d", i)
		value := strings.TrimSpace(string(v))
		if first, mapped := seenPSA[strings.ToLower(value)]; mapped {
			s.errorAt(ptr, "helpdesk user %q is both ignored and mapped (at line %d); remove it from one of them",
				value, s.doc.at(first).line)
			continue
		}
		s.unique(seenIgnore, value, ptr, "helpdesk user %q is ignored twice (first at line %d)")
	}
}

// unique reports value at ptr when seen already holds it; format takes the
// value and the line of the first occurrence.
func (s *semantics) unique(seen map[string]string, value, ptr, format string) {
	key := strings.ToLower(value)
	if first, dup := seen[key]; dup {
		s.errorAt(ptr, format, value, s.doc.at(first).line)
		return
	}
	seen[key] = ptr
}

// capabilities checks entities, picklist kinds and events against the
// provider's row of the capability table.
func (s *semantics) capabilities() {
	if !s.hasCaps {
		return
	}
	if s.decoded["sync"] {
		for i, e := range s.cfg.Sync.Entities {
			if slices.Contains(allEntities, e) && !s.caps.SupportsEntity(e) { // unknown ones: the schema reports them
				s.errorAt(fmt.Sprintf("/sync/entities/%d", i), "%s cannot sync %s; it syncs %s", s.caps.Name, e, joinAny(s.caps.Entities))
			}
		}
		if i := slices.Index(s.cfg.Sync.Entities, EntityNotes); i >= 0 && !slices.Contains(s.cfg.Sync.Entities, EntityTickets) {
			s.errorAt(fmt.Sprintf("/sync/entities/%d", i), "notes needs tickets in sync.entities: a ticket's notes are fetched when the ticket is synced")
		}
	}
	if s.decoded["picklists"] {
		s.picklistKinds()
	}
	if s.decoded["callbacks"] && s.cfg.Callbacks != nil {
		for i, e := range s.cfg.Callbacks.Events {
			if slices.Contains(Events(), e) && !s.caps.SupportsEvent(e) {
				s.errorAt(fmt.Sprintf("/callbacks/events/%d", i), "%s cannot deliver %s webhooks; it delivers %s", s.caps.Name, e, joinAny(s.caps.Events))
			}
		}
	}
}

func (s *semantics) picklistKinds() {
	p := s.cfg.Picklists
	var notCreatable []string
	for _, kind := range p.Kinds() {
		ptr := "/picklists/" + string(kind)
		support, ok := s.caps.Picklist(kind)
		if !ok {
			s.add(SeverityError, ptr, s.doc.keyAt(ptr), "%s has no %s picklist; remove picklists.%s", s.caps.Name, kind, kind)
			continue
		}
		s.picklistScope(kind, support)
		if !support.Creatable {
			notCreatable = append(notCreatable, string(kind))
		}
	}
	if p.Create && len(notCreatable) > 0 {
		s.add(SeverityWarning, "/picklists/create", s.doc.at("/picklists/create"),
			"picklists.create is true, but the %s API cannot create %s; missing values of those kinds are only reported",
			s.caps.Name, strings.Join(notCreatable, " or "))
	}
}

// picklistScope checks that per-board picklists are written per board, and
// global ones as a plain list.
func (s *semantics) picklistScope(kind PicklistKind, support PicklistSupport) {
	var values ScopedValues
	switch kind {
	case PicklistStatuses:
		values = s.cfg.Picklists.Statuses
	case PicklistTypes:
		values = s.cfg.Picklists.Types
	default:
		return
	}
	ptr := "/picklists/" + string(kind)
	switch {
	case support.PerBoard && !values.PerBoard():
		s.add(SeverityError, ptr, s.doc.keyAt(ptr), "%s keeps %s per board; write picklists.%s as a list of {board, values} entries",
			s.caps.Name, kind, kind)
	case !support.PerBoard && values.PerBoard():
		board := ptr + "/0/board"
		s.add(SeverityError, board, s.doc.keyAt(board), "%s %s are not per board; write picklists.%s as a plain list of values",
			s.caps.Name, kind, kind)
	}
}

// picklistBoards rejects a board listed twice in one picklist.
func (s *semantics) picklistBoards() {
	if !s.decoded["picklists"] {
		return
	}
	for kind, values := range map[PicklistKind]ScopedValues{PicklistStatuses: s.cfg.Picklists.Statuses, PicklistTypes: s.cfg.Picklists.Types} {
		if !values.PerBoard() {
			continue
		}
		seen := map[string]string{}
		for i, bv := range values {
			s.unique(seen, bv.Board, fmt.Sprintf("/picklists/%s/%d/board", kind, i),
				"board %q is listed twice (first at line %d); list each board once with all its values")
		}
	}
}

// widgetNames rejects two widgets with one name: it labels a metric.
func (s *semantics) widgetNames() {
	if !s.decoded["widgets"] {
		return
	}
	seen := map[string]string{}
	for i, w := range s.cfg.Widgets {
		s.unique(seen, w.Name, fmt.Sprintf("/widgets/%d/name", i), "widget name %q is used twice (first at line %d)")
	}
}

// secrets checks that every referenced variable or file exists here: a
// warning (CI rarely holds production secrets), an error when strict.
func (s *semantics) secrets() {
	sev := SeverityWarning
	if s.opts.Strict {
		sev = SeverityError
	}
	for _, f := range secretFields(s.cfg, s.decoded) {
		if msg := secretProblem(*f.ref, s.opts.lookupEnv()); msg != "" {
			ptr := f.ptr + "/env"
			if f.ref.Env == "" {
				ptr = f.ptr + "/file"
			}
			s.add(sev, ptr, s.doc.at(ptr), "%s: %s", dotted(f.ptr), msg)
		}
	}
}

func secretProblem(ref SecretRef, lookup func(string) (string, bool)) string {
	if ref.Env != "" {
		v, ok := lookup(ref.Env)
		switch {
		case !ok:
			return fmt.Sprintf("environment variable %s is not set", ref.Env)
		case v == "":
			return fmt.Sprintf("environment variable %s is empty", ref.Env)
		}
		return ""
	}
	if ref.File == "" {
		return ""
	}
	info, err := os.Stat(ref.Path())
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Sprintf("secret file %s does not exist", ref.Path())
	case err != nil:
		return fmt.Sprintf("secret file %s cannot be read: %v", ref.Path(), errors.Unwrap(err))
	case info.IsDir():
		return fmt.Sprintf("secret file %s is a directory", ref.Path())
	}
	return ""
}

func joinAny[T ~string](items []T) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = string(it)
	}
	return strings.Join(parts, ", ")
}
