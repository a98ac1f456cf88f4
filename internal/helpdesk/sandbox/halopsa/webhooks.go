package halopsa

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Halo webhook events the emulator knows [INF names], and which World
// changes fire them.
const (
	EventNewTicket     = "New Ticket Logged"
	EventTicketUpdated = "Ticket Updated"
	EventTicketDeleted = "Ticket Deleted"
	EventActionAdded   = "Action Added"
)

var knownEvents = []string{EventNewTicket, EventTicketUpdated, EventTicketDeleted, EventActionAdded,
	"Ticket Status Changed", "Ticket Reassigned"}

// webhookFields are the registration fields a POST may carry.
var webhookFields = fieldSet("id", "name", "type", "url", "content_type", "method", "active",
	"authentication_type", "basic_username", "basic_password", "events", "payload_type", "custom_payload",
	"note", "batch_method", "batch_delay_seconds", "batch_limit", "auto_disable_attempts",
	"notify_on_failure", "log_retention_policy_days", "infinite_loop_threshold")

// Webhook is one registration as the emulated Halo holds it.
type Webhook struct {
	ID                  string   `json:"id"`
	Name                string   `json:"name"`
	Type                int      `json:"type"`
	URL                 string   `json:"url"`
	ContentType         string   `json:"content_type"`
	Method              int      `json:"method"`
	Active              bool     `json:"active"`
	AuthenticationType  int      `json:"authentication_type"`
	BasicUsername       string   `json:"basic_username"`
	BasicPassword       string   `json:"-"` // never read back
	Events              []string `json:"-"`
	PayloadType         int      `json:"payload_type"`
	Note                string   `json:"note"`
	BatchMethod         int      `json:"batch_method"`
	AutoDisableAttempts int      `json:"auto_disable_attempts"`
	// Failures counts consecutive failed deliveries.
	Failures int `json:"-"`
}

// wireWebhook is a registration as GET and POST answer it: events as
// [{"name": ...}] [INF shape], basic_password omitted.
type wireWebhook struct {
	Webhook
	Events []map[string]string `json:"events"`
}

func (h *Webhook) wire() wireWebhook {
	ev := make([]map[string]string, len(h.Events))
	for i, e := range h.Events {
		ev[i] = map[string]string{"name": e}
	}
	return wireWebhook{Webhook: *h, Events: ev}
}

// getWebhooks serves GET /Webhook (a bare array [INF]) and
// GET /Webhook/{id}.
func (s *Server) getWebhooks(w http.ResponseWriter, _ *http.Request, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id != "" {
		if h := s.hook(id); h != nil {
			writeJSON(w, http.StatusOK, h.wire())
			return
		}
		writeNotFound(w, "Webhook "+id+" not found.")
		return
	}
	out := make([]wireWebhook, len(s.hooks))
	for i, h := range s.hooks {
		out[i] = h.wire()
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) hook(id string) *Webhook {
	for _, h := range s.hooks {
		if strings.EqualFold(h.ID, id) {
			return h
		}
	}
	return nil
}

// deleteWebhook serves DELETE /Webhook/{id}.
func (s *Server) deleteWebhook(w http.ResponseWriter, _ *http.Request, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.hooks, func(h *Webhook) bool { return strings.EqualFold(h.ID, id) })
	if id == "" || i < 0 {
		writeNotFound(w, "Webhook "+id+" not found.")
		return
	}
	s.hooks = slices.Delete(s.hooks, i, i+1)
	writeJSON(w, http.StatusOK, map[string]string{"id": id})
}

// postWebhooks serves POST /Webhook: an array upserted by uuid id. An
// absent or all-zero id creates with a new id; an unknown id creates with
// that id [INF].
func (s *Server) postWebhooks(w http.ResponseWriter, r *http.Request, _ string) {
	items, errs, ok := s.readItems(w, r, webhookFields)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	planned := make([]Webhook, len(items))
	for i, it := range items {
		planned[i] = s.planWebhook(it)
	}
	if len(errs) > 0 {
		errs.write(w)
		return
	}
	saved := make([]any, len(planned))
	for i, h := range planned {
		saved[i] = s.storeHook(h).wire()
	}
	s.writeSaved(w, saved)
}

func (s *Server) storeHook(h Webhook) *Webhook {
	if cur := s.hook(h.ID); cur != nil {
		*cur = h
		return cur
	}
	p := &h
	s.hooks = append(s.hooks, p)
	return p
}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

const zeroUUID = "00000000-0000-0000-0000-000000000000"

// planWebhook validates one item against the stored registration it
// updates (if any) and returns the registration to store.
func (s *Server) planWebhook(it *item) Webhook {
	var h Webhook
	id, _ := it.str("id")
	if id != "" && !uuidPattern.MatchString(id) {
		it.fail("id", "The value '"+id+"' is not a valid Guid.")
	}
	if cur := s.hook(id); cur != nil && id != "" {
		h = *cur
		h.Events = slices.Clone(cur.Events)
	} else {
		h = Webhook{ID: strings.ToLower(id), ContentType: "application/json", Active: true}
		if id == "" || id == zeroUUID {
			h.ID = newUUID()
		}
		if name, _ := it.str("name"); strings.TrimSpace(name) == "" {
			it.fail("name", "A name is required.")
		}
	}
	planWebhookFields(it, &h)
	validateWebhook(it, &h)
	return h
}

func planWebhookFields(it *item, h *Webhook) {
	strs := map[string]*string{"name": &h.Name, "url": &h.URL, "content_type": &h.ContentType,
		"basic_username": &h.BasicUsername, "basic_password": &h.BasicPassword, "note": &h.Note}
	for k, p := range strs {
		if v, ok := it.str(k); ok {
			*p = v
		}
	}
	ints := map[string]*int{"type": &h.Type, "method": &h.Method, "authentication_type": &h.AuthenticationType,
		"payload_type": &h.PayloadType, "batch_method": &h.BatchMethod, "auto_disable_attempts": &h.AutoDisableAttempts}
	for k, p := range ints {
		if v, ok := it.int(k); ok {
			*p = int(v)
		}
	}
	if v, ok := it.boolean("active"); ok {
		h.Active = v
		h.Failures = 0
	}
	if raw, ok := it.raw("events"); ok {
		h.Events = planEvents(it, raw)
	}
}

// planEvents reads events as [{"name": "<event>"}] [INF]; names must be
// events Halo knows.
func planEvents(it *item, raw json.RawMessage) []string {
	var refs []map[string]json.RawMessage
	if json.Unmarshal(raw, &refs) != nil {
		it.fail("events", "events must be an array of objects.")
		return nil
	}
	var out []string
	for j, ref := range refs {
		var name string
		if json.Unmarshal(ref["name"], &name) != nil {
			it.fail(fmt.Sprintf("events[%d].name", j), "An event name is required.")
			continue
		}
		k := slices.IndexFunc(knownEvents, func(e string) bool { return strings.EqualFold(e, name) })
		if k < 0 {
			it.fail(fmt.Sprintf("events[%d].name", j), "Unknown event '"+name+"'.")
			continue
		}
		if !slices.Contains(out, knownEvents[k]) {
			out = append(out, knownEvents[k])
		}
	}
	return out
}

func validateWebhook(it *item, h *Webhook) {
	if h.Type != 0 && h.Type != 1 {
		it.fail("type", "type must be 0 (webhook) or 1 (runbook).")
	}
	if u, err := url.Parse(h.URL); h.Type == 0 && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		it.fail("url", "An absolute http or https URL is required.")
	}
	if h.Method < 0 || h.Method > 4 {
		it.fail("method", "method must be between 0 and 4.")
	}
	if h.AuthenticationType < 0 || h.AuthenticationType > 4 {
		it.fail("authentication_type", "authentication_type must be between 0 and 4.")
	}
	if h.AuthenticationType == 1 && (h.BasicUsername == "" || h.BasicPassword == "") {
		it.fail("basic_password", "Basic authentication needs basic_username and basic_password.")
	}
}

// AddWebhook registers a webhook as if made in Halo's UI (by another tool
// or an admin) and returns it with its id.
func (s *Server) AddWebhook(h Webhook) Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h.ID == "" {
		h.ID = newUUID()
	}
	return *s.storeHook(h)
}

// Webhooks returns the registrations, basic passwords included, in
// creation order.
func (s *Server) Webhooks() []Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Webhook, len(s.hooks))
	for i, h := range s.hooks {
		out[i] = *h
		out[i].Events = slices.Clone(h.Events)
	}
	return out
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
