package autotask

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// payload is a webhook delivery body [K].
type payload struct {
	Action         string            `json:"Action"`
	GUID           string            `json:"Guid"`
	EntityType     string            `json:"EntityType"`
	ID             int64             `json:"Id"`
	Fields         map[string]string `json:"Fields"`
	EventTime      string            `json:"EventTime"`
	SequenceNumber int64             `json:"SequenceNumber"`
	PersonID       *int64            `json:"PersonID"`
}

var actionNames = map[string]string{sandbox.Created: "Create", sandbox.Updated: "Update", sandbox.Deleted: "Delete"}

// Sign returns the X-Hook-Signature value for body:
// "sha1=" + base64(HMAC-SHA1(secret, body)) [D][K].
func Sign(secret string, body []byte) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return "sha1=" + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// snapshotAll renders every watched record, so that the first update of
// each is compared with its state at start.
func (e *Emulator) snapshotAll() {
	pk := e.picks()
	sets := map[string][]rec{sandbox.KindTicket: listTickets(e, pk, 0),
		sandbox.KindContact: listContacts(e, pk, 0), sandbox.KindCompany: listCompanies(e, pk, 0)}
	e.mu.Lock()
	defer e.mu.Unlock()
	for kind, rs := range sets {
		e.snap[kind] = map[int64]rec{}
		for _, r := range rs {
			e.snap[kind][r.id()] = r
		}
	}
}

// current renders the record a change names (nil when it is gone).
func (e *Emulator) current(c sandbox.Change) rec {
	switch c.Kind {
	case sandbox.KindTicket:
		if t, ok := e.world.Ticket(c.ID); ok && !t.Deleted {
			return e.renderTicket(t, e.picks())
		}
	case sandbox.KindNote:
		for _, n := range e.world.Notes(c.TicketID) {
			if n.ID == c.ID {
				return renderNote(n)
			}
		}
	case sandbox.KindContact:
		return findRec(listContacts(e, nil, c.ID-1), c.ID)
	case sandbox.KindCompany:
		return findRec(listCompanies(e, nil, c.ID-1), c.ID)
	}
	return nil
}

func findRec(rs []rec, id int64) rec {
	if len(rs) > 0 && rs[0].id() == id {
		return rs[0]
	}
	return nil
}

// onChange turns a World change into deliveries to every active, ready
// registration of the entity subscribed to the action, except those
// excluding the resource that made the change [K]. An update is only
// delivered when a subscribed field changed [D].
func (e *Emulator) onChange(c sandbox.Change) {
	action, ok := actionNames[c.Action]
	if !ok || hookEntityForKind(c.Kind) == nil {
		return
	}
	cur := e.current(c)
	if c.Action == sandbox.Updated && cur == nil {
		return // a deletion: the "deleted" change follows
	}
	e.mu.Lock()
	prev := e.remember(c, cur)
	dels := e.deliveriesFor(c, action, prev, cur)
	e.mu.Unlock()
	for _, d := range dels {
		e.deliverer.Send(d)
	}
}

// remember updates the snapshot and returns the record's previous state;
// e.mu is held.
func (e *Emulator) remember(c sandbox.Change, cur rec) rec {
	if e.snap[c.Kind] == nil {
		e.snap[c.Kind] = map[int64]rec{}
	}
	prev := e.snap[c.Kind][c.ID]
	if cur == nil {
		delete(e.snap[c.Kind], c.ID)
	} else {
		e.snap[c.Kind][c.ID] = cur
	}
	return prev
}

func hookEntityForKind(kind string) *hookEntity {
	for _, he := range hookEntities {
		if he.kind == kind {
			return he
		}
	}
	return nil
}

// deliveriesFor builds the deliveries of one change; e.mu is held.
// Registrations of one entity with the same URL get one delivery [D].
func (e *Emulator) deliveriesFor(c sandbox.Change, action string, prev, cur rec) []sandbox.Delivery {
	var out []sandbox.Delivery
	sent := map[string]bool{}
	for _, h := range e.sortedHooks() {
		if h.ent.kind != c.Kind || !h.active || !h.ready() || !h.wants(c.Action) || h.excludes(c.Actor) || sent[h.url] {
			continue
		}
		f := h.payloadFields(c.Action, prev, cur)
		if f == nil {
			continue
		}
		sent[h.url] = true
		h.seq++
		p := payload{Action: action, GUID: h.guid, EntityType: h.ent.payload, ID: c.ID, Fields: f,
			EventTime: c.At.UTC().Format(time.RFC3339), SequenceNumber: h.seq}
		if c.Actor != 0 {
			p.PersonID = &c.Actor
		}
		out = append(out, e.delivery(h, h.url, p, true))
	}
	return out
}

func (e *Emulator) sortedHooks() []*hook {
	out := make([]*hook, 0, len(e.hooks))
	for _, h := range e.hooks {
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b *hook) int { return cmp.Compare(a.id, b.id) })
	return out
}

func (h *hook) wants(action string) bool {
	switch action {
	case sandbox.Created:
		return h.create
	case sandbox.Updated:
		return h.update
	}
	return h.del
}

func (h *hook) excludes(actor int64) bool {
	for _, res := range h.excluded {
		if res == actor && actor != 0 {
			return true
		}
	}
	return false
}

// payloadFields are the changed subscribed fields plus the display-always
// ones, PascalCase, values as strings [K]; nil when an update touched no
// subscribed field.
func (h *hook) payloadFields(action string, prev, cur rec) map[string]string {
	src := cur
	if src == nil {
		src = prev
	}
	out, changed := map[string]string{}, false
	for _, s := range h.fields {
		f, _ := h.ent.fieldByID(s.fieldID)
		v, was := src[f.name], prev[f.name]
		include := s.display
		if s.subscribed && action != sandbox.Deleted && (action == sandbox.Created || prev == nil || wireString(v) != wireString(was)) {
			include, changed = true, true
		}
		if include {
			out[pascal(f.name)] = wireString(v)
		}
	}
	if action == sandbox.Updated && !changed {
		return nil
	}
	return out
}

func pascal(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

func wireString(v any) string {
	switch x := jsonValue(v).(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}

// delivery signs p for h. Deliveries retry with Autotask's schedule; a
// deactivation notice is sent once.
func (e *Emulator) delivery(h *hook, url string, p payload, retry bool) sandbox.Delivery {
	body, _ := json.Marshal(p)
	d := sandbox.Delivery{URL: url, Body: body,
		Header: http.Header{"X-Hook-Signature": {Sign(h.secret, body)}, "Content-Type": {"application/json"}},
		Policy: sandbox.RetryPolicy{Timeout: e.set.WebhookTimeout}}
	if retry {
		d.Policy.Delays = e.set.WebhookRetryDelays
		id := h.id
		d.OnResult = func(status int, err error) { e.deliveryResult(id, status, err) }
	}
	return d
}

// deliveryResult counts consecutive failed deliveries and deactivates a
// registration after DisableAfter of them, notifying its
// DeactivationUrl [D][K/I].
func (e *Emulator) deliveryResult(id int64, status int, err error) {
	e.mu.Lock()
	h, ok := e.hooks[id]
	if !ok {
		e.mu.Unlock()
		return
	}
	if err == nil && status >= 200 && status < 300 {
		h.failures = 0
		e.mu.Unlock()
		return
	}
	h.failures++
	disable := h.active && h.failures >= e.set.DisableAfter
	var notice sandbox.Delivery
	if disable {
		h.active = false
		notice = e.delivery(h, h.deactivation, payload{Action: "Deactivated", GUID: h.guid,
			EntityType: h.ent.payload, ID: h.id, EventTime: time.Now().UTC().Format(time.RFC3339)}, false)
	}
	e.mu.Unlock()
	if disable {
		e.deliverer.Send(notice)
	}
}
