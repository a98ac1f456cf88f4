package halopsa

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// WebhookKey is the Key of Horizon's one Halo webhook registration: a
// Halo webhook carries any number of events.
const WebhookKey = "webhook"

// BasicUsername is the Basic-auth user name Horizon registers; the
// password is the callback secret.
const BasicUsername = "horizon"

// eventNames maps Horizon events to the Halo webhook events that report
// them. One Halo event per Horizon event, so that a registration read back
// maps to exactly the events it was created with. Time entries arrive as
// "Action Added" deliveries whose action has timetaken > 0, which
// ParseCallback reports as time entries; timeEntry.created is therefore not
// offered separately.
var eventNames = map[helpdesk.Event]string{
	helpdesk.EventTicketCreated: "New Ticket Logged",
	helpdesk.EventTicketUpdated: "Ticket Updated",
	helpdesk.EventNoteCreated:   "Action Added",
}

func supportedEvents() []helpdesk.Event {
	var out []helpdesk.Event
	for _, e := range helpdesk.AllEvents {
		if _, ok := eventNames[e]; ok {
			out = append(out, e)
		}
	}
	return out
}

// wireWebhook is a Halo webhook registration (GET/POST /Webhook).
type wireWebhook struct {
	ID     string         `json:"id"`
	Name   string         `json:"name"`
	Type   flexFloat      `json:"type"`
	URL    string         `json:"url"`
	Active bool           `json:"active"`
	Events []wireEventRef `json:"events"`
}

// wireEventRef is one event of a registration, read from an object with
// a name (or event, event_name) or from a plain string.
type wireEventRef string

// UnmarshalJSON implements json.Unmarshaler.
func (e *wireEventRef) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, (*string)(e))
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	for _, k := range []string{"name", "event", "event_name"} {
		if s, ok := lookupString(m, k); ok && s != "" {
			*e = wireEventRef(s)
			return nil
		}
	}
	return nil
}

func (w wireWebhook) webhook() helpdesk.Webhook {
	hw := helpdesk.Webhook{ID: w.ID, Name: w.Name, URL: w.URL, Active: w.Active,
		Managed: helpdesk.IsManagedName(w.Name), Events: fromHaloEvents(w.Events)}
	if hw.Managed {
		hw.Key, hw.Fingerprint = WebhookKey, parseFingerprint(w.Name)
	}
	return hw
}

func fromHaloEvents(refs []wireEventRef) []helpdesk.Event {
	var out []helpdesk.Event
	for _, r := range refs {
		for e, name := range eventNames {
			if strings.EqualFold(strings.TrimSpace(string(r)), name) {
				out = append(out, e)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Webhooks implements helpdesk.Provider: GET /Webhook, outbound webhooks
// only (runbooks, type 1, are not callbacks).
func (c *Client) Webhooks(ctx context.Context) ([]helpdesk.Webhook, error) {
	p := &page{key: "webhooks"}
	if err := c.getList(ctx, "list webhooks", "/Webhook", nil, p); err != nil {
		return nil, fmt.Errorf("halopsa: list webhooks: %w", err)
	}
	out := make([]helpdesk.Webhook, 0, len(p.records))
	for _, r := range p.records {
		var w wireWebhook
		if err := r.decode(&w); err != nil {
			return nil, fmt.Errorf("halopsa: list webhooks: decode webhook: %w", err)
		}
		if w.Type == 0 {
			out = append(out, w.webhook())
		}
	}
	return out, nil
}

// DesiredWebhooks implements helpdesk.Provider: one registration for every
// supported event in spec, named "horizon <account> fp:<fingerprint>".
// Halo never returns basic_password, so the name carries the secret's
// fingerprint and a rotated secret shows up as a changed name.
func (c *Client) DesiredWebhooks(spec helpdesk.WebhookSpec) []helpdesk.Webhook {
	var events []helpdesk.Event
	for _, e := range spec.Events {
		if _, ok := eventNames[e]; ok {
			events = append(events, e)
		}
	}
	slices.Sort(events)
	events = slices.Compact(events)
	if len(events) == 0 || spec.URL == "" {
		return nil
	}
	fp := fingerprint(spec.Secret)
	return []helpdesk.Webhook{{Key: WebhookKey, Name: webhookName(spec.Account, fp), URL: spec.URL,
		Events: events, Active: true, Managed: true, Fingerprint: fp}}
}

func webhookName(account, fp string) string {
	name := helpdesk.ManagedMarker
	if account = strings.TrimSpace(account); account != "" {
		name += " " + account
	}
	if fp != "" {
		name += " fp:" + fp
	}
	return name
}

var fpPattern = regexp.MustCompile(`\bfp:([0-9a-f]{8})\b`)

func parseFingerprint(name string) string {
	if m := fpPattern.FindStringSubmatch(name); m != nil {
		return m[1]
	}
	return ""
}

// fingerprint is a short digest of the secret: enough to tell a rotated
// secret, useless for recovering it.
func fingerprint(s helpdesk.Secret) string {
	if s.Reveal() == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("horizon/halopsa/webhook\x00" + s.Reveal()))
	return hex.EncodeToString(sum[:4])
}

// CreateWebhook implements helpdesk.Provider: POST /Webhook with a
// client-generated UUID, so that a retried POST upserts the same
// registration instead of creating a second one.
func (c *Client) CreateWebhook(ctx context.Context, w helpdesk.Webhook, secret helpdesk.Secret) (helpdesk.Webhook, error) {
	w.ID = newUUID()
	saved, err := c.saveWebhook(ctx, "create webhook", w, secret)
	if err != nil {
		return helpdesk.Webhook{}, fmt.Errorf("halopsa: create webhook: %w", err)
	}
	return saved, nil
}

// UpdateWebhook implements helpdesk.Provider: POST /Webhook with w.ID.
func (c *Client) UpdateWebhook(ctx context.Context, w helpdesk.Webhook, secret helpdesk.Secret) (helpdesk.Webhook, error) {
	if w.ID == "" {
		return helpdesk.Webhook{}, errors.New("halopsa: update webhook: no id")
	}
	saved, err := c.saveWebhook(ctx, "update webhook", w, secret)
	if err != nil {
		return helpdesk.Webhook{}, fmt.Errorf("halopsa: update webhook %s: %w", w.ID, err)
	}
	return saved, nil
}

func (c *Client) saveWebhook(ctx context.Context, op string, w helpdesk.Webhook, secret helpdesk.Secret) (helpdesk.Webhook, error) {
	if secret.Reveal() == "" {
		return helpdesk.Webhook{}, &helpdesk.Error{Provider: helpdesk.HaloPSA, Op: op, Kind: helpdesk.ErrInvalid,
			Message: "a callback secret is required: Halo deliveries are authenticated with Basic auth"}
	}
	saved, err := c.post(ctx, op, "/Webhook", webhookItem(w, secret))
	if err != nil {
		return helpdesk.Webhook{}, redact(err, secret.Reveal())
	}
	var ww wireWebhook
	if err := saved[0].decode(&ww); err != nil {
		return helpdesk.Webhook{}, fmt.Errorf("decode webhook: %w", err)
	}
	out := ww.webhook()
	if out.ID == "" {
		out.ID = w.ID
	}
	if len(ww.Events) == 0 {
		out.Events = w.SortedEvents()
	}
	return out, nil
}

// webhookItem is the registration as posted: outbound (type 0), POST of
// application/json, Basic authentication (type 1), full payload, no
// batching.
func webhookItem(w helpdesk.Webhook, secret helpdesk.Secret) map[string]any {
	name := w.Name
	if !helpdesk.IsManagedName(name) {
		name = strings.TrimSpace(helpdesk.ManagedMarker + " " + name)
	}
	events := make([]map[string]string, 0, len(w.Events))
	for _, e := range w.SortedEvents() {
		if n, ok := eventNames[e]; ok {
			events = append(events, map[string]string{"name": n})
		}
	}
	return map[string]any{"id": w.ID, "name": name, "type": 0, "url": w.URL,
		"content_type": "application/json", "method": 0, "active": w.Active,
		"authentication_type": 1, "basic_username": BasicUsername, "basic_password": secret.Reveal(),
		"events": events, "payload_type": 0, "batch_method": 0}
}

// DeleteWebhook implements helpdesk.Provider: DELETE /Webhook/{id}; a
// registration already gone is not an error.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	if id == "" {
		return errors.New("halopsa: delete webhook: no id")
	}
	err := c.delete(ctx, "delete webhook", "/Webhook/"+url.PathEscape(id))
	if err != nil && !errors.Is(err, helpdesk.ErrNotFound) {
		return fmt.Errorf("halopsa: delete webhook %s: %w", id, err)
	}
	return nil
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
