package connectwise

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// SignatureHeader carries ConnectWise's callback signature.
const SignatureHeader = "x-content-signature"

// maxCachedKeys bounds the signing-key cache.
const maxCachedKeys = 64

// deliveryWire is a callback delivery body (PascalCase keys).
type deliveryWire struct {
	MessageID string          `json:"MessageId"`
	FromURL   string          `json:"FromUrl"`
	CompanyID string          `json:"CompanyId"`
	MemberID  string          `json:"MemberId"`
	Action    string          `json:"Action"`
	Type      string          `json:"Type"`
	ID        flexID          `json:"ID"`
	Entity    json.RawMessage `json:"Entity"`
	Metadata  struct {
		KeyURL string `json:"key_url"`
	} `json:"Metadata"`
}

// flexID reads an id sent as a number or a numeric string.
type flexID int64

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexID) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("id %s is not a number", b)
	}
	*f = flexID(n)
	return nil
}

// VerifyCallback implements helpdesk.Provider. A delivery must carry
// Horizon's token in its URL (registered by CreateWebhook) and a valid
// x-content-signature computed with the signing key fetched from its
// Metadata.key_url, which must point at an allowed host.
func (c *Client) VerifyCallback(ctx context.Context, r *http.Request, body []byte, secret helpdesk.Secret) error {
	if err := checkToken(r, secret); err != nil {
		return err
	}
	sig, err := signatureOf(r.Header)
	if err != nil {
		return err
	}
	keyURL, err := c.keyURL(body)
	if err != nil {
		return err
	}
	key, cached, err := c.signingKey(ctx, keyURL, false)
	if err != nil {
		return err
	}
	if validSignature(key, body, sig) {
		return nil
	}
	if cached { // the key may have rotated: fetch it again once
		if key, _, err = c.signingKey(ctx, keyURL, true); err != nil {
			return err
		}
		if validSignature(key, body, sig) {
			return nil
		}
	}
	return helpdesk.ErrBadSignature("signature mismatch")
}

func checkToken(r *http.Request, secret helpdesk.Secret) error {
	if secret == "" {
		return helpdesk.ErrBadSignature("no callback secret configured")
	}
	token := r.URL.Query().Get(tokenParam)
	if token == "" {
		return helpdesk.ErrBadSignature("missing token")
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(secret.Reveal())) != 1 {
		return helpdesk.ErrBadSignature("token mismatch")
	}
	return nil
}

func signatureOf(h http.Header) ([]byte, error) {
	v := strings.TrimSpace(h.Get(SignatureHeader))
	if v == "" {
		return nil, helpdesk.ErrBadSignature("missing signature header")
	}
	sig, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, helpdesk.ErrBadSignature("malformed signature header")
	}
	return sig, nil
}

// validSignature checks base64-decoded sig against
// HMAC-SHA256(key = SHA256(signingKey), body).
func validSignature(signingKey string, body, sig []byte) bool {
	k := sha256.Sum256([]byte(signingKey))
	m := hmac.New(sha256.New, k[:])
	m.Write(body)
	return hmac.Equal(m.Sum(nil), sig)
}

// keyURL reads Metadata.key_url from the body and checks its host.
func (c *Client) keyURL(body []byte) (string, error) {
	var d deliveryWire
	if err := json.Unmarshal(body, &d); err != nil {
		return "", helpdesk.ErrMalformed("body is not a ConnectWise callback")
	}
	if d.Metadata.KeyURL == "" {
		return "", helpdesk.ErrMalformed("missing Metadata.key_url")
	}
	u, err := url.Parse(d.Metadata.KeyURL)
	if err != nil || !c.keyHostAllowed(u) {
		return "", helpdesk.ErrBadSignature("key_url host not allowed")
	}
	return u.String(), nil
}

// keyHostAllowed accepts https URLs on *.myconnectwise.net, and URLs on
// the configured API or site host (http only when configured so) or on
// Config.KeyURLHosts.
func (c *Client) keyHostAllowed(u *url.URL) bool {
	if u.User != nil || u.Host == "" {
		return false
	}
	host := strings.ToLower(u.Host)
	if u.Scheme == "https" && strings.HasSuffix(strings.ToLower(u.Hostname()), ".myconnectwise.net") &&
		(u.Port() == "" || u.Port() == "443") {
		return true
	}
	for _, origin := range []string{c.apiHost, c.siteHost} {
		if o, err := url.Parse(origin); err == nil && strings.EqualFold(o.Host, host) && o.Scheme == u.Scheme {
			return true
		}
	}
	return u.Scheme == "https" && slices.ContainsFunc(c.cfg.KeyURLHosts, func(h string) bool { return strings.EqualFold(h, host) })
}

// signingKey returns the key behind keyURL from the cache or by GET
// (refresh skips the cache). A key the PSA refuses to give is a 401
// rejection; a transient failure is returned as is, so that the receiver
// answers 5xx.
func (c *Client) signingKey(ctx context.Context, keyURL string, refresh bool) (key string, cached bool, err error) {
	if !refresh {
		c.keyMu.Lock()
		key, ok := c.keyCache[keyURL]
		c.keyMu.Unlock()
		if ok {
			return key, true, nil
		}
	}
	key, err = c.fetchKey(ctx, keyURL)
	if err != nil {
		if helpdesk.Retryable(err) || ctx.Err() != nil {
			return "", false, wrapErr("fetch callback signing key", err)
		}
		return "", false, helpdesk.ErrBadSignature("signing key not available")
	}
	c.keyMu.Lock()
	if len(c.keyCache) >= maxCachedKeys {
		clear(c.keyCache)
	}
	c.keyCache[keyURL] = key
	c.keyMu.Unlock()
	return key, false, nil
}

func (c *Client) fetchKey(ctx context.Context, keyURL string) (string, error) {
	var out struct {
		SigningKey string `json:"signing_key"`
	}
	build := func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, keyURL, nil)
		if err == nil {
			c.authorize(req)
		}
		return req, err
	}
	if _, err := c.t.DoJSON(ctx, "callback key", build, &out); err != nil {
		return "", err
	}
	if out.SigningKey == "" {
		return "", fmt.Errorf("%w: empty signing_key", helpdesk.ErrInvalid)
	}
	return out.SigningKey, nil
}

// ParseCallback implements helpdesk.Provider: one event per delivery. The
// ticket carried in Entity is attached to ticket events as a hint.
func (c *Client) ParseCallback(_ http.Header, body []byte) ([]helpdesk.CallbackEvent, error) {
	return parseDelivery(body)
}

func parseDelivery(body []byte) ([]helpdesk.CallbackEvent, error) {
	var d deliveryWire
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, helpdesk.ErrMalformed("body is not a ConnectWise callback")
	}
	entity, action, err := eventKind(d)
	if err != nil {
		return nil, err
	}
	rec, err := entityJSON(d.Entity)
	if err != nil {
		return nil, err
	}
	ev := helpdesk.CallbackEvent{DeliveryID: d.MessageID, Entity: entity, Action: action,
		ExternalID: strconv.FormatInt(int64(d.ID), 10), Actor: d.MemberID}
	if ev.DeliveryID == "" {
		sum := sha256.Sum256(body)
		ev.DeliveryID = hex.EncodeToString(sum[:16])
	}
	if rec != nil {
		attachEntity(&ev, rec)
	}
	return []helpdesk.CallbackEvent{ev}, nil
}

var callbackEntities = map[string]helpdesk.Entity{
	"ticket": helpdesk.EntityTickets, "contact": helpdesk.EntityContacts, "company": helpdesk.EntityCompanies,
	"time": helpdesk.EntityTimeEntries, "timeentry": helpdesk.EntityTimeEntries,
}

var callbackActions = map[string]helpdesk.Action{
	"added": helpdesk.ActionCreated, "updated": helpdesk.ActionUpdated, "deleted": helpdesk.ActionDeleted,
}

func eventKind(d deliveryWire) (helpdesk.Entity, helpdesk.Action, error) {
	entity, ok := callbackEntities[strings.ToLower(strings.TrimSpace(d.Type))]
	if !ok {
		return "", "", helpdesk.ErrMalformed("unknown callback Type")
	}
	action, ok := callbackActions[strings.ToLower(strings.TrimSpace(d.Action))]
	if !ok {
		return "", "", helpdesk.ErrMalformed("unknown callback Action")
	}
	if d.ID <= 0 {
		return "", "", helpdesk.ErrMalformed("missing record ID")
	}
	return entity, action, nil
}

// entityJSON unwraps Entity: a JSON string holding the record, null, or
// (tolerated) the record itself.
func entityJSON(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || bytes.Equal(raw, []byte("null")):
		return nil, nil
	case raw[0] == '{':
		return raw, nil
	case raw[0] != '"':
		return nil, helpdesk.ErrMalformed("Entity is neither a string nor null")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, helpdesk.ErrMalformed("Entity is not a JSON string")
	}
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	if !json.Valid([]byte(s)) {
		return nil, helpdesk.ErrMalformed("Entity does not hold JSON")
	}
	return json.RawMessage(s), nil
}

// attachEntity fills what the record tells: last-updated time, the ticket
// for ticket events, the parent ticket for time entries. Records that do
// not decode are ignored: the event is a hint and the record is re-fetched.
func attachEntity(ev *helpdesk.CallbackEvent, rec json.RawMessage) {
	var head struct {
		Info         info   `json:"_info"`
		ChargeToID   int64  `json:"chargeToId"`
		ChargeToType string `json:"chargeToType"`
	}
	if err := json.Unmarshal(rec, &head); err == nil {
		ev.OccurredAt = head.Info.LastUpdated.Time
		if ev.Entity == helpdesk.EntityTimeEntries && (head.ChargeToType == "" || head.ChargeToType == chargeServiceTicket) {
			ev.TicketID = idString(head.ChargeToID)
		}
	}
	if ev.Entity == helpdesk.EntityTickets && ev.Action != helpdesk.ActionDeleted {
		if t, err := toTicket(rec); err == nil && t.ExternalID == ev.ExternalID {
			ev.Ticket = &t
		}
	}
}
