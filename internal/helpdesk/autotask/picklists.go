package autotask

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// opFields is the metric label of entityInformation/fields reads.
const opFields = "fields"

// fieldInfo is one entry of GET /{Entity}/entityInformation/fields [D][K].
type fieldInfo struct {
	Name           string          `json:"name"`
	DataType       string          `json:"dataType"`
	IsPickList     bool            `json:"isPickList"`
	PicklistValues []picklistValue `json:"picklistValues"`
}

// picklistValue is one picklist entry. value is a string here although
// the same field on the entity is an integer [K].
type picklistValue struct {
	Value          string   `json:"value"`
	Label          string   `json:"label"`
	IsDefaultValue bool     `json:"isDefaultValue"`
	SortOrder      flexInt  `json:"sortOrder"`
	IsActive       flexBool `json:"isActive"`
}

// ticketPicklists maps Ticket fields to Horizon picklist kinds [K].
var ticketPicklists = []struct {
	field string
	kind  helpdesk.PicklistKind
}{
	{"status", helpdesk.PicklistStatus},
	{"priority", helpdesk.PicklistPriority},
	{"queueID", helpdesk.PicklistQueue},
	{"ticketType", helpdesk.PicklistType},
}

// fields reads an entity's field metadata, keyed by lower-cased name.
func (c *Client) fields(ctx context.Context, entity string) (map[string]fieldInfo, error) {
	var resp struct {
		Fields []fieldInfo `json:"fields"`
	}
	r := request{op: opFields, method: http.MethodGet, path: entity + "/entityInformation/fields"}
	if err := c.call(ctx, r, &resp); err != nil {
		return nil, err
	}
	out := make(map[string]fieldInfo, len(resp.Fields))
	for _, f := range resp.Fields {
		out[strings.ToLower(f.Name)] = f
	}
	return out, nil
}

// Picklists implements helpdesk.Provider: statuses, priorities, queues
// and ticket types are picklists on the Tickets entity's fields [K];
// Autotask statuses and types are global, so Scope is empty.
func (c *Client) Picklists(ctx context.Context) ([]helpdesk.Picklist, error) {
	fields, err := c.fields(ctx, "Tickets")
	if err != nil {
		return nil, fmt.Errorf("autotask: list picklists: %w", err)
	}
	c.labels.mu.Lock()
	c.labels.set(fields, time.Now())
	c.labels.mu.Unlock()
	var out []helpdesk.Picklist
	for _, tp := range ticketPicklists {
		f, ok := fields[strings.ToLower(tp.field)]
		if !ok {
			continue
		}
		out = append(out, helpdesk.Picklist{Kind: tp.kind, Values: convertValues(tp.kind, f.PicklistValues)})
	}
	return out, nil
}

func convertValues(kind helpdesk.PicklistKind, vals []picklistValue) []helpdesk.PicklistValue {
	out := make([]helpdesk.PicklistValue, 0, len(vals))
	for _, v := range vals {
		out = append(out, helpdesk.PicklistValue{ID: v.Value, Name: v.Label, Active: bool(v.IsActive),
			Default: v.IsDefaultValue, Sort: int(v.SortOrder.V),
			Closed: kind == helpdesk.PicklistStatus && v.Value == strconv.Itoa(statusComplete)})
	}
	return out
}

// CreatePicklistValue implements helpdesk.Provider. Ticket picklists are
// read-only through the REST API, so it is always ErrUnsupported.
func (c *Client) CreatePicklistValue(_ context.Context, kind helpdesk.PicklistKind, _, name string) (helpdesk.PicklistValue, error) {
	return helpdesk.PicklistValue{}, fmt.Errorf("autotask: create %s value %q: %w", kind, name, helpdesk.ErrUnsupported)
}

// valueOrDefault parses v, or returns the Tickets picklist default of
// field when v is empty.
func (c *Client) valueOrDefault(ctx context.Context, field, v string) (int64, error) {
	if v != "" {
		return requiredID(opTicketsCreate, field, v)
	}
	defaults, err := c.cache.ticketDefaults.get(func() (map[string]int64, error) { return c.ticketDefaults(ctx) })
	if err != nil {
		return 0, err
	}
	d, ok := defaults[field]
	if !ok {
		return 0, &helpdesk.Error{Provider: helpdesk.Autotask, Op: opTicketsCreate, Kind: helpdesk.ErrInvalid,
			Message: "no " + field + " given and the picklist has no default"}
	}
	return d, nil
}

func (c *Client) ticketDefaults(ctx context.Context) (map[string]int64, error) {
	fields, err := c.fields(ctx, "Tickets")
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for name, f := range fields {
		for _, v := range f.PicklistValues {
			if n, err := strconv.ParseInt(v.Value, 10, 64); err == nil && v.IsDefaultValue {
				out[name] = n
			}
		}
	}
	return out, nil
}

// publish holds the TicketNotes noteType and publish values the client
// writes and reads. Their values are set per tenant [K]: a publish value
// whose label says "internal" is internal.
type publish struct {
	noteType      int64
	external      int64
	internalValue int64
	internalSet   map[int64]bool
}

// internal reports whether a note's publish value is an internal one.
func (p publish) internal(v flexInt) bool { return v.Valid && p.internalSet[v.V] }

// publishValues reads (once) the TicketNotes picklists. Without them the
// client falls back to noteType 1 and publish 1 (the values the official
// Postman collection uses [K]) and publish 2 for internal notes [I].
func (c *Client) publishValues(ctx context.Context) (publish, error) {
	return c.cache.publish.get(func() (publish, error) {
		fields, err := c.fields(ctx, "TicketNotes")
		if err != nil {
			return publish{}, err
		}
		return publishFrom(fields), nil
	})
}

func publishFrom(fields map[string]fieldInfo) publish {
	p := publish{noteType: 1, external: 1, internalValue: 2, internalSet: map[int64]bool{}}
	if v, ok := pickDefault(fields["notetype"].PicklistValues, func(picklistValue) bool { return true }); ok {
		p.noteType = v
	}
	isInternal := func(v picklistValue) bool { return strings.Contains(strings.ToLower(v.Label), "internal") }
	vals := fields["publish"].PicklistValues
	if len(vals) == 0 {
		p.internalSet[2] = true
		return p
	}
	for _, v := range vals {
		if n, err := strconv.ParseInt(v.Value, 10, 64); err == nil && isInternal(v) {
			p.internalSet[n] = true
		}
	}
	if v, ok := pickDefault(vals, func(v picklistValue) bool { return !isInternal(v) }); ok {
		p.external = v
	}
	if v, ok := pickDefault(vals, isInternal); ok {
		p.internalValue = v
	}
	return p
}

// pickDefault returns the default active value among those keep accepts,
// else the first of them.
func pickDefault(vals []picklistValue, keep func(picklistValue) bool) (int64, bool) {
	var first *int64
	for _, v := range vals {
		n, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil || !keep(v) || !bool(v.IsActive) {
			continue
		}
		if v.IsDefaultValue {
			return n, true
		}
		if first == nil {
			first = &n
		}
	}
	if first == nil {
		return 0, false
	}
	return *first, true
}

// lookups caches metadata the client reads at most once.
type lookups struct {
	ticketDefaults memo[map[string]int64]
	publish        memo[publish]
	apiResource    memo[int64]
	hookFields     sync.Map // webhook entity → memo of field ids by normalised name
}

// memo holds a value computed once; a failed computation is retried on
// the next call.
type memo[T any] struct {
	mu  sync.Mutex
	ok  bool
	val T
}

func (m *memo[T]) get(f func() (T, error)) (T, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ok {
		return m.val, nil
	}
	v, err := f()
	if err != nil {
		return v, err
	}
	m.val, m.ok = v, true
	return v, nil
}
