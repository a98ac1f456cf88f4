package connectwise

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

// recordType is a callback type Horizon registers, with the events a
// callback of that type delivers. A ConnectWise callback cannot be limited
// to some actions: it reports added, updated and deleted alike.
type recordType struct {
	name   string // callback "type"
	key    string // helpdesk.Webhook.Key
	events []helpdesk.Event
}

var recordTypes = []recordType{
	{"Ticket", "ticket", []helpdesk.Event{helpdesk.EventTicketCreated, helpdesk.EventTicketUpdated, helpdesk.EventTicketDeleted}},
	{"Contact", "contact", []helpdesk.Event{helpdesk.EventContactCreated, helpdesk.EventContactUpdated, helpdesk.EventContactDeleted}},
	{"Company", "company", []helpdesk.Event{helpdesk.EventCompanyCreated, helpdesk.EventCompanyUpdated, helpdesk.EventCompanyDeleted}},
	{"Time", "time", []helpdesk.Event{helpdesk.EventTimeEntryCreated, helpdesk.EventTimeEntryUpdated, helpdesk.EventTimeEntryDeleted}},
}

// tokenParam carries Horizon's secret in the registered callback URL.
const tokenParam = "token"

// maxDescription is the length limit of a callback description.
const maxDescription = 100

func supportedEvents() []helpdesk.Event {
	var out []helpdesk.Event
	for _, rt := range recordTypes {
		out = append(out, rt.events...)
	}
	return out
}

func typeByName(name string) (recordType, bool) {
	i := slices.IndexFunc(recordTypes, func(rt recordType) bool {
		return strings.EqualFold(rt.name, name) || strings.EqualFold(rt.key, name)
	})
	if i < 0 {
		return recordType{}, false
	}
	return recordTypes[i], true
}

// Fingerprint returns the short digest of a webhook secret that
// registrations carry (in the description, and derivable from the URL
// token) so that a rotated secret shows as a change.
func Fingerprint(secret helpdesk.Secret) string {
	if secret == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("horizon-connectwise-callback:" + secret.Reveal()))
	return hex.EncodeToString(sum[:])[:10]
}

// DesiredWebhooks implements helpdesk.Provider: one Owner-level callback
// per record type any of spec's events needs. Events ConnectWise cannot
// deliver are left out (Capabilities lists the ones it can).
func (c *Client) DesiredWebhooks(spec helpdesk.WebhookSpec) []helpdesk.Webhook {
	fp := Fingerprint(spec.Secret)
	var out []helpdesk.Webhook
	for _, rt := range recordTypes {
		if !slices.ContainsFunc(spec.Events, func(e helpdesk.Event) bool { return slices.Contains(rt.events, e) }) {
			continue
		}
		out = append(out, helpdesk.Webhook{Key: rt.key, Name: description(spec.Account, rt.key, fp), URL: spec.URL,
			Events: slices.Clone(rt.events), Active: true, Managed: true, Fingerprint: fp})
	}
	return out
}

// description builds a managed callback's description:
// "horizon <account> <type> fp=<fingerprint>", at most 100 characters
// (a long account name is shortened, never the fingerprint).
func description(account, key, fp string) string {
	tail := " " + key
	if fp != "" {
		tail += " fp=" + fp
	}
	account = strings.Join(strings.Fields(account), "-")
	if room := maxDescription - len(helpdesk.ManagedMarker) - len(tail) - 1; len(account) > room {
		account = account[:max(room, 0)]
	}
	if account == "" {
		return helpdesk.ManagedMarker + tail
	}
	return helpdesk.ManagedMarker + " " + account + tail
}

// Webhooks implements helpdesk.Provider: the callbacks of the record types
// Horizon uses, Horizon's and other tools'.
func (c *Client) Webhooks(ctx context.Context) ([]helpdesk.Webhook, error) {
	all, err := collect(ctx, c, listSpec{op: "list callbacks", path: "/system/callbacks", small: true}, decode[callbackWire])
	if err != nil {
		return nil, wrapErr("webhooks", err)
	}
	out := []helpdesk.Webhook{}
	for _, cb := range all {
		if w, ok := toWebhook(cb); ok {
			out = append(out, w)
		}
	}
	return out, nil
}

// toWebhook converts a callback; ok is false for record types Horizon does
// not use. The URL is reported without Horizon's token and the recordId
// suffix; the token only feeds the fingerprint.
func toWebhook(cb callbackWire) (helpdesk.Webhook, bool) {
	rt, ok := typeByName(cb.Type)
	if !ok {
		return helpdesk.Webhook{}, false
	}
	clean, token := splitCallbackURL(cb.URL)
	w := helpdesk.Webhook{ID: idString(cb.ID), Key: rt.key, Name: cb.Description, URL: clean,
		Events: slices.Clone(rt.events), Active: !cb.InactiveFlag, Managed: helpdesk.IsManagedName(cb.Description)}
	if w.Managed {
		w.Fingerprint = descriptionFingerprint(cb.Description)
		if token != "" {
			w.Fingerprint = Fingerprint(helpdesk.Secret(token))
		}
	}
	return w, true
}

func descriptionFingerprint(d string) string {
	for _, f := range strings.Fields(d) {
		if v, ok := strings.CutPrefix(f, "fp="); ok {
			return v
		}
	}
	return ""
}

// callbackURL appends Horizon's token and ConnectWise's recommended
// "&recordId=" suffix to the receiver URL.
func callbackURL(base string, secret helpdesk.Secret) string {
	sep := "&"
	switch {
	case !strings.Contains(base, "?"):
		sep = "?"
	case strings.HasSuffix(base, "?") || strings.HasSuffix(base, "&"):
		sep = ""
	}
	return base + sep + tokenParam + "=" + url.QueryEscape(secret.Reveal()) + "&recordId="
}

// splitCallbackURL removes the token and recordId parameters from a
// registered URL and returns the token.
func splitCallbackURL(raw string) (clean, token string) {
	base, query, ok := strings.Cut(raw, "?")
	if !ok {
		return raw, ""
	}
	var keep []string
	for _, kv := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case tokenParam:
			token, _ = url.QueryUnescape(v)
		case "recordId", "":
		default:
			keep = append(keep, kv)
		}
	}
	if len(keep) == 0 {
		return base, token
	}
	return base + "?" + strings.Join(keep, "&"), token
}

// callbackBody is the registration Horizon writes for w.
func callbackBody(w helpdesk.Webhook, secret helpdesk.Secret) (callbackWire, error) {
	rt, ok := typeByName(w.Key)
	if !ok {
		return callbackWire{}, fmt.Errorf("%w: unknown callback key %q", helpdesk.ErrInvalid, w.Key)
	}
	if !helpdesk.IsManagedName(w.Name) {
		return callbackWire{}, fmt.Errorf("%w: callback description %q lacks the %q marker", helpdesk.ErrInvalid, w.Name, helpdesk.ManagedMarker)
	}
	if secret == "" {
		return callbackWire{}, fmt.Errorf("%w: empty callback secret", helpdesk.ErrInvalid)
	}
	d := w.Name
	if len(d) > maxDescription {
		d = d[:maxDescription]
	}
	return callbackWire{Description: d, URL: callbackURL(w.URL, secret), ObjectID: 1, Type: rt.name,
		Level: "Owner", InactiveFlag: !w.Active, IsSelfSuppressedFlag: true}, nil
}

// CreateWebhook implements helpdesk.Provider with POST /system/callbacks.
func (c *Client) CreateWebhook(ctx context.Context, w helpdesk.Webhook, secret helpdesk.Secret) (helpdesk.Webhook, error) {
	body, err := callbackBody(w, secret)
	if err != nil {
		return helpdesk.Webhook{}, fmt.Errorf("connectwise: create callback: %w", err)
	}
	var cb callbackWire
	if err := c.post(ctx, "create callback", "/system/callbacks", body, &cb); err != nil {
		return helpdesk.Webhook{}, wrapErr("create callback "+w.Key, err)
	}
	out, _ := toWebhook(cb)
	return out, nil
}

// UpdateWebhook implements helpdesk.Provider with a PATCH replacing every
// field Horizon sets. It refuses to touch a registration whose current
// description lacks Horizon's marker.
func (c *Client) UpdateWebhook(ctx context.Context, w helpdesk.Webhook, secret helpdesk.Secret) (helpdesk.Webhook, error) {
	body, err := callbackBody(w, secret)
	if err != nil {
		return helpdesk.Webhook{}, fmt.Errorf("connectwise: update callback: %w", err)
	}
	id, err := c.managedCallback(ctx, w.ID)
	if err != nil {
		return helpdesk.Webhook{}, wrapErr("update callback "+w.ID, err)
	}
	ops := []patchOp{{"replace", "description", body.Description}, {"replace", "url", body.URL},
		{"replace", "type", body.Type}, {"replace", "level", body.Level}, {"replace", "objectId", body.ObjectID},
		{"replace", "inactiveFlag", body.InactiveFlag}, {"replace", "isSelfSuppressedFlag", true}}
	var cb callbackWire
	r := request{method: http.MethodPatch, path: fmt.Sprintf("/system/callbacks/%d", id), body: ops}
	if _, err := c.call(ctx, "update callback", r, &cb); err != nil {
		return helpdesk.Webhook{}, wrapErr(fmt.Sprintf("update callback %d", id), err)
	}
	out, _ := toWebhook(cb)
	return out, nil
}

// DeleteWebhook implements helpdesk.Provider. A missing callback is not an
// error; another tool's callback is refused.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	n, err := c.managedCallback(ctx, id)
	if errors.Is(err, helpdesk.ErrNotFound) {
		return nil
	}
	if err != nil {
		return wrapErr("delete callback "+id, err)
	}
	r := request{method: http.MethodDelete, path: fmt.Sprintf("/system/callbacks/%d", n)}
	if _, err := c.call(ctx, "delete callback", r, nil); err != nil && !errors.Is(err, helpdesk.ErrNotFound) {
		return wrapErr(fmt.Sprintf("delete callback %d", n), err)
	}
	return nil
}

// managedCallback reads callback id and checks that Horizon owns it.
func (c *Client) managedCallback(ctx context.Context, id string) (int64, error) {
	n, err := parseID("callback", id)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", helpdesk.ErrNotFound, err)
	}
	var cb callbackWire
	if _, err := c.get(ctx, "get callback", fmt.Sprintf("/system/callbacks/%d", n), nil, &cb); err != nil {
		return 0, err
	}
	if !helpdesk.IsManagedName(cb.Description) {
		return 0, fmt.Errorf("%w: callback %d is not managed by Horizon (description %q)", helpdesk.ErrForbidden, n, cb.Description)
	}
	return n, nil
}
