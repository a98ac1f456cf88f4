package zohodesk

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sync"
	"time"
	"unicode/utf8"
)

// webhookEvents are the subscription names Zoho documents.
var webhookEvents = map[string]bool{}

func init() {
	for _, n := range []string{"Ticket_Add", "Ticket_Update", "Ticket_Delete", "Ticket_Comment_Add",
		"Ticket_Comment_Update", "Ticket_Thread_Add", "Ticket_Attachment_Add", "Ticket_Attachment_Update",
		"Ticket_Attachment_Delete", "Ticket_Approval_Add", "Ticket_Approval_Update", "Contact_Add", "Contact_Update",
		"Contact_Delete", "Account_Add", "Account_Update", "Account_Delete", "Agent_Add", "Agent_Update",
		"Agent_Delete", "Agent_Presence_Update", "Department_Add", "Department_Update", "TimeEntry_Add",
		"TimeEntry_Update", "TimeEntry_Delete", "IM_Message_Add"} {
		webhookEvents[n] = true
	}
}

var subscriptionKeys = map[string]bool{"departmentIds": true, "includePrevState": true, "fields": true, "direction": true}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// Webhook is a registration as the emulator holds it.
type Webhook struct {
	ID                int64
	Name              string
	URL               string
	Description       string
	Subscriptions     map[string]json.RawMessage
	IncludeEventsFrom []string
	IgnoreSourceID    string
	Enabled           bool
	CreatedBy         int64
	Created, Modified time.Time
}

type hookStore struct {
	mu    sync.Mutex
	next  int64
	hooks []Webhook
}

func newHookStore() *hookStore { return &hookStore{next: 7000000} }

// Webhooks returns the registrations, by id.
func (e *Emulator) Webhooks() []Webhook {
	e.hooks.mu.Lock()
	defer e.hooks.mu.Unlock()
	return slices.Clone(e.hooks.hooks)
}

func (s *hookStore) get(id int64) (Webhook, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.hooks, func(h Webhook) bool { return h.ID == id })
	if i < 0 {
		return Webhook{}, false
	}
	return s.hooks[i], true
}

func (s *hookStore) put(h Webhook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.IndexFunc(s.hooks, func(x Webhook) bool { return x.ID == h.ID }); i >= 0 {
		s.hooks[i] = h
		return
	}
	s.hooks = append(s.hooks, h)
}

func (s *hookStore) remove(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.hooks)
	s.hooks = slices.DeleteFunc(s.hooks, func(h Webhook) bool { return h.ID == id })
	return len(s.hooks) < n
}

func renderWebhook(h Webhook) map[string]any {
	subs := map[string]any{}
	for k, v := range h.Subscriptions {
		subs[k] = v
	}
	return map[string]any{
		"id": WireID(h.ID), "name": h.Name, "url": h.URL, "description": nullable(h.Description),
		"subscriptions": subs, "includeEventsFrom": h.IncludeEventsFrom, "ignoreSourceId": nullable(h.IgnoreSourceID),
		"isEnabled": h.Enabled, "createdBy": WireID(h.CreatedBy), "createdTime": isoTime(h.Created),
		"modifiedTime": isoTime(h.Modified), "type": "CUSTOMER_WEBHOOK",
	}
}

// handleWebhooks serves GET and POST /webhooks.
func (e *Emulator) handleWebhooks(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		if ae := checkParams(r.URL.Query()); ae != nil {
			writeAPIError(w, ae)
			return
		}
		var data []map[string]any
		for _, h := range e.Webhooks() {
			data = append(data, renderWebhook(h))
		}
		writeList(w, data, 0, false)
	case http.MethodPost:
		e.createWebhook(w, r)
	default:
		methodNotAllowed(w)
	}
}

var webhookFields = []string{"name", "url", "description", "subscriptions", "includeEventsFrom", "ignoreSourceId", "isEnabled"}

func (e *Emulator) createWebhook(w http.ResponseWriter, r *http.Request) {
	b, ae := readBody(r, webhookFields...)
	if ae == nil && (!b.has("url") || !b.has("subscriptions")) {
		ae = invalidData("url", "missing", "url and subscriptions are required")
		if b.has("url") {
			ae = invalidData("subscriptions", "missing", "subscriptions is required")
		}
	}
	h := Webhook{Enabled: true, CreatedBy: e.world.APIUser().ID}
	if ae == nil {
		ae = applyWebhook(b, &h)
	}
	if ae == nil && len(e.Webhooks()) >= e.opt.MaxWebhooks {
		ae = &apiError{status: http.StatusForbidden, code: "LICENSE_ACCESS_LIMITED", msg: "The maximum number of webhooks has been reached."}
	}
	if ae == nil {
		ae = e.handshake(r.Context(), h.URL)
	}
	if ae != nil {
		writeAPIError(w, ae)
		return
	}
	e.hooks.mu.Lock()
	e.hooks.next++
	h.ID = e.hooks.next
	e.hooks.mu.Unlock()
	h.Created, h.Modified = e.world.Now(), e.world.Now()
	e.hooks.put(h)
	writeJSON(w, http.StatusOK, renderWebhook(h))
}

// handleWebhook serves GET, PATCH and DELETE /webhooks/{id}.
func (e *Emulator) handleWebhook(w http.ResponseWriter, r *http.Request, id int64) {
	h, ok := e.hooks.get(id)
	if !ok {
		writeAPIError(w, notFound())
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, renderWebhook(h))
	case http.MethodDelete:
		e.hooks.remove(id)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPatch:
		e.patchWebhook(w, r, h)
	default:
		methodNotAllowed(w)
	}
}

func (e *Emulator) patchWebhook(w http.ResponseWriter, r *http.Request, h Webhook) {
	b, ae := readBody(r, webhookFields...)
	old := h.URL
	if ae == nil {
		ae = applyWebhook(b, &h)
	}
	if ae == nil && h.URL != old {
		ae = e.handshake(r.Context(), h.URL)
	}
	if ae != nil {
		writeAPIError(w, ae)
		return
	}
	h.Modified = e.world.Now()
	e.hooks.put(h)
	writeJSON(w, http.StatusOK, renderWebhook(h))
}

// applyWebhook validates and applies the fields present in b.
func applyWebhook(b body, h *Webhook) *apiError {
	for _, f := range []struct {
		name string
		max  int
		dst  *string
	}{{"name", 100, &h.Name}, {"url", 500, &h.URL}, {"description", 3000, &h.Description}} {
		if !b.has(f.name) {
			continue
		}
		v, ae := b.str(f.name)
		if ae != nil || utf8.RuneCountInString(v) > f.max {
			return firstErr(ae, invalidData(f.name, "invalid", "too long"))
		}
		*f.dst = v
	}
	if u, err := url.Parse(h.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return invalidData("url", "invalid", "url must be an absolute http(s) URL")
	}
	if ae := applySubscriptions(b, h); ae != nil {
		return ae
	}
	return applyWebhookOptions(b, h)
}

func applySubscriptions(b body, h *Webhook) *apiError {
	if !b.has("subscriptions") {
		return nil
	}
	var subs map[string]json.RawMessage
	if json.Unmarshal(b["subscriptions"], &subs) != nil || len(subs) == 0 {
		return invalidData("subscriptions", "invalid", "subscriptions must be a non-empty object")
	}
	for name, v := range subs {
		if !webhookEvents[name] {
			return invalidData("subscriptions/"+name, "invalid", "unknown event")
		}
		if string(v) == "null" {
			continue
		}
		var opts map[string]json.RawMessage
		if json.Unmarshal(v, &opts) != nil {
			return invalidData("subscriptions/"+name, "invalid", "must be null or an object")
		}
		for k := range opts {
			if !subscriptionKeys[k] {
				return invalidData("subscriptions/"+name+"/"+k, "invalid", "unknown field")
			}
		}
	}
	h.Subscriptions = subs
	return nil
}

func applyWebhookOptions(b body, h *Webhook) *apiError {
	if b.has("ignoreSourceId") && !b.isNull("ignoreSourceId") {
		v, ae := b.str("ignoreSourceId")
		if ae != nil || !uuidPattern.MatchString(v) {
			return firstErr(ae, invalidData("ignoreSourceId", "invalid", "must be a UUID"))
		}
		h.IgnoreSourceID = v
	}
	if b.has("includeEventsFrom") {
		var from []string
		if json.Unmarshal(b["includeEventsFrom"], &from) != nil || slices.ContainsFunc(from, func(s string) bool { return s != "AUTOMATION" }) {
			return invalidData("includeEventsFrom", "invalid", "allowed values: AUTOMATION")
		}
		h.IncludeEventsFrom = from
	}
	if en, present, ae := b.boolean("isEnabled"); ae != nil {
		return ae
	} else if present {
		h.Enabled = en
	}
	return nil
}

// handshake validates a subscriber URL as Zoho does: a GET that must
// answer 200, else a POST that must answer 200, else 422 INVALID_DATA.
func (e *Emulator) handshake(ctx context.Context, target string) *apiError {
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		var body *bytes.Reader
		if method == http.MethodPost {
			body = bytes.NewReader([]byte("[]"))
		} else {
			body = bytes.NewReader(nil)
		}
		req, err := http.NewRequestWithContext(ctx, method, target, body)
		if err != nil {
			break
		}
		if method == http.MethodPost {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := e.client.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return invalidData("url", "invalid", "The URL could not be validated: it must answer a GET or POST with 200.")
}
