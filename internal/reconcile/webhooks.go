package reconcile

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
)

// planWebhooks makes the PSA's webhook registrations match callbacks:
// creates missing registrations, updates those whose URL, events, state or
// secret fingerprint differ, and removes Horizon-owned registrations the
// file no longer wants (when prune is on). Other tools' registrations are
// never touched. Every action here writes to the PSA.
func (r *Reconciler) planWebhooks(ctx context.Context, p *Plan) error {
	observed, err := r.Provider.Webhooks(ctx)
	if err != nil {
		return fmt.Errorf("list webhooks: %w", err)
	}
	cb := r.Config.Callbacks
	var desired []helpdesk.Webhook
	mode, prune := config.DriftEnabled, true
	if cb != nil {
		desired = r.Provider.DesiredWebhooks(r.webhookSpec())
		mode, prune = cb.Drift, cb.Prune
	}
	used := map[int]bool{}
	for _, d := range desired {
		i := slices.IndexFunc(observed, func(o helpdesk.Webhook) bool { return o.Managed && o.Key == d.Key })
		if i < 0 {
			p.gate(r.createWebhook(d), mode, true)
			continue
		}
		used[i] = true
		if diff := r.webhookDiff(observed[i], d); len(diff) > 0 {
			p.gate(r.updateWebhook(observed[i], d, diff), mode, true)
		}
	}
	for i, o := range observed {
		if !o.Managed || used[i] {
			continue
		}
		if !prune {
			p.Drift = append(p.Drift, Drift{Kind: KindWebhooks, Target: webhookTarget(o), Severity: SeverityWarning,
				Reason: "Horizon-owned registration the file no longer wants; prune is false, so it stays"})
			continue
		}
		p.gate(r.deleteWebhook(o), mode, true)
	}
	return nil
}

func (r *Reconciler) webhookSpec() helpdesk.WebhookSpec {
	cb := r.Config.Callbacks
	events := make([]helpdesk.Event, len(cb.Events))
	for i, e := range cb.Events {
		events[i] = helpdesk.Event(e)
	}
	return helpdesk.WebhookSpec{URL: cb.URL, Events: events, Secret: r.CallbackSecret, Account: r.Config.Account.Name}
}

func webhookTarget(w helpdesk.Webhook) string {
	if w.ID != "" {
		return fmt.Sprintf("webhook %s (id %s)", w.Key, w.ID)
	}
	return "webhook " + w.Key
}

func (r *Reconciler) webhookDiff(o, d helpdesk.Webhook) []FieldDiff {
	var diff []FieldDiff
	if o.URL != d.URL {
		diff = append(diff, FieldDiff{"url", r.redact(o.URL), r.redact(d.URL)})
	}
	if oe, de := o.SortedEvents(), d.SortedEvents(); !slices.Equal(oe, de) {
		diff = append(diff, FieldDiff{"events", joinEvents(oe), joinEvents(de)})
	}
	if o.Active != d.Active {
		diff = append(diff, FieldDiff{"active", fmt.Sprint(o.Active), fmt.Sprint(d.Active)})
	}
	if o.Fingerprint != "" && d.Fingerprint != "" && o.Fingerprint != d.Fingerprint {
		diff = append(diff, FieldDiff{"secret", "fingerprint " + o.Fingerprint, "fingerprint " + d.Fingerprint})
	}
	return diff
}

func joinEvents(ev []helpdesk.Event) string {
	s := make([]string, len(ev))
	for i, e := range ev {
		s[i] = string(e)
	}
	return strings.Join(s, ", ")
}

func (r *Reconciler) createWebhook(d helpdesk.Webhook) Change {
	return Change{Kind: KindWebhooks, Action: ActionAdd, Target: webhookTarget(d),
		Detail: fmt.Sprintf("%s for %s", r.redact(d.URL), joinEvents(d.SortedEvents())),
		apply: func(ctx context.Context) error {
			_, err := r.Provider.CreateWebhook(ctx, d, r.CallbackSecret)
			return err
		}}
}

func (r *Reconciler) updateWebhook(o, d helpdesk.Webhook, diff []FieldDiff) Change {
	d.ID = o.ID
	return Change{Kind: KindWebhooks, Action: ActionChange, Target: webhookTarget(o), Diff: diff,
		apply: func(ctx context.Context) error {
			_, err := r.Provider.UpdateWebhook(ctx, d, r.CallbackSecret)
			return err
		}}
}

func (r *Reconciler) deleteWebhook(o helpdesk.Webhook) Change {
	return Change{Kind: KindWebhooks, Action: ActionRemove, Target: webhookTarget(o),
		Detail: "Horizon-owned, no longer in the file",
		apply:  func(ctx context.Context) error { return r.Provider.DeleteWebhook(ctx, o.ID) }}
}
