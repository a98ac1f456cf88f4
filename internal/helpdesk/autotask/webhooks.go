package autotask

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// Webhook operations' metric labels.
const (
	opHooksQuery  = "webhooks.query"
	opHooksGet    = "webhooks.get"
	opHooksCreate = "webhooks.create"
	opHooksUpdate = "webhooks.update"
	opHooksDelete = "webhooks.delete"
	opHookChild   = "webhooks.child"
)

// Registration limits [D].
const (
	nameMax   = 50
	secretMax = 64
)

// hookKind is one webhook registration entity [D]: TicketWebhooks,
// TicketNoteWebhooks, ContactWebhooks, CompanyWebhooks.
type hookKind struct {
	key        string // helpdesk.Webhook.Key
	entity     string // registration entity
	fields     string // its field-metadata entity
	payload    string // EntityType in deliveries
	entityKind helpdesk.Entity
	create     helpdesk.Event
	update     helpdesk.Event
	del        helpdesk.Event
	// subscribe lists the entity fields whose change triggers a callout;
	// display the fields always sent (the parent ticket of a note).
	subscribe []string
	display   []string
}

var hookKinds = []hookKind{
	{key: "tickets", entity: "TicketWebhooks", fields: "TicketWebhookFields", payload: "Ticket",
		entityKind: helpdesk.EntityTickets, create: helpdesk.EventTicketCreated,
		update: helpdesk.EventTicketUpdated, del: helpdesk.EventTicketDeleted,
		subscribe: []string{"status", "priority", "queueID", "assignedResourceID", "title", "description",
			"ticketType", "companyID", "contactID", "dueDateTime"},
		display: []string{"ticketNumber"}},
	{key: "notes", entity: "TicketNoteWebhooks", fields: "TicketNoteWebhookFields", payload: "TicketNote",
		entityKind: helpdesk.EntityNotes, create: helpdesk.EventNoteCreated,
		subscribe: []string{"title", "description", "publish"}, display: []string{"ticketID"}},
	{key: "contacts", entity: "ContactWebhooks", fields: "ContactWebhookFields", payload: "Contact",
		entityKind: helpdesk.EntityContacts, create: helpdesk.EventContactCreated,
		update: helpdesk.EventContactUpdated, del: helpdesk.EventContactDeleted,
		subscribe: []string{"firstName", "lastName", "emailAddress", "phone", "isActive", "companyID"}},
	{key: "companies", entity: "CompanyWebhooks", fields: "CompanyWebhookFields", payload: "Company",
		entityKind: helpdesk.EntityCompanies, create: helpdesk.EventCompanyCreated,
		update: helpdesk.EventCompanyUpdated, del: helpdesk.EventCompanyDeleted,
		subscribe: []string{"companyName", "phone", "isActive", "ownerResourceID"}},
}

func (k hookKind) events() []helpdesk.Event {
	var out []helpdesk.Event
	for _, e := range []helpdesk.Event{k.create, k.update, k.del} {
		if e != "" {
			out = append(out, e)
		}
	}
	return out
}

// supportedEvents lists the events Autotask webhooks can deliver.
func supportedEvents() []helpdesk.Event {
	var out []helpdesk.Event
	for _, k := range hookKinds {
		out = append(out, k.events()...)
	}
	return out
}

func kindByKey(key string) (hookKind, bool) {
	i := slices.IndexFunc(hookKinds, func(k hookKind) bool { return k.key == key })
	if i < 0 {
		return hookKind{}, false
	}
	return hookKinds[i], true
}

// webhookWire is a registration as Autotask returns it (read
// case-insensitively: requests are PascalCase [D], answers camelCase
// [I]). SecretKey is never read back [I].
type webhookWire struct {
	ID                         flexInt  `json:"id"`
	Name                       string   `json:"name"`
	WebhookURL                 string   `json:"webhookUrl"`
	IsActive                   flexBool `json:"isActive"`
	IsReady                    flexBool `json:"isReady"`
	IsSubscribedToCreateEvents flexBool `json:"isSubscribedToCreateEvents"`
	IsSubscribedToUpdateEvents flexBool `json:"isSubscribedToUpdateEvents"`
	IsSubscribedToDeleteEvents flexBool `json:"isSubscribedToDeleteEvents"`
}

// webhookBody is the POST and PATCH body, with the documented PascalCase
// keys [D].
type webhookBody struct {
	ID                                *int64 `json:"id,omitempty"`
	IsActive                          bool   `json:"IsActive"`
	Name                              string `json:"Name"`
	WebhookURL                        string `json:"WebhookUrl"`
	DeactivationURL                   string `json:"DeactivationUrl"`
	SecretKey                         string `json:"SecretKey"`
	IsSubscribedToCreateEvents        bool   `json:"IsSubscribedToCreateEvents"`
	IsSubscribedToUpdateEvents        bool   `json:"IsSubscribedToUpdateEvents"`
	IsSubscribedToDeleteEvents        bool   `json:"IsSubscribedToDeleteEvents"`
	SendThresholdExceededNotification bool   `json:"SendThresholdExceededNotification"`
}

// fingerprint is a short digest of a webhook secret, kept in the
// registration name because Autotask never returns SecretKey [I].
func fingerprint(secret helpdesk.Secret) string {
	sum := sha256.Sum256([]byte("horizon-webhook-secret:" + secret.Reveal()))
	return hex.EncodeToString(sum[:4])
}

var fingerprintRE = regexp.MustCompile(`\[([0-9a-f]{8})\]\s*$`)

// hookName is "horizon <account> <key> [<fingerprint>]", the account cut
// so that the name fits Autotask's 50 characters [D].
func hookName(account, key, fp string) string {
	tail := " " + key + " [" + fp + "]"
	room := nameMax - len(helpdesk.ManagedMarker) - len(tail) - 1
	account = strings.Join(strings.Fields(account), "-")
	if len(account) > room {
		account = account[:max(room, 0)]
	}
	if account == "" {
		return helpdesk.ManagedMarker + tail
	}
	return helpdesk.ManagedMarker + " " + account + tail
}

// DesiredWebhooks implements helpdesk.Provider: one registration per
// webhook entity the spec's events need (time entry events have none and
// are dropped).
func (c *Client) DesiredWebhooks(spec helpdesk.WebhookSpec) []helpdesk.Webhook {
	fp := fingerprint(spec.Secret)
	var out []helpdesk.Webhook
	for _, k := range hookKinds {
		ev := slices.DeleteFunc(k.events(), func(e helpdesk.Event) bool { return !slices.Contains(spec.Events, e) })
		if len(ev) == 0 {
			continue
		}
		out = append(out, helpdesk.Webhook{Key: k.key, Name: hookName(spec.Account, k.key, fp), URL: spec.URL,
			Events: ev, Active: true, Managed: true, Fingerprint: fp})
	}
	return out
}

// Webhooks implements helpdesk.Provider: every registration of the four
// webhook entities, Horizon's and other tools'.
func (c *Client) Webhooks(ctx context.Context) ([]helpdesk.Webhook, error) {
	var out []helpdesk.Webhook
	for _, k := range hookKinds {
		hooks, err := collect(c, ctx, opHooksQuery, k.entity, matchAll(), k.decode)
		if err != nil {
			return nil, fmt.Errorf("autotask: list webhooks: %w", err)
		}
		out = append(out, hooks...)
	}
	return out, nil
}

func (k hookKind) decode(raw json.RawMessage) (helpdesk.Webhook, int64, error) {
	var w webhookWire
	if err := json.Unmarshal(raw, &w); err != nil || !w.ID.Valid {
		return helpdesk.Webhook{}, 0, fmt.Errorf("%s: %w", k.entity, orNoID(err))
	}
	h := helpdesk.Webhook{ID: k.key + ":" + w.ID.String(), Key: k.key, Name: w.Name, URL: w.WebhookURL,
		Active: bool(w.IsActive) && bool(w.IsReady), Managed: helpdesk.IsManagedName(w.Name)}
	for _, s := range []struct {
		on bool
		ev helpdesk.Event
	}{{bool(w.IsSubscribedToCreateEvents), k.create}, {bool(w.IsSubscribedToUpdateEvents), k.update},
		{bool(w.IsSubscribedToDeleteEvents), k.del}} {
		if s.on && s.ev != "" {
			h.Events = append(h.Events, s.ev)
		}
	}
	if m := fingerprintRE.FindStringSubmatch(w.Name); h.Managed && m != nil {
		h.Fingerprint = m[1]
	}
	return h, w.ID.V, nil
}

// body renders w as a registration body. The deactivation notice goes to
// the callback URL too [D requires one].
func (k hookKind) body(w helpdesk.Webhook, secret helpdesk.Secret) webhookBody {
	return webhookBody{IsActive: w.Active, Name: w.Name, WebhookURL: w.URL, DeactivationURL: w.URL,
		SecretKey: secret.Reveal(), IsSubscribedToCreateEvents: slices.Contains(w.Events, k.create),
		IsSubscribedToUpdateEvents: k.update != "" && slices.Contains(w.Events, k.update),
		IsSubscribedToDeleteEvents: k.del != "" && slices.Contains(w.Events, k.del)}
}

func checkHook(op string, w helpdesk.Webhook, secret helpdesk.Secret) (hookKind, error) {
	k, ok := kindByKey(w.Key)
	switch {
	case !ok:
		return k, invalid(op, fmt.Sprintf("unknown webhook key %q", w.Key))
	case len(w.Name) > nameMax:
		return k, invalid(op, fmt.Sprintf("name longer than %d characters", nameMax))
	case secret.Reveal() == "" || len(secret.Reveal()) > secretMax:
		return k, invalid(op, fmt.Sprintf("the webhook secret must have 1 to %d characters", secretMax))
	}
	return k, nil
}

func invalid(op, msg string) error {
	return &helpdesk.Error{Provider: helpdesk.Autotask, Op: op, Kind: helpdesk.ErrInvalid, Message: msg}
}

// CreateWebhook implements helpdesk.Provider. Registration takes several
// calls [D]: POST the webhook, POST its fields (it is not ready without
// one), POST the API user's resource as excluded (no echoes of Horizon's
// own writes [K]), then read it back. A failure after the first call
// leaves a managed, not-ready registration that UpdateWebhook completes.
func (c *Client) CreateWebhook(ctx context.Context, w helpdesk.Webhook, secret helpdesk.Secret) (helpdesk.Webhook, error) {
	k, err := checkHook(opHooksCreate, w, secret)
	if err != nil {
		return helpdesk.Webhook{}, fmt.Errorf("autotask: create webhook: %w", err)
	}
	id, err := c.write(ctx, opHooksCreate, http.MethodPost, k.entity, k.body(w, secret))
	if err != nil {
		return helpdesk.Webhook{}, fmt.Errorf("autotask: create %s webhook: %w", k.key, scrubSecret(err, secret))
	}
	return c.finishHook(ctx, k, id)
}

// UpdateWebhook implements helpdesk.Provider: PATCH with the id in the
// body, then the fields and exclusion are completed as on create. Only a
// registration whose name carries helpdesk.ManagedMarker is changed.
func (c *Client) UpdateWebhook(ctx context.Context, w helpdesk.Webhook, secret helpdesk.Secret) (helpdesk.Webhook, error) {
	k, id, err := parseHookID(w.ID)
	if err == nil && w.Key != "" && w.Key != k.key {
		err = invalid(opHooksUpdate, "a webhook cannot change key")
	}
	if err == nil {
		w.Key = k.key
		_, err = checkHook(opHooksUpdate, w, secret)
	}
	if err == nil {
		err = c.checkManaged(ctx, k, id, opHooksUpdate)
	}
	if err != nil {
		return helpdesk.Webhook{}, fmt.Errorf("autotask: update webhook %s: %w", w.ID, err)
	}
	body := k.body(w, secret)
	body.ID = &id
	if _, err := c.write(ctx, opHooksUpdate, http.MethodPatch, k.entity, body); err != nil {
		return helpdesk.Webhook{}, fmt.Errorf("autotask: update webhook %s: %w", w.ID, scrubSecret(err, secret))
	}
	return c.finishHook(ctx, k, id)
}

func (c *Client) finishHook(ctx context.Context, k hookKind, id int64) (helpdesk.Webhook, error) {
	if err := c.ensureFields(ctx, k, id); err != nil {
		return helpdesk.Webhook{}, fmt.Errorf("autotask: %s webhook %d fields: %w", k.key, id, err)
	}
	if err := c.ensureExcluded(ctx, k, id); err != nil {
		return helpdesk.Webhook{}, fmt.Errorf("autotask: %s webhook %d excluded resources: %w", k.key, id, err)
	}
	var raw json.RawMessage
	if err := c.getItem(ctx, opHooksGet, k.entity+"/"+idString(id), &raw); err != nil {
		return helpdesk.Webhook{}, fmt.Errorf("autotask: read %s webhook %d: %w", k.key, id, err)
	}
	h, _, err := k.decode(raw)
	if err != nil {
		return helpdesk.Webhook{}, fmt.Errorf("autotask: read %s webhook %d: %w", k.key, id, wireError(opHooksGet, err))
	}
	return h, nil
}

// DeleteWebhook implements helpdesk.Provider. Only registrations whose
// name carries helpdesk.ManagedMarker are deleted. Deleting a missing one
// is not an error; the answer for a missing id is not documented [I], so
// the client reads the registration first and again after a failed
// delete.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	k, n, err := parseHookID(id)
	if err == nil {
		err = c.checkManaged(ctx, k, n, opHooksDelete)
	}
	if errors.Is(err, helpdesk.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("autotask: delete webhook %s: %w", id, err)
	}
	path := k.entity + "/" + idString(n)
	err = c.call(ctx, request{op: opHooksDelete, method: http.MethodDelete, path: path}, nil)
	if err == nil || errors.Is(err, helpdesk.ErrNotFound) {
		return nil
	}
	var raw json.RawMessage
	if gerr := c.getItem(ctx, opHooksGet, path, &raw); errors.Is(gerr, helpdesk.ErrNotFound) {
		return nil
	}
	return fmt.Errorf("autotask: delete webhook %s: %w", id, err)
}

// checkManaged reads a registration and refuses to touch it unless its
// name carries Horizon's marker: Horizon never changes other tools'
// webhooks.
func (c *Client) checkManaged(ctx context.Context, k hookKind, id int64, op string) error {
	var raw json.RawMessage
	if err := c.getItem(ctx, opHooksGet, k.entity+"/"+idString(id), &raw); err != nil {
		return err
	}
	h, _, err := k.decode(raw)
	if err != nil {
		return wireError(opHooksGet, err)
	}
	if !h.Managed {
		return invalid(op, fmt.Sprintf("registration %q is not Horizon's; it is left alone", h.Name))
	}
	return nil
}

// parseHookID reads "<key>:<id>" as Webhooks returns it.
func parseHookID(id string) (hookKind, int64, error) {
	key, num, _ := strings.Cut(id, ":")
	k, ok := kindByKey(key)
	n, err := parseID(num)
	if !ok || err != nil {
		return k, 0, notFound(opHooksGet, fmt.Errorf("webhook id %q is not <key>:<number>", id))
	}
	return k, n, nil
}

// scrubSecret removes a webhook secret from an error's provider message.
func scrubSecret(err error, secret helpdesk.Secret) error {
	var he *helpdesk.Error
	if s := secret.Reveal(); len(s) >= 4 && errors.As(err, &he) {
		he.Message = strings.ReplaceAll(he.Message, s, "<redacted>")
	}
	return err
}
