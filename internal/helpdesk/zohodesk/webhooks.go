package zohodesk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// WebhookKey is the Key of Horizon's one Zoho Desk registration: a Zoho
// webhook carries many event subscriptions, so one registration covers a
// whole WebhookSpec.
const WebhookKey = "zohodesk"

// TokenParam is the query parameter that carries Horizon's callback
// secret in the registered URL (Zoho signs nothing).
const TokenParam = "token"

// eventNames maps Horizon events to Zoho subscription names.
var eventNames = map[helpdesk.Event]string{
	helpdesk.EventTicketCreated:    "Ticket_Add",
	helpdesk.EventTicketUpdated:    "Ticket_Update",
	helpdesk.EventTicketDeleted:    "Ticket_Delete",
	helpdesk.EventNoteCreated:      "Ticket_Comment_Add",
	helpdesk.EventNoteUpdated:      "Ticket_Comment_Update",
	helpdesk.EventContactCreated:   "Contact_Add",
	helpdesk.EventContactUpdated:   "Contact_Update",
	helpdesk.EventContactDeleted:   "Contact_Delete",
	helpdesk.EventCompanyCreated:   "Account_Add",
	helpdesk.EventCompanyUpdated:   "Account_Update",
	helpdesk.EventCompanyDeleted:   "Account_Delete",
	helpdesk.EventTimeEntryCreated: "TimeEntry_Add",
	helpdesk.EventTimeEntryUpdated: "TimeEntry_Update",
	helpdesk.EventTimeEntryDeleted: "TimeEntry_Delete",
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

func eventFor(zoho string) (helpdesk.Event, bool) {
	for e, n := range eventNames {
		if n == zoho {
			return e, true
		}
	}
	return "", false
}

// Fingerprint returns the short digest of a callback secret that
// registrations are compared by.
func Fingerprint(secret helpdesk.Secret) string {
	if secret == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("horizon-webhook\x00" + secret.Reveal()))
	return hex.EncodeToString(sum[:4])
}

// DesiredWebhooks implements helpdesk.Provider: one registration named
// "horizon <account>" subscribed to every requested event Zoho can send.
// Its URL is spec.URL; CreateWebhook adds the secret as ?token=.
func (c *Client) DesiredWebhooks(spec helpdesk.WebhookSpec) []helpdesk.Webhook {
	var events []helpdesk.Event
	for _, e := range spec.Events {
		if _, ok := eventNames[e]; ok {
			events = append(events, e)
		}
	}
	slices.Sort(events)
	events = slices.Compact(events)
	name := helpdesk.ManagedMarker
	if spec.Account != "" {
		name += " " + spec.Account
	}
	return []helpdesk.Webhook{{
		Key: WebhookKey, Name: truncateRunes(name, 100), URL: spec.URL, Events: events,
		Active: true, Managed: true, Fingerprint: Fingerprint(spec.Secret),
	}}
}

// Webhooks implements helpdesk.Provider: GET /webhooks (204 when none).
// The secret is stripped from each URL and kept only as its Fingerprint.
func (c *Client) Webhooks(ctx context.Context) ([]helpdesk.Webhook, error) {
	var env struct {
		Data []wireWebhook `json:"data"`
	}
	if _, err := c.call(ctx, request{op: "list webhooks", method: http.MethodGet, path: "/webhooks"}, &env); err != nil {
		return nil, err
	}
	out := make([]helpdesk.Webhook, 0, len(env.Data))
	for _, w := range env.Data {
		out = append(out, fromWire(w))
	}
	return out, nil
}

func fromWire(w wireWebhook) helpdesk.Webhook {
	u, token := splitToken(w.URL)
	h := helpdesk.Webhook{ID: string(w.ID), Name: w.Name, URL: u, Active: w.IsEnabled == nil || *w.IsEnabled,
		Managed: helpdesk.IsManagedName(w.Name), Fingerprint: Fingerprint(helpdesk.Secret(token))}
	if h.Managed {
		h.Key = WebhookKey
	} else {
		h.Key = "other:" + h.ID
	}
	for name := range w.Subscriptions {
		if e, ok := eventFor(name); ok {
			h.Events = append(h.Events, e)
		}
	}
	slices.Sort(h.Events)
	return h
}

// splitToken removes the token query parameter from a registered URL,
// keeping the other parameters in their order so that the URL compares
// equal to the one horizon.yaml names.
func splitToken(raw string) (string, string) {
	u, err := url.Parse(raw)
	if err != nil || u.RawQuery == "" {
		return raw, ""
	}
	var kept []string
	token := ""
	for _, part := range strings.Split(u.RawQuery, "&") {
		k, v, _ := strings.Cut(part, "=")
		if key, err := url.QueryUnescape(k); err == nil && key == TokenParam {
			if token, err = url.QueryUnescape(v); err != nil {
				token = v
			}
			continue
		}
		kept = append(kept, part)
	}
	if token == "" {
		return raw, ""
	}
	u.RawQuery = strings.Join(kept, "&")
	return u.String(), token
}

// withToken adds the secret to a callback URL as ?token=, after the
// parameters the URL already has.
func withToken(raw string, secret helpdesk.Secret) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("callback URL is not an absolute http(s) URL")
	}
	tok := TokenParam + "=" + url.QueryEscape(secret.Reveal())
	if u.RawQuery == "" {
		u.RawQuery = tok
	} else {
		u.RawQuery += "&" + tok
	}
	return u.String(), nil
}

// webhookBody is the POST/PATCH /webhooks body.
func (c *Client) webhookBody(op string, w helpdesk.Webhook, secret helpdesk.Secret) (map[string]any, error) {
	if secret == "" {
		return nil, invalid(op, "empty callback secret")
	}
	u, err := withToken(w.URL, secret)
	if err != nil {
		return nil, invalid(op, err.Error())
	}
	subs := map[string]any{}
	for _, e := range w.Events {
		if n, ok := eventNames[e]; ok {
			subs[n] = nil
		}
	}
	if len(subs) == 0 {
		return nil, invalid(op, "no event Zoho Desk can deliver")
	}
	return map[string]any{
		"name": truncateRunes(w.Name, 100), "url": u, "subscriptions": subs,
		"description":       "Managed by Horizon; changes here are reverted.",
		"includeEventsFrom": []string{"AUTOMATION"}, "ignoreSourceId": c.sourceID, "isEnabled": w.Active,
	}, nil
}

// CreateWebhook implements helpdesk.Provider: POST /webhooks. Zoho
// validates the URL with a GET (then a POST) before it answers, so
// Horizon's callback receiver must answer a GET with 200.
func (c *Client) CreateWebhook(ctx context.Context, w helpdesk.Webhook, secret helpdesk.Secret) (helpdesk.Webhook, error) {
	const op = "create webhook"
	body, err := c.webhookBody(op, w, secret)
	if err != nil {
		return helpdesk.Webhook{}, err
	}
	return c.webhookCall(ctx, request{op: op, method: http.MethodPost, path: "/webhooks", body: body})
}

// UpdateWebhook implements helpdesk.Provider: PATCH /webhooks/{id} with
// the whole desired registration.
func (c *Client) UpdateWebhook(ctx context.Context, w helpdesk.Webhook, secret helpdesk.Secret) (helpdesk.Webhook, error) {
	const op = "update webhook"
	if err := numericID(op, w.ID); err != nil {
		return helpdesk.Webhook{}, err
	}
	body, err := c.webhookBody(op, w, secret)
	if err != nil {
		return helpdesk.Webhook{}, err
	}
	return c.webhookCall(ctx, request{op: op, method: http.MethodPatch, path: "/webhooks/" + w.ID, body: body})
}

func (c *Client) webhookCall(ctx context.Context, r request) (helpdesk.Webhook, error) {
	var out wireWebhook
	if _, err := c.call(ctx, r, &out); err != nil {
		return helpdesk.Webhook{}, err
	}
	if out.ID == "" {
		return helpdesk.Webhook{}, fmt.Errorf("zohodesk: %s: answer has no webhook id", r.op)
	}
	return fromWire(out), nil
}

// DeleteWebhook implements helpdesk.Provider: DELETE /webhooks/{id}; a
// missing registration is not an error.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	const op = "delete webhook"
	if err := numericID(op, id); err != nil {
		return err
	}
	_, err := c.call(ctx, request{op: op, method: http.MethodDelete, path: "/webhooks/" + id}, nil)
	if err != nil && isNotFound(err) {
		return nil
	}
	return err
}

func isNotFound(err error) bool { return errors.Is(err, helpdesk.ErrNotFound) }
