package connectwise

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// DeliveryPolicy is ConnectWise's callback retry behaviour (Developer
// Guide): 5 s timeout, retries only on 404, 409, 419 and 429, two of
// them, 2 s and then 4 s later.
var DeliveryPolicy = sandbox.RetryPolicy{
	Timeout: 5 * time.Second,
	Delays:  []time.Duration{2 * time.Second, 4 * time.Second},
	RetryOn: func(status int, err error) bool {
		return status == 404 || status == 409 || status == 419 || status == 429
	},
}

// disableAfter is how long a callback may fail before CW disables it.
const disableAfter = 72 * time.Hour

// event is a World change as a callback type and action.
type event struct {
	cbType string // Ticket, Time, Contact, Company
	action string // added, updated, deleted
	id     int64
	ticket sandbox.Ticket // for ticket-level filters
	change sandbox.Change
}

var actions = map[string]string{sandbox.Created: "added", sandbox.Updated: "updated", sandbox.Deleted: "deleted"}

// onChange turns World changes into callback deliveries.
func (e *Emulator) onChange(c sandbox.Change) {
	ev, ok := e.eventOf(c)
	if !ok {
		return
	}
	for _, cb := range e.Callbacks() {
		if e.wants(cb, ev) {
			e.send(cb, ev)
		}
	}
}

// eventOf maps a change; note changes report the ticket as updated ([I]),
// the "updated" a deletion emits first is dropped, and skipCallback writes
// send nothing.
func (e *Emulator) eventOf(c sandbox.Change) (event, bool) {
	if c.Source == sourceSkipCallback {
		return event{}, false
	}
	ev := event{action: actions[c.Action], id: c.ID, change: c}
	switch c.Kind {
	case sandbox.KindTicket:
		ev.cbType = "Ticket"
	case sandbox.KindNote:
		ev.cbType, ev.action, ev.id = "Ticket", "updated", c.TicketID
	case sandbox.KindTimeEntry:
		ev.cbType = "Time"
	case sandbox.KindContact:
		ev.cbType = "Contact"
	case sandbox.KindCompany:
		ev.cbType = "Company"
	default:
		return event{}, false
	}
	if ev.cbType == "Ticket" {
		ev.ticket, _ = e.world.Ticket(ev.id)
		if ev.ticket.Deleted && ev.action != "deleted" {
			return event{}, false
		}
	}
	return ev, ev.action != ""
}

// wants reports whether registration cb receives ev: active, same type,
// level matching, and not an echo it suppresses.
func (e *Emulator) wants(cb Callback, ev event) bool {
	if cb.Inactive || cb.Type != ev.cbType {
		return false
	}
	if cb.SelfSuppressed && !e.Settings().IgnoreSelfSuppression && ev.change.ViaAPI && ev.change.Actor == cb.MemberID {
		return false
	}
	switch cb.Level {
	case "Owner":
		return true
	case "Board":
		return ev.ticket.QueueID == cb.ObjectID
	case "Status":
		return ev.ticket.StatusID == cb.ObjectID
	case "Ticket":
		return ev.cbType == "Ticket" && ev.id == cb.ObjectID
	}
	return false
}

// deliveryJSON is the callback body (PascalCase keys).
type deliveryJSON struct {
	MessageID         string  `json:"MessageId"`
	FromURL           string  `json:"FromUrl"`
	CompanyID         string  `json:"CompanyId"`
	MemberID          string  `json:"MemberId"`
	Action            string  `json:"Action"`
	Type              string  `json:"Type"`
	ID                int64   `json:"ID"`
	ProductInstanceID *string `json:"ProductInstanceId"`
	PartnerID         *string `json:"PartnerId"`
	Entity            *string `json:"Entity"`
	Metadata          struct {
		KeyURL string `json:"key_url"`
	} `json:"Metadata"`
	CallbackObjectRecID int64 `json:"CallbackObjectRecId"`
}

func (e *Emulator) send(cb Callback, ev event) {
	s := e.Settings()
	snap := e.snap()
	d := deliveryJSON{MessageID: randomGUID(), FromURL: hostOf(e.baseURL()), CompanyID: s.CompanyID,
		MemberID: snap.identifier(ev.change.Actor), Action: ev.action, Type: strings.ToLower(ev.cbType),
		ID: ev.id, CallbackObjectRecID: cb.ID}
	if ev.cbType == "Time" {
		d.Type = s.TimeCallbackType
	}
	d.Metadata.KeyURL = e.keyURL()
	if ev.action != "deleted" {
		if ent, ok := e.entity(snap, ev); ok {
			d.Entity = &ent
		}
	}
	body, _ := json.Marshal(d)
	target := cb.URL
	if !s.NoRecordIDSuffix {
		target += strconv.FormatInt(ev.id, 10)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("x-content-signature", sign(s.SigningKey, body))
	e.deliver.Send(sandbox.Delivery{URL: target, Header: h, Body: body, Policy: DeliveryPolicy,
		OnResult: func(status int, err error) { e.deliveryResult(cb.ID, status, err) }})
}

// entity renders the record as the JSON string Entity carries.
func (e *Emulator) entity(s *snapshot, ev event) (string, bool) {
	var rec any
	switch ev.cbType {
	case "Ticket":
		rec = s.ticket(ev.ticket)
	case "Time":
		te, ok := e.world.TimeEntry(ev.id)
		if !ok {
			return "", false
		}
		rec = s.timeEntry(te, e.ticketCompany(te.TicketID))
	case "Contact":
		rec = s.contact(s.contacts[ev.id])
	case "Company":
		rec = s.company(s.companies[ev.id])
	}
	b, err := json.Marshal(rec)
	return string(b), err == nil
}

// sign computes x-content-signature: base64(HMAC-SHA256(SHA256(key), body)).
func sign(signingKey string, body []byte) string {
	k := sha256.Sum256([]byte(signingKey))
	m := hmac.New(sha256.New, k[:])
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// deliveryResult disables a registration after three days of failures.
func (e *Emulator) deliveryResult(id int64, status int, err error) {
	now := e.world.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.callbacks {
		if c.ID != id {
			continue
		}
		switch {
		case err == nil && status >= 200 && status < 300:
			c.failingSince = time.Time{}
		case c.failingSince.IsZero():
			c.failingSince = now
		case now.Sub(c.failingSince) >= disableAfter && !c.Inactive:
			c.Inactive = true
			e.log.Info("connectwise sandbox: callback disabled after three days of failed deliveries",
				"callback", id, "status", status)
		}
	}
}

func hostOf(base string) string {
	if u, err := url.Parse(base); err == nil && u.Host != "" {
		return u.Host
	}
	return "sandbox-na.myconnectwise.net"
}
