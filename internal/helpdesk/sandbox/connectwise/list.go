package connectwise

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Paging limits from the Developer Guide.
const (
	defaultPageSize = 25
	maxPageSize     = 1000
)

// listParams are a list request's query parameters.
type listParams struct {
	cond    *node
	orderBy string
	desc    bool
	page    int
	size    int // as asked (or clamped)
	eff     int // as served (PageCap)
	forward bool
	pageID  int64
	fields  []string // partial response: top-level fields to keep (nil: all)
}

// knownListParams are the query parameters list endpoints accept
// (lower-case; CW reads them case-insensitively).
var knownListParams = map[string]bool{"conditions": true, "orderby": true, "page": true, "pagesize": true,
	"pageid": true, "childconditions": true, "customfieldconditions": true, "fields": true}

// queryParam reads a query parameter case-insensitively.
func queryParam(q url.Values, name string) (string, bool) {
	for k, v := range q {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0], true
		}
	}
	return "", false
}

// parseList reads paging, ordering and conditions, answering 400 itself
// when they are malformed.
func (e *Emulator) parseList(w http.ResponseWriter, r *http.Request) (listParams, bool) {
	p, err := e.listParams(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidObject", err.Error())
		return listParams{}, false
	}
	return p, true
}

func (e *Emulator) listParams(r *http.Request) (listParams, error) {
	s := e.Settings()
	q := r.URL.Query()
	if err := checkParams(q, s); err != nil {
		return listParams{}, err
	}
	p := listParams{forward: strings.EqualFold(r.Header.Get("pagination-type"), "forward-only")}
	var err error
	if p.size, err = intParam(q, "pageSize", defaultPageSize, 1); err != nil {
		return p, err
	}
	if p.size > maxPageSize && !s.ClampPageSize {
		return p, fmt.Errorf("pageSize %d is over the maximum of %d", p.size, maxPageSize)
	}
	p.size = min(p.size, maxPageSize)
	p.eff = p.size
	if s.PageCap > 0 {
		p.eff = min(p.size, s.PageCap)
	}
	cond, _ := queryParam(q, "conditions")
	if p.cond, err = parseConditions(cond); err != nil {
		return p, err
	}
	if f, ok := queryParam(q, "fields"); ok && f != "" {
		for _, name := range strings.Split(f, ",") {
			name = strings.TrimSpace(name)
			if name == "" || strings.Contains(name, "/") {
				return p, fmt.Errorf("fields %q: the sandbox serves top-level fields only", f)
			}
			p.fields = append(p.fields, name)
		}
	}
	return p, p.paging(q)
}

// project keeps the fields asked for of a rendered record (CW's partial
// responses [D]); names compare case-insensitively.
func project(rec any, fields []string) any {
	if fields == nil {
		return rec
	}
	b, err := json.Marshal(rec)
	var m map[string]json.RawMessage
	if err != nil || json.Unmarshal(b, &m) != nil {
		return rec
	}
	out := map[string]json.RawMessage{}
	for k, v := range m {
		for _, f := range fields {
			if strings.EqualFold(k, f) {
				out[k] = v
			}
		}
	}
	return out
}

// checkParams rejects unknown parameters and the ones the emulator does
// not implement.
func checkParams(q url.Values, s Settings) error {
	for k, v := range q {
		lk := strings.ToLower(k)
		if !knownListParams[lk] && !s.AllowUnknownFields {
			return fmt.Errorf("unknown query parameter %q", k)
		}
		if (lk == "childconditions" || lk == "customfieldconditions") && len(v) > 0 && v[0] != "" {
			return fmt.Errorf("query parameter %q is not supported by the sandbox", k)
		}
	}
	return nil
}

// paging reads page/pageId/orderBy for the paging mode.
func (p *listParams) paging(q url.Values) error {
	order, hasOrder := queryParam(q, "orderBy")
	var err error
	if p.forward {
		if hasOrder {
			return fmt.Errorf("orderBy cannot be used with forward-only pagination")
		}
		id, err := intParam(q, "pageId", 0, 0)
		p.pageID = int64(id)
		return err
	}
	if p.page, err = intParam(q, "page", 1, 1); err != nil {
		return err
	}
	if hasOrder {
		f := strings.Fields(strings.ToLower(order))
		if len(f) == 0 || len(f) > 2 || (len(f) == 2 && f[1] != "asc" && f[1] != "desc") {
			return fmt.Errorf("orderBy %q: want \"field asc\" or \"field desc\"", order)
		}
		p.orderBy, p.desc = f[0], len(f) == 2 && f[1] == "desc"
	}
	return nil
}

func intParam(q url.Values, name string, def, least int) (int, error) {
	v, ok := queryParam(q, name)
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < least {
		return 0, fmt.Errorf("%s %q is not a valid number", name, v)
	}
	return n, nil
}

// lister serves one resource's list endpoint.
type lister[R any] struct {
	fields fieldSet[R]
	id     func(R) int64
	render func(R) any
}

// serveList filters, orders and pages items (in id order) and writes the
// page with its Link header.
func serveList[R any](e *Emulator, w http.ResponseWriter, r *http.Request, items []R, l lister[R]) {
	p, ok := e.parseList(w, r)
	if !ok {
		return
	}
	match, err := l.filter(items, p)
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidObject", err.Error())
		return
	}
	var page []R
	if p.forward {
		page = match[:min(p.eff, len(match))]
		next := p.pageID
		if len(page) > 0 {
			next = l.id(page[len(page)-1])
		}
		w.Header().Set("Link", forwardLink(r, next))
	} else {
		start := min((p.page-1)*p.eff, len(match))
		page = match[start:min(start+p.eff, len(match))]
		if h := navigableLinks(r, p.page, max(1, (len(match)+p.eff-1)/p.eff)); h != "" {
			w.Header().Set("Link", h)
		}
	}
	out := make([]any, len(page))
	for i, it := range page {
		out[i] = project(l.render(it), p.fields)
	}
	writeJSON(w, http.StatusOK, out)
}

func (l lister[R]) filter(items []R, p listParams) ([]R, error) {
	pred, err := compile(p.cond, l.fields)
	if err != nil {
		return nil, err
	}
	var match []R
	for _, it := range items {
		if (!p.forward || l.id(it) > p.pageID) && pred(it) {
			match = append(match, it)
		}
	}
	slices.SortStableFunc(match, func(a, b R) int { return cmp.Compare(l.id(a), l.id(b)) })
	if p.orderBy == "" || p.orderBy == "id" && !p.desc {
		return match, nil
	}
	f, ok := l.fields[p.orderBy]
	if !ok {
		return nil, fmt.Errorf("orderBy: unknown field %q", p.orderBy)
	}
	slices.SortStableFunc(match, func(a, b R) int {
		c := order(f.get(a), f.get(b))
		if p.desc {
			return -c
		}
		return c
	})
	return match, nil
}

// linkURL is the request URL with one query parameter replaced.
func linkURL(r *http.Request, name, value string) string {
	q := r.URL.Query()
	for k := range q {
		if strings.EqualFold(k, name) {
			q.Del(k)
		}
	}
	q.Set(name, value)
	return scheme(r) + "://" + r.Host + r.URL.Path + "?" + strings.ReplaceAll(q.Encode(), "+", "%20")
}

// navigableLinks builds first/prev/next/last; next and prev are left out
// where they do not apply, first on the first page.
func navigableLinks(r *http.Request, page, last int) string {
	var parts []string
	add := func(p int, rel string) {
		parts = append(parts, fmt.Sprintf(`<%s>; rel="%s"`, linkURL(r, "page", strconv.Itoa(p)), rel))
	}
	if page > 1 {
		add(1, "first")
		add(min(page-1, last), "prev")
	}
	if page < last {
		add(page+1, "next")
	}
	add(last, "last")
	return strings.Join(parts, ", ")
}

// forwardLink is the forward-only Link: always a next with the last id
// served.
func forwardLink(r *http.Request, next int64) string {
	return fmt.Sprintf(`<%s>; rel="next"`, linkURL(r, "pageId", strconv.FormatInt(next, 10)))
}
