package autotask

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// hookField is a field subscription to add to a webhook.
type hookField struct {
	id         int64
	subscribed bool
	display    bool
}

// fieldBody is the POST /{X}Webhooks/{id}/Fields body [D][K].
type fieldBody struct {
	FieldID              int64 `json:"FieldID"`
	IsSubscribedField    bool  `json:"IsSubscribedField"`
	IsDisplayAlwaysField bool  `json:"IsDisplayAlwaysField"`
	WebhookID            int64 `json:"WebhookID"`
}

// excludedBody is the POST /{X}Webhooks/{id}/ExcludedResources body [D][K].
type excludedBody struct {
	ResourceID int64 `json:"ResourceID"`
	WebhookID  int64 `json:"WebhookID"`
}

// ensureFields adds the kind's wanted fields the webhook lacks. At least
// one field is needed before Autotask marks the webhook ready [D].
func (c *Client) ensureFields(ctx context.Context, k hookKind, id int64) error {
	have, err := c.childValues(ctx, k.entity, id, "Fields", "fieldID")
	if err != nil {
		return err
	}
	ids, err := c.hookFieldIDs(ctx, k)
	if err != nil {
		return err
	}
	for _, f := range wantedFields(k, ids) {
		if have[f.id] {
			continue
		}
		body := fieldBody{FieldID: f.id, IsSubscribedField: f.subscribed, IsDisplayAlwaysField: f.display, WebhookID: id}
		path := k.entity + "/" + idString(id) + "/Fields"
		if _, err := c.write(ctx, opHookChild, http.MethodPost, path, body); err != nil {
			return err
		}
	}
	return nil
}

// ensureExcluded excludes the API user's resource from the webhook, so
// that changes Horizon makes are not delivered back to it [K].
func (c *Client) ensureExcluded(ctx context.Context, k hookKind, id int64) error {
	rid, err := c.apiResourceID(ctx)
	if err != nil {
		return err
	}
	if rid == 0 {
		c.log.WarnContext(ctx, "autotask: no resource matches the API username; Horizon's own writes will echo back as webhooks")
		return nil
	}
	have, err := c.childValues(ctx, k.entity, id, "ExcludedResources", "resourceID")
	if err != nil || have[rid] {
		return err
	}
	path := k.entity + "/" + idString(id) + "/ExcludedResources"
	_, err = c.write(ctx, opHookChild, http.MethodPost, path, excludedBody{ResourceID: rid, WebhookID: id})
	return err
}

// childValues lists a webhook's child collection (GET
// /{X}Webhooks/{id}/{child} [D]) and returns the set of one integer field.
func (c *Client) childValues(ctx context.Context, entity string, id int64, child, field string) (map[int64]bool, error) {
	var page struct {
		Items []json.RawMessage `json:"items"`
	}
	r := request{op: opHookChild, method: http.MethodGet, path: entity + "/" + idString(id) + "/" + child}
	if err := c.call(ctx, r, &page); err != nil {
		return nil, err
	}
	out := map[int64]bool{}
	for _, raw := range page.Items {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, wireError(opHookChild, err)
		}
		for k, v := range m {
			var n flexInt
			if strings.EqualFold(k, field) && json.Unmarshal(v, &n) == nil && n.Valid {
				out[n.V] = true
			}
		}
	}
	return out, nil
}

// hookFieldIDs reads (once per kind) the fieldID picklist of the kind's
// field-metadata entity [D]: field ids by normalised field name.
func (c *Client) hookFieldIDs(ctx context.Context, k hookKind) (map[string]int64, error) {
	v, _ := c.cache.hookFields.LoadOrStore(k.fields, &memo[map[string]int64]{})
	return v.(*memo[map[string]int64]).get(func() (map[string]int64, error) {
		fields, err := c.fields(ctx, k.fields)
		if err != nil {
			return nil, err
		}
		out := map[string]int64{}
		for _, pv := range fields["fieldid"].PicklistValues {
			if n, err := strconv.ParseInt(pv.Value, 10, 64); err == nil {
				out[normField(pv.Label)] = n
			}
		}
		if len(out) == 0 {
			return nil, wireError(opFields, fmt.Errorf("%s has no fieldID picklist", k.fields))
		}
		return out, nil
	})
}

// wantedFields picks the kind's subscribed and display-always fields
// among those the tenant offers; when none of them is offered, the
// lowest field id is subscribed so that the webhook can become ready.
func wantedFields(k hookKind, ids map[string]int64) []hookField {
	var out []hookField
	for _, name := range k.subscribe {
		if id, ok := ids[normField(name)]; ok {
			out = append(out, hookField{id: id, subscribed: true})
		}
	}
	if len(out) == 0 {
		all := make([]int64, 0, len(ids))
		for _, id := range ids {
			all = append(all, id)
		}
		sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
		out = append(out, hookField{id: all[0], subscribed: true})
	}
	for _, name := range k.display {
		id, ok := ids[normField(name)]
		if ok && !slices.ContainsFunc(out, func(f hookField) bool { return f.id == id }) {
			out = append(out, hookField{id: id, display: true})
		}
	}
	return out
}

// normField makes field names and labels comparable: "Assigned Resource",
// "assignedResourceID" and "AssignedResourceID" all become
// "assignedresource". The picklist's label format is not documented [I].
func normField(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	n := b.String()
	if len(n) > 2 {
		n = strings.TrimSuffix(n, "id")
	}
	return n
}
