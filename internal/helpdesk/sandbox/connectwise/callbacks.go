package connectwise

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Callback is a callback registration (/system/callbacks) as the
// emulator holds it.
type Callback struct {
	ID             int64
	Description    string
	URL            string
	ObjectID       int64
	Type           string // canonical case: Ticket, Contact, Company, Time, ...
	Level          string
	MemberID       int64
	Inactive       bool
	SelfSuppressed bool
	PayloadVersion string
	Updated        time.Time

	failingSince time.Time // start of the current run of failed deliveries
}

// callback is the stored form.
type callback = Callback

// callbackLevels lists the levels each callback type accepts (Developer
// Guide "Levels and Types"; Ticket and Time from the doc, the others [I]).
var callbackLevels = map[string][]string{
	"Ticket":   {"Owner", "Board", "Status", "Ticket", "Project", "Phase", "IntegratorTag"},
	"Time":     {"Owner", "Company", "Time"},
	"Company":  {"Owner", "Company", "Status", "Type"},
	"Contact":  {"Owner", "Contact", "Type"},
	"Activity": {"Owner"}, "Project": {"Owner"}, "Opportunity": {"Owner"}, "Member": {"Owner"},
	"Schedule": {"Owner"}, "PurchaseOrder": {"Owner"}, "ProductCatalog": {"Owner"},
	"Configuration": {"Owner"}, "Invoice": {"Owner"}, "Agreement": {"Owner"},
}

// Callbacks returns the registrations, by id.
func (e *Emulator) Callbacks() []Callback {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Callback, len(e.callbacks))
	for i, c := range e.callbacks {
		out[i] = *c
	}
	return out
}

// AddCallback registers a callback as another tool (or an admin in the
// PSA UI) would, without validation, and returns it with its id.
func (e *Emulator) AddCallback(c Callback) Callback {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.nextCB++
	c.ID, c.Updated = e.nextCB, e.world.Now()
	e.callbacks = append(e.callbacks, &c)
	return c
}

// callbackJSON is a CallbackEntry.
type callbackJSON struct {
	ID                   int64             `json:"id"`
	Description          string            `json:"description"`
	URL                  string            `json:"url"`
	ObjectID             int64             `json:"objectId"`
	Type                 string            `json:"type"`
	Level                string            `json:"level"`
	MemberID             int64             `json:"memberId"`
	PayloadVersion       string            `json:"payloadVersion,omitempty"`
	InactiveFlag         bool              `json:"inactiveFlag"`
	IsSoapCallbackFlag   bool              `json:"isSoapCallbackFlag"`
	IsSelfSuppressedFlag bool              `json:"isSelfSuppressedFlag"`
	Info                 map[string]string `json:"_info"`
}

func (e *Emulator) callbackJSON(c Callback) callbackJSON {
	s := e.snap()
	return callbackJSON{ID: c.ID, Description: c.Description, URL: c.URL, ObjectID: c.ObjectID, Type: c.Type,
		Level: c.Level, MemberID: c.MemberID, PayloadVersion: c.PayloadVersion, InactiveFlag: c.Inactive,
		IsSelfSuppressedFlag: c.SelfSuppressed,
		Info:                 map[string]string{"lastUpdated": cwTime(c.Updated), "updatedBy": s.identifier(c.MemberID)}}
}

var callbackFields = fieldSet[Callback]{
	"id":           {kNumber, func(c Callback) val { return num(c.ID) }},
	"description":  {kString, func(c Callback) val { return str(c.Description) }},
	"url":          {kString, func(c Callback) val { return str(c.URL) }},
	"objectid":     {kNumber, func(c Callback) val { return num(c.ObjectID) }},
	"type":         {kString, func(c Callback) val { return str(c.Type) }},
	"level":        {kString, func(c Callback) val { return str(c.Level) }},
	"memberid":     {kNumber, func(c Callback) val { return num(c.MemberID) }},
	"inactiveflag": {kBool, func(c Callback) val { return boolean(c.Inactive) }},
}

func (e *Emulator) listCallbacks(w http.ResponseWriter, r *http.Request, _ []int64) {
	serveList(e, w, r, e.Callbacks(), lister[Callback]{fields: callbackFields,
		id: func(c Callback) int64 { return c.ID }, render: func(c Callback) any { return e.callbackJSON(c) }})
}

func (e *Emulator) countCallbacks(w http.ResponseWriter, r *http.Request, _ []int64) {
	writeJSON(w, http.StatusOK, map[string]int{"count": len(e.Callbacks())})
}

// findCallback returns a copy of registration id, answering 404 itself.
func (e *Emulator) findCallback(w http.ResponseWriter, id int64) (Callback, bool) {
	for _, c := range e.Callbacks() {
		if c.ID == id {
			return c, true
		}
	}
	writeError(w, http.StatusNotFound, "NotFound", fmt.Sprintf("Callback with id %d was not found.", id))
	return Callback{}, false
}

func (e *Emulator) getCallback(w http.ResponseWriter, r *http.Request, ids []int64) {
	if c, ok := e.findCallback(w, ids[0]); ok {
		writeJSON(w, http.StatusOK, e.callbackJSON(c))
	}
}

var callbackWriteFields = setOf("id", "description", "url", "objectId", "type", "level", "memberId",
	"payloadVersion", "inactiveFlag", "isSoapCallbackFlag", "isSelfSuppressedFlag", "connectWiseID", "_info")

func (e *Emulator) createCallback(w http.ResponseWriter, r *http.Request, _ []int64) {
	m, berr := e.readObject(r, callbackWriteFields)
	var c Callback
	if berr == nil {
		c, berr = e.callbackFromBody(m)
	}
	if berr != nil {
		berr.write(w, "callbackEntry")
		return
	}
	c.MemberID = e.world.APIUser().ID
	c = e.AddCallback(c)
	writeJSON(w, http.StatusCreated, e.callbackJSON(c))
}

func (e *Emulator) putCallback(w http.ResponseWriter, r *http.Request, ids []int64) {
	old, ok := e.findCallback(w, ids[0])
	if !ok {
		return
	}
	m, berr := e.readObject(r, callbackWriteFields)
	var c Callback
	if berr == nil {
		c, berr = e.callbackFromBody(m)
	}
	if berr != nil {
		berr.write(w, "callbackEntry")
		return
	}
	c.ID, c.MemberID = old.ID, old.MemberID
	writeJSON(w, http.StatusOK, e.callbackJSON(e.storeCallback(c)))
}

var callbackPatchPaths = setOf("description", "url", "objectId", "type", "level", "payloadVersion",
	"inactiveFlag", "isSoapCallbackFlag", "isSelfSuppressedFlag")

func (e *Emulator) patchCallback(w http.ResponseWriter, r *http.Request, ids []int64) {
	c, ok := e.findCallback(w, ids[0])
	if !ok {
		return
	}
	ops, berr := readPatch(r, callbackPatchPaths)
	if berr == nil {
		m := e.callbackBody(c)
		for _, op := range ops {
			if op.Op == "remove" {
				delete(m, op.Path)
			} else {
				m[op.Path] = op.Value
			}
		}
		var nc Callback
		if nc, berr = e.callbackFromBody(m); berr == nil {
			nc.ID, nc.MemberID = c.ID, c.MemberID
			writeJSON(w, http.StatusOK, e.callbackJSON(e.storeCallback(nc)))
			return
		}
	}
	berr.write(w, "callbackEntry")
}

// callbackBody is c as a writable body, for PATCH.
func (e *Emulator) callbackBody(c Callback) map[string]json.RawMessage {
	b, _ := json.Marshal(e.callbackJSON(c))
	var m map[string]json.RawMessage
	json.Unmarshal(b, &m)
	for k := range m {
		if !callbackPatchPaths[k] {
			delete(m, k)
		}
	}
	return m
}

// storeCallback replaces the registration with c's id.
func (e *Emulator) storeCallback(c Callback) Callback {
	e.mu.Lock()
	defer e.mu.Unlock()
	c.Updated = e.world.Now()
	for i, old := range e.callbacks {
		if old.ID == c.ID {
			e.callbacks[i] = &c
		}
	}
	return c
}

func (e *Emulator) deleteCallback(w http.ResponseWriter, r *http.Request, ids []int64) {
	if _, ok := e.findCallback(w, ids[0]); !ok {
		return
	}
	e.mu.Lock()
	e.callbacks = slices.DeleteFunc(e.callbacks, func(c *callback) bool { return c.ID == ids[0] })
	e.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// callbackFromBody validates a registration: url (absolute http(s)),
// objectId, type and level are required; description is at most 100
// characters; level must suit the type, and Owner needs objectId 1.
func (e *Emulator) callbackFromBody(m map[string]json.RawMessage) (Callback, *bodyError) {
	var c Callback
	var berr *bodyError
	for _, f := range []struct {
		name string
		dst  *string
	}{{"description", &c.Description}, {"url", &c.URL}, {"type", &c.Type}, {"level", &c.Level}, {"payloadVersion", &c.PayloadVersion}} {
		if *f.dst, berr = stringField(m, f.name); berr != nil {
			return c, berr
		}
	}
	if berr = checkCallbackURL(c.URL); berr != nil {
		return c, berr
	}
	if len(c.Description) > 100 {
		return c, invalidField("description", "description is limited to 100 characters")
	}
	obj, ok, berr := numberField(m, "objectId")
	if berr != nil || !ok {
		return c, firstErr(berr, &bodyError{status: 400, code: "NullValue", msg: "objectId is required", field: "objectId"})
	}
	c.ObjectID = int64(obj)
	if berr = e.checkLevel(&c); berr != nil {
		return c, berr
	}
	if c.Inactive, berr = looseBool(m, "inactiveFlag"); berr != nil {
		return c, berr
	}
	c.SelfSuppressed, berr = looseBool(m, "isSelfSuppressedFlag")
	return c, berr
}

func checkCallbackURL(raw string) *bodyError {
	u, err := url.Parse(raw)
	if raw == "" {
		return &bodyError{status: 400, code: "NullValue", msg: "url is required", field: "url"}
	}
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || len(raw) > 1000 {
		return invalidField("url", "url must be an absolute http(s) URL")
	}
	return nil
}

// checkLevel canonicalises type and level and checks the object they
// name.
func (e *Emulator) checkLevel(c *Callback) *bodyError {
	for t, levels := range callbackLevels {
		if !strings.EqualFold(t, c.Type) {
			continue
		}
		c.Type = t
		i := slices.IndexFunc(levels, func(l string) bool { return strings.EqualFold(l, c.Level) })
		if i < 0 {
			return invalidField("level", "level %q is not valid for type %s (want one of %s)", c.Level, t, strings.Join(levels, ", "))
		}
		c.Level = levels[i]
		if c.Level == "Owner" && c.ObjectID != 1 {
			return invalidField("objectId", "objectId must be 1 for level Owner")
		}
		if c.Level == "Board" {
			if _, ok := e.snap().queues[c.ObjectID]; !ok {
				return invalidField("objectId", "objectId %d is not a board", c.ObjectID)
			}
		}
		return nil
	}
	if c.Type == "" {
		return &bodyError{status: 400, code: "NullValue", msg: "type is required", field: "type"}
	}
	return invalidField("type", "type %q is not a callback type", c.Type)
}

// looseBool reads a boolean sent as true/false or "true"/"false" (the
// Developer Guide's sample sends a string).
func looseBool(m map[string]json.RawMessage, name string) (bool, *bodyError) {
	raw, ok := m[name]
	if !ok || isNull(raw) {
		return false, nil
	}
	switch strings.ToLower(strings.Trim(string(raw), `" `)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, invalidField(name, "%s must be true or false", name)
}

// callbackKey serves GET key_url: {"signing_key": ...}.
func (e *Emulator) callbackKey(w http.ResponseWriter, r *http.Request, s Settings) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "Only GET is supported.")
		return
	}
	if !s.KeyURLNoAuth && !e.authorized(w, r, s) {
		return
	}
	q := r.URL.Query()
	e.mu.Lock()
	keyID := e.keyID
	e.mu.Unlock()
	if !strings.EqualFold(q.Get("companyName"), s.CompanyID) || q.Get("id") != keyID {
		writeError(w, http.StatusNotFound, "NotFound", "Callback key not found.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"signing_key": s.SigningKey})
}

// keyURL is the Metadata.key_url of deliveries.
func (e *Emulator) keyURL() string {
	s := e.Settings()
	e.mu.Lock()
	keyID := e.keyID
	e.mu.Unlock()
	sep := "//"
	if s.SingleSlashKeyURL {
		sep = "/"
	}
	return e.baseURL() + "/" + strings.TrimSuffix(s.Codebase, "/") + sep + keyPath +
		"?companyName=" + url.QueryEscape(s.CompanyID) + "&id=" + keyID
}
