package autotask

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// SignatureHeader carries a delivery's signature:
// "sha1=" + base64(HMAC-SHA1(SecretKey, raw body)) [D][K].
const SignatureHeader = "X-Hook-Signature"

// VerifyCallback implements helpdesk.Provider: it checks X-Hook-Signature
// against the raw body in constant time. It does no I/O.
func (c *Client) VerifyCallback(_ context.Context, r *http.Request, body []byte, secret helpdesk.Secret) error {
	return verifySignature(r.Header.Get(SignatureHeader), body, secret)
}

func verifySignature(header string, body []byte, secret helpdesk.Secret) error {
	if secret.Reveal() == "" {
		return helpdesk.ErrBadSignature("no webhook secret configured")
	}
	header = strings.TrimSpace(header)
	if header == "" {
		return helpdesk.ErrBadSignature("missing " + SignatureHeader + " header")
	}
	alg, sig, ok := strings.Cut(header, "=")
	if !ok || !strings.EqualFold(alg, "sha1") {
		return helpdesk.ErrBadSignature("malformed " + SignatureHeader + " header")
	}
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return helpdesk.ErrBadSignature("malformed " + SignatureHeader + " header")
	}
	mac := hmac.New(sha1.New, []byte(secret.Reveal()))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return helpdesk.ErrBadSignature("signature mismatch")
	}
	return nil
}

// deliveryWire is a webhook delivery [K]: PascalCase keys, read
// case-insensitively (PersonID is PersonId in some sources [K]); Fields
// values may be strings ("Status":"5").
type deliveryWire struct {
	Action         string                     `json:"Action"`
	GUID           string                     `json:"Guid"`
	EntityType     string                     `json:"EntityType"`
	ID             flexInt                    `json:"Id"`
	Fields         map[string]json.RawMessage `json:"Fields"`
	EventTime      string                     `json:"EventTime"`
	SequenceNumber flexInt                    `json:"SequenceNumber"`
	PersonID       flexInt                    `json:"PersonID"`
}

var deliveryActions = map[string]helpdesk.Action{
	"create": helpdesk.ActionCreated, "update": helpdesk.ActionUpdated, "delete": helpdesk.ActionDeleted,
}

// ParseCallback implements helpdesk.Provider. Autotask sends one event
// per delivery. A deactivation notice (Action "Deactivated" [K/I]) yields
// no event: the next reconcile finds the registration inactive.
func (c *Client) ParseCallback(_ http.Header, body []byte) ([]helpdesk.CallbackEvent, error) {
	var d deliveryWire
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, helpdesk.ErrMalformed("body is not an Autotask webhook payload")
	}
	if strings.EqualFold(d.Action, "deactivated") {
		return nil, nil
	}
	action, ok := deliveryActions[strings.ToLower(d.Action)]
	if !ok {
		return nil, helpdesk.ErrMalformed("unknown Action")
	}
	kind, ok := kindByPayload(d.EntityType)
	if !ok {
		return nil, helpdesk.ErrMalformed("unsupported EntityType")
	}
	if !d.ID.Valid || d.ID.V <= 0 {
		return nil, helpdesk.ErrMalformed("missing Id")
	}
	ev := helpdesk.CallbackEvent{DeliveryID: deliveryID(d, body), Entity: kind.entityKind, Action: action,
		ExternalID: d.ID.String(), Actor: d.PersonID.String()}
	if t, err := parseTime(d.EventTime); err == nil {
		ev.OccurredAt = t
	}
	if kind.entityKind == helpdesk.EntityNotes {
		ev.TicketID = fieldValue(d.Fields, "TicketID")
	}
	return []helpdesk.CallbackEvent{ev}, nil
}

func kindByPayload(entityType string) (hookKind, bool) {
	for _, k := range hookKinds {
		if strings.EqualFold(k.payload, strings.TrimSpace(entityType)) {
			return k, true
		}
	}
	return hookKind{}, false
}

// deliveryID is Guid:SequenceNumber, or a digest of the body when the
// payload carries no Guid.
func deliveryID(d deliveryWire, body []byte) string {
	if d.GUID != "" {
		return d.GUID + ":" + d.SequenceNumber.String()
	}
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:16])
}

// fieldValue reads an integer-like field from Fields, case-insensitively.
func fieldValue(fields map[string]json.RawMessage, name string) string {
	for k, v := range fields {
		var n flexInt
		if strings.EqualFold(k, name) && json.Unmarshal(v, &n) == nil {
			return n.String()
		}
	}
	return ""
}
