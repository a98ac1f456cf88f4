package autotask

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// maxBody bounds a request body.
const maxBody = 1 << 20

// route dispatches an authenticated API request by its path segments.
func (e *Emulator) route(w http.ResponseWriter, r *http.Request, segs []string) {
	name := strings.ToLower(segs[0])
	switch {
	case name == "thresholdinformation" && len(segs) == 1:
		e.threshold(w, r)
	case hookKindByFields(name) != nil:
		e.routeHookFields(w, r, hookKindByFields(name), segs[1:])
	case hookKindByEntity(name) != nil:
		e.routeHooks(w, r, hookKindByEntity(name), segs[1:])
	default:
		ent, ok := dataEntities[name]
		if !ok {
			writeErrors(w, http.StatusNotFound, "No HTTP resource was found that matches the request URI.")
			return
		}
		e.routeData(w, r, name, ent, segs[1:])
	}
}

func (e *Emulator) routeData(w http.ResponseWriter, r *http.Request, name string, ent dataEntity, rest []string) {
	lower := make([]string, len(rest))
	for i, s := range rest {
		lower[i] = strings.ToLower(s)
	}
	switch {
	case len(rest) == 0:
		e.routeWrite(w, r, name)
	case slices.Equal(lower, []string{"query"}):
		e.query(w, r, ent, false)
	case slices.Equal(lower, []string{"query", "count"}):
		e.query(w, r, ent, true)
	case slices.Equal(lower, []string{"query", "next"}):
		e.next(w, r, ent)
	case slices.Equal(lower, []string{"entityinformation", "fields"}):
		e.fieldsInfo(w, r, ent.schema)
	case len(rest) == 1:
		e.getItem(w, r, ent, rest[0])
	case len(rest) == 2 && name == "tickets" && lower[1] == "notes":
		e.ticketNotes(w, r, rest[0])
	default:
		writeErrors(w, http.StatusNotFound, "No HTTP resource was found that matches the request URI.")
	}
}

func (e *Emulator) routeWrite(w http.ResponseWriter, r *http.Request, name string) {
	switch {
	case name == "tickets" && r.Method == http.MethodPost:
		e.createTicket(w, r)
	case name == "tickets" && r.Method == http.MethodPatch:
		e.patchTicket(w, r)
	case name == "timeentries" && r.Method == http.MethodPost:
		e.createTimeEntry(w, r)
	default:
		methodNotAllowed(w, r)
	}
}

// readBody reads a bounded request body.
func readBody(r *http.Request) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r.Body, maxBody))
}

// query answers GET /{Entity}/query?search= and POST /{Entity}/query
// [D][K], or their /count forms.
func (e *Emulator) query(w http.ResponseWriter, r *http.Request, ent dataEntity, count bool) {
	var body []byte
	switch r.Method {
	case http.MethodGet:
		body = []byte(r.URL.Query().Get("search"))
	case http.MethodPost:
		var err error
		if body, err = readBody(r); err != nil {
			writeErrors(w, http.StatusBadRequest, "Unreadable request body.")
			return
		}
	default:
		methodNotAllowed(w, r)
		return
	}
	q, err := parseQuery(body, ent.schema)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, err.Error())
		return
	}
	if count {
		e.count(w, ent, q)
		return
	}
	e.page(w, r, ent, q, 0)
}

func (e *Emulator) count(w http.ResponseWriter, ent dataEntity, q parsedQuery) {
	n := 0
	for _, rc := range ent.list(e, e.picks(), 0) {
		if matchAll(q.filter, rc) {
			n++
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"queryCount": n})
}

// page answers one page of q after the given id: records in id order
// (keyset), at most MaxRecords (or PageCap), with a nextPageUrl that
// carries the whole query so the filter survives paging.
func (e *Emulator) page(w http.ResponseWriter, r *http.Request, ent dataEntity, q parsedQuery, after int64) {
	limit := q.max
	if e.set.PageCap > 0 && e.set.PageCap < limit {
		limit = e.set.PageCap
	}
	var items []rec
	more := false
	for _, rc := range ent.list(e, e.picks(), after) {
		if !matchAll(q.filter, rc) {
			continue
		}
		if len(items) == limit {
			more = true
			break
		}
		items = append(items, rc)
	}
	var next any
	if more || (e.set.NextOnFullLastPage && len(items) == limit) {
		next = e.nextURL(r, ent.schema.name, q.raw, items[len(items)-1].id())
	}
	out := make([]map[string]any, len(items))
	for i, rc := range items {
		out[i] = project(rc, q.include)
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out, "pageDetails": map[string]any{
		"count": len(items), "requestCount": q.max, "prevPageUrl": nil, "nextPageUrl": next}})
}

func project(rc rec, include []string) map[string]any {
	if len(include) == 0 {
		return rc.wire()
	}
	out := map[string]any{"id": rc["id"]}
	for _, f := range include {
		out[f] = jsonValue(rc[f])
	}
	return out
}

// pagingToken is the opaque state of a next-page URL.
type pagingToken struct {
	Query json.RawMessage `json:"q"`
	After int64           `json:"a"`
}

func (e *Emulator) nextURL(r *http.Request, entity string, raw []byte, after int64) string {
	b, _ := json.Marshal(pagingToken{Query: compactJSON(raw), After: after})
	return e.apiRoot(r) + "/" + entity + "/query/next?paging=" + url.QueryEscape(base64.RawURLEncoding.EncodeToString(b))
}

func compactJSON(b []byte) json.RawMessage {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return json.RawMessage("null")
	}
	out, _ := json.Marshal(v)
	return out
}

// next answers a next-page URL by GET or POST (a POST body, if any, is
// ignored: the URL carries the query [K]).
func (e *Emulator) next(w http.ResponseWriter, r *http.Request, ent dataEntity) {
	if !slices.Contains(e.set.NextPageMethods, r.Method) {
		methodNotAllowed(w, r)
		return
	}
	tok, err := decodeToken(r.URL.Query().Get("paging"))
	if err != nil {
		writeErrors(w, http.StatusBadRequest, "Invalid paging token.")
		return
	}
	q, err := parseQuery(tok.Query, ent.schema)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, err.Error())
		return
	}
	e.page(w, r, ent, q, tok.After)
}

func decodeToken(s string) (pagingToken, error) {
	var t pagingToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return t, err
	}
	if err := json.Unmarshal(b, &t); err != nil || t.After <= 0 {
		return t, errors.New("bad token")
	}
	return t, nil
}

// getItem answers GET /{Entity}/{id}: {"item":{...}}, or {"item":null}
// for a missing id [K].
func (e *Emulator) getItem(w http.ResponseWriter, r *http.Request, ent dataEntity, idText string) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, r)
		return
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		writeErrors(w, http.StatusNotFound, "No HTTP resource was found that matches the request URI.")
		return
	}
	if rc, ok := ent.one(e, id); ok {
		writeJSON(w, http.StatusOK, map[string]any{"item": rc.wire()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"item": nil})
}

// threshold answers GET /ThresholdInformation [K/I].
func (e *Emulator) threshold(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, r)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"externalRequestThreshold": e.set.ThresholdLimit,
		"requestThresholdTimeframe": 60, "currentTimeframeRequestCount": e.Usage()})
}

// fieldsInfo answers GET /{Entity}/entityInformation/fields [D][K].
func (e *Emulator) fieldsInfo(w http.ResponseWriter, r *http.Request, ent *entity) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, r)
		return
	}
	pk := e.picks()
	out := make([]map[string]any, 0, len(ent.fields))
	for _, f := range ent.fields {
		out = append(out, fieldWire(f, pk.lists[f.picklist]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"fields": out})
}

func fieldWire(f field, vals []pickValue) map[string]any {
	pv := make([]map[string]any, 0, len(vals))
	for _, v := range vals {
		pv = append(pv, v.wire())
	}
	var values any
	if f.picklist != "" {
		values = pv
	}
	return map[string]any{"name": f.name, "dataType": f.typ, "length": f.length, "isRequired": f.required,
		"isReadOnly": f.readOnly, "isQueryable": f.queryable, "isReference": f.reference != "",
		"referenceEntityType": f.reference, "isPickList": f.picklist != "", "picklistValues": values,
		"picklistParentValueField": "", "isSupportedWebhookField": f.webhook}
}
