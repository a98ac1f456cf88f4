package autotask

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// hookEntity is one webhook registration entity [D].
type hookEntity struct {
	name       string  // TicketWebhooks
	fieldsName string  // TicketWebhookFields
	payload    string  // EntityType in deliveries
	kind       string  // sandbox change kind
	data       *entity // the watched entity: its fields are the catalog
	schema     *entity // the registration's own fields
}

func newHookEntity(name, payload, kind string, data *entity) *hookEntity {
	single := strings.TrimSuffix(name, "s")
	return &hookEntity{name: name, fieldsName: single + "Fields", payload: payload, kind: kind, data: data,
		schema: newEntity(name, ro("id", tLong), maxLen(rw("name", tString), 50),
			maxLen(req("webhookUrl", tString), 500), maxLen(req("deactivationUrl", tString), 500),
			maxLen(field{name: "secretKey", typ: tString}, 64), rw("isActive", tBool), ro("isReady", tBool),
			rw("isSubscribedToCreateEvents", tBool), rw("isSubscribedToUpdateEvents", tBool),
			rw("isSubscribedToDeleteEvents", tBool), maxLen(rw("notificationEmailAddress", tString), 150),
			rw("sendThresholdExceededNotification", tBool), maxLen(ro("webhookGUID", tString), 100),
			ro("ownerResourceID", tInt))}
}

// Webhook entities [D]: tickets, ticket notes, contacts, companies.
var hookEntities = []*hookEntity{
	newHookEntity("TicketWebhooks", "Ticket", sandbox.KindTicket, ticketsEntity),
	newHookEntity("TicketNoteWebhooks", "TicketNote", sandbox.KindNote, notesEntity),
	newHookEntity("ContactWebhooks", "Contact", sandbox.KindContact, contactsEntity),
	newHookEntity("CompanyWebhooks", "Company", sandbox.KindCompany, companiesEntity),
}

// Child collection schemas [D][K].
var (
	hookFieldSchema = newEntity("WebhookFields", ro("id", tLong), rw("webhookID", tLong), req("fieldID", tInt),
		rw("isSubscribedField", tBool), rw("isDisplayAlwaysField", tBool))
	hookExcludedSchema = newEntity("WebhookExcludedResources", ro("id", tLong), rw("webhookID", tLong),
		req("resourceID", tInt))
)

func hookKindByEntity(lower string) *hookEntity {
	for _, h := range hookEntities {
		if strings.ToLower(h.name) == lower {
			return h
		}
	}
	return nil
}

func hookKindByFields(lower string) *hookEntity {
	for _, h := range hookEntities {
		if strings.ToLower(h.fieldsName) == lower {
			return h
		}
	}
	return nil
}

// catalogID is a field's id in the fieldID picklist: its position in the
// watched entity's schema, plus one.
func (he *hookEntity) catalog() []pickValue {
	out := make([]pickValue, len(he.data.fields))
	for i, f := range he.data.fields {
		out[i] = pickValue{value: int64(i + 1), label: f.name, active: true, sort: i}
	}
	return out
}

func (he *hookEntity) fieldByID(id int64) (field, bool) {
	if id < 1 || id > int64(len(he.data.fields)) {
		return field{}, false
	}
	return he.data.fields[id-1], true
}

// hook is one registration.
type hook struct {
	ent                        *hookEntity
	id                         int64
	name, url, deactivation    string
	secret, email, guid        string
	active, create, update     bool
	del, thresholdNotification bool
	owner                      int64
	fields                     map[int64]hookSub // child id → subscription
	excluded                   map[int64]int64   // child id → resource
	seq                        int64
	failures                   int
}

type hookSub struct {
	fieldID             int64
	subscribed, display bool
}

func (h *hook) ready() bool { return len(h.fields) > 0 }

func (h *hook) rec() rec {
	return rec{"id": h.id, "name": h.name, "webhookUrl": h.url, "deactivationUrl": h.deactivation,
		"isActive": h.active, "isReady": h.ready(), "isSubscribedToCreateEvents": h.create,
		"isSubscribedToUpdateEvents": h.update, "isSubscribedToDeleteEvents": h.del,
		"notificationEmailAddress": h.email, "sendThresholdExceededNotification": h.thresholdNotification,
		"webhookGUID": h.guid, "ownerResourceID": h.owner}
}

// apply sets the registration fields present in f.
func (h *hook) apply(f fields) {
	set := map[string]*bool{"isActive": &h.active, "isSubscribedToCreateEvents": &h.create,
		"isSubscribedToUpdateEvents": &h.update, "isSubscribedToDeleteEvents": &h.del,
		"sendThresholdExceededNotification": &h.thresholdNotification}
	for name, dst := range set {
		if f.has(name) {
			*dst = f[name] == true
		}
	}
	strs := map[string]*string{"name": &h.name, "webhookUrl": &h.url, "deactivationUrl": &h.deactivation,
		"secretKey": &h.secret, "notificationEmailAddress": &h.email}
	for name, dst := range strs {
		if f.has(name) {
			*dst = f.str(name)
		}
	}
}

// dataEntity lets the generic query and get handlers serve registrations.
func (he *hookEntity) dataEntity() dataEntity {
	return dataEntity{schema: he.schema, list: func(e *Emulator, _ *picks, after int64) []rec {
		e.mu.Lock()
		defer e.mu.Unlock()
		var out []rec
		for _, h := range e.hooks {
			if h.ent == he && h.id > after {
				out = append(out, h.rec())
			}
		}
		return sortByID(out)
	}}
}

func (e *Emulator) routeHooks(w http.ResponseWriter, r *http.Request, he *hookEntity, rest []string) {
	lower := make([]string, len(rest))
	for i, s := range rest {
		lower[i] = strings.ToLower(s)
	}
	switch {
	case len(rest) == 0 && r.Method == http.MethodPost:
		e.createHook(w, r, he)
	case len(rest) == 0 && r.Method == http.MethodPatch:
		e.patchHook(w, r, he)
	case len(rest) == 0:
		methodNotAllowed(w, r)
	case len(rest) == 1 && r.Method == http.MethodDelete:
		e.deleteHook(w, he, rest[0])
	case len(rest) >= 2 && (lower[1] == "fields" || lower[1] == "excludedresources"):
		e.routeHookChild(w, r, he, rest[0], lower[1], rest[2:])
	default:
		e.routeData(w, r, strings.ToLower(he.name), he.dataEntity(), rest)
	}
}

func (e *Emulator) routeHookFields(w http.ResponseWriter, r *http.Request, he *hookEntity, rest []string) {
	if len(rest) != 2 || !strings.EqualFold(rest[0], "entityInformation") || !strings.EqualFold(rest[1], "fields") {
		writeErrors(w, http.StatusNotFound, "No HTTP resource was found that matches the request URI.")
		return
	}
	if r.Method != http.MethodGet {
		methodNotAllowed(w, r)
		return
	}
	out := []map[string]any{fieldWire(ro("id", tLong), nil), fieldWire(rw("webhookID", tLong), nil),
		fieldWire(pick(req("fieldID", tInt), "fieldID"), he.catalog()),
		fieldWire(rw("isSubscribedField", tBool), nil), fieldWire(rw("isDisplayAlwaysField", tBool), nil)}
	writeJSON(w, http.StatusOK, map[string]any{"fields": out})
}

// createHook answers POST /{X}Webhooks with {"itemId":N} [D][K]. A new
// registration is not ready until it has a field [D].
func (e *Emulator) createHook(w http.ResponseWriter, r *http.Request, he *hookEntity) {
	f, err := e.decodeWrite(r, he.schema)
	if err == nil {
		err = f.missing(he.schema)
	}
	if err == nil {
		err = checkHookURLs(f)
	}
	if err != nil {
		writeFailure(w, err)
		return
	}
	e.mu.Lock()
	e.nextID++
	h := &hook{ent: he, id: e.nextID, owner: e.apiUser.ID, fields: map[int64]hookSub{}, excluded: map[int64]int64{}}
	h.guid = fmt.Sprintf("%08x-0000-4000-8000-%012x", h.id, h.id)
	h.apply(f)
	e.hooks[h.id] = h
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"itemId": h.id})
}

func checkHookURLs(f fields) error {
	for _, name := range []string{"webhookUrl", "deactivationUrl"} {
		if !f.has(name) {
			continue
		}
		u, err := url.Parse(f.str(name))
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return rulef("Field '%s' must be an absolute URL.", name)
		}
	}
	return nil
}

// patchHook answers PATCH /{X}Webhooks with the id in the body [D].
func (e *Emulator) patchHook(w http.ResponseWriter, r *http.Request, he *hookEntity) {
	f, err := e.decodeWrite(r, he.schema)
	if err == nil && f.int("id") == 0 {
		err = badQuery("PATCH requires the id of the entity in the body.")
	}
	if err == nil {
		err = checkHookURLs(f)
	}
	if err != nil {
		writeFailure(w, err)
		return
	}
	e.mu.Lock()
	h, ok := e.hooks[f.int("id")]
	if ok && h.ent == he {
		h.apply(f)
		h.failures = 0
	}
	e.mu.Unlock()
	if !ok || h.ent != he {
		writeFailure(w, rulef("%s %d does not exist.", he.name, f.int("id")))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"itemId": h.id})
}

func (e *Emulator) deleteHook(w http.ResponseWriter, he *hookEntity, idText string) {
	id, _ := strconv.ParseInt(idText, 10, 64)
	e.mu.Lock()
	h, ok := e.hooks[id]
	if ok && h.ent == he {
		delete(e.hooks, id)
	}
	e.mu.Unlock()
	if !ok || h.ent != he {
		writeErrors(w, e.set.DeleteMissingStatus, fmt.Sprintf("%s %s does not exist.", he.name, idText))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"itemId": id})
}

// routeHookChild serves /{X}Webhooks/{id}/Fields and
// /{X}Webhooks/{id}/ExcludedResources [D].
func (e *Emulator) routeHookChild(w http.ResponseWriter, r *http.Request, he *hookEntity, idText, child string, rest []string) {
	id, _ := strconv.ParseInt(idText, 10, 64)
	e.mu.Lock()
	h, ok := e.hooks[id]
	e.mu.Unlock()
	switch {
	case !ok || h.ent != he:
		writeFailure(w, rulef("%s %s does not exist.", he.name, idText))
	case len(rest) == 1 && r.Method == http.MethodDelete:
		e.deleteHookChild(w, h, child, rest[0])
	case len(rest) > 0:
		writeErrors(w, http.StatusNotFound, "No HTTP resource was found that matches the request URI.")
	case r.Method == http.MethodGet:
		e.listHookChild(w, h, child)
	case r.Method == http.MethodPost:
		e.addHookChild(w, r, h, child)
	default:
		methodNotAllowed(w, r)
	}
}

func (e *Emulator) listHookChild(w http.ResponseWriter, h *hook, child string) {
	e.mu.Lock()
	var items []map[string]any
	if child == "fields" {
		for cid, s := range h.fields {
			items = append(items, map[string]any{"id": cid, "webhookID": h.id, "fieldID": s.fieldID,
				"isSubscribedField": s.subscribed, "isDisplayAlwaysField": s.display})
		}
	} else {
		for cid, res := range h.excluded {
			items = append(items, map[string]any{"id": cid, "webhookID": h.id, "resourceID": res})
		}
	}
	e.mu.Unlock()
	slices.SortFunc(items, func(a, b map[string]any) int { return int(a["id"].(int64) - b["id"].(int64)) })
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "pageDetails": map[string]any{
		"count": len(items), "requestCount": maxRecords, "prevPageUrl": nil, "nextPageUrl": nil}})
}

func (e *Emulator) addHookChild(w http.ResponseWriter, r *http.Request, h *hook, child string) {
	schema := hookExcludedSchema
	if child == "fields" {
		schema = hookFieldSchema
	}
	f, err := e.decodeWrite(r, schema)
	if err == nil {
		err = f.missing(schema)
	}
	if err == nil && f.int("webhookID") != 0 && f.int("webhookID") != h.id {
		err = rulef("webhookID %d does not match the parent webhook %d.", f.int("webhookID"), h.id)
	}
	if err == nil && child != "fields" && !e.resourceExists(f.int("resourceID")) {
		err = rulef("Resource %d does not exist.", f.int("resourceID"))
	}
	var cid int64
	if err == nil {
		cid, err = e.storeHookChild(h, child, f)
	}
	if err != nil {
		writeFailure(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"itemId": cid})
}

func (e *Emulator) resourceExists(id int64) bool {
	_, ok := e.refs().active[id]
	return ok
}

func (e *Emulator) storeHookChild(h *hook, child string, f fields) (int64, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if child == "excludedresources" {
		for _, res := range h.excluded {
			if res == f.int("resourceID") {
				return 0, rulef("Resource %d is already excluded.", res)
			}
		}
		e.nextID++
		h.excluded[e.nextID] = f.int("resourceID")
		return e.nextID, nil
	}
	fid := f.int("fieldID")
	if _, ok := h.ent.fieldByID(fid); !ok {
		return 0, rulef("Value %d is not a valid fieldID.", fid)
	}
	for _, s := range h.fields {
		if s.fieldID == fid {
			return 0, rulef("Field %d is already part of this webhook.", fid)
		}
	}
	e.nextID++
	h.fields[e.nextID] = hookSub{fieldID: fid, subscribed: f["isSubscribedField"] == true,
		display: f["isDisplayAlwaysField"] == true}
	return e.nextID, nil
}

func (e *Emulator) deleteHookChild(w http.ResponseWriter, h *hook, child, cidText string) {
	cid, _ := strconv.ParseInt(cidText, 10, 64)
	e.mu.Lock()
	_, okF := h.fields[cid]
	_, okE := h.excluded[cid]
	ok := (child == "fields" && okF) || (child == "excludedresources" && okE)
	delete(h.fields, cid)
	delete(h.excluded, cid)
	e.mu.Unlock()
	if !ok {
		writeErrors(w, e.set.DeleteMissingStatus, fmt.Sprintf("Child %s does not exist.", cidText))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"itemId": cid})
}

// WebhookInfo is a registration as the emulator holds it, for tests.
type WebhookInfo struct {
	Entity   string  // TicketWebhooks, ...
	ID       int64   // registration id
	Name     string  // Name as registered
	URL      string  // WebhookUrl
	Active   bool    // IsActive (false once deactivated)
	Ready    bool    // IsReady: at least one field
	Fields   int     // number of field subscriptions
	Excluded []int64 // excluded resource IDs
}

// Webhooks returns every registration, by ID.
func (e *Emulator) Webhooks() []WebhookInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []WebhookInfo
	for _, h := range e.hooks {
		wi := WebhookInfo{Entity: h.ent.name, ID: h.id, Name: h.name, URL: h.url, Active: h.active,
			Ready: h.ready(), Fields: len(h.fields)}
		for _, res := range h.excluded {
			wi.Excluded = append(wi.Excluded, res)
		}
		out = append(out, wi)
	}
	slices.SortFunc(out, func(a, b WebhookInfo) int { return int(a.ID - b.ID) })
	return out
}
