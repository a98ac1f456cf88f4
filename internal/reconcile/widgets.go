package reconcile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	neturl "net/url"
	"time"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/store"
)

// DefaultWidgetTimeout bounds a widget check when the file sets none.
const DefaultWidgetTimeout = 10 * time.Second

// planWidgets checks each widget (CheckWidget). A widget that is down is
// drift nothing can apply. The checks are kept in the plan; Apply records
// them in the store (observations, not changes: they never make a plan
// non-empty).
func (r *Reconciler) planWidgets(ctx context.Context, p *Plan) error {
	for _, w := range r.Config.Widgets {
		c := r.CheckWidget(ctx, w)
		p.Widgets = append(p.Widgets, c)
		if !c.Up {
			p.Drift = append(p.Drift, Drift{Kind: KindWidgets, Target: "widget " + w.Name, Severity: SeverityWarning,
				Reason: "down: " + c.LastError})
		}
	}
	return nil
}

// CheckWidget loads one widget's URL as the PSA's iframe would. It is up
// only when the URL answers 2xx with HTML within the widget's timeout,
// its X-Frame-Options and Content-Security-Policy frame-ancestors let the
// PSA's pages (PSAOrigin) frame it, and the page contains the widget's
// expect text, if any. The error names the first cause.
func (r *Reconciler) CheckWidget(ctx context.Context, w config.Widget) store.WidgetCheck {
	timeout := w.Timeout.Std()
	if timeout <= 0 {
		timeout = DefaultWidgetTimeout
	}
	c := store.WidgetCheck{Name: w.Name, URL: w.URL, CheckedAt: r.now()}
	if err := r.fetchWidget(ctx, w, timeout); err != nil {
		c.LastError, c.LastErrorAt = err.Error(), c.CheckedAt
		return c
	}
	c.Up, c.LastSuccess = true, c.CheckedAt
	return c
}

// widgetBodyLimit bounds how much of a widget page is read for expect.
const widgetBodyLimit = 1 << 20

func (r *Reconciler) fetchWidget(ctx context.Context, w config.Widget, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.URL, nil)
	if err != nil {
		return fmt.Errorf("bad URL: %w", err)
	}
	req.Header.Set("Accept", "text/html")
	client := r.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("no answer within %s", timeout)
		}
		var ue *neturl.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text repeats the URL, query tokens included
		}
		return fmt.Errorf("request failed: %w", err)
	}
	defer res.Body.Close()
	body, readErr := io.ReadAll(io.LimitReader(res.Body, widgetBodyLimit))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("HTTP %d", res.StatusCode)
	}
	mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if mt != "text/html" {
		return fmt.Errorf("answered %q, not HTML", mt)
	}
	if psa := PSAOrigin(r.Config.Helpdesk); psa != "" {
		// The page the redirects ended at is the one the iframe shows.
		if why := frameRefusal(res.Header, res.Request.URL, psa); why != "" {
			return frameError(psa, why)
		}
	}
	if w.Expect != "" {
		if readErr != nil {
			return fmt.Errorf("read page: %w", readErr)
		}
		if !bytes.Contains(body, []byte(w.Expect)) {
			return fmt.Errorf("expected text %q not in the page", w.Expect)
		}
	}
	return nil
}

// recordWidgets stores checks, keeping each widget's last success and last
// error across checks.
func (r *Reconciler) recordWidgets(ctx context.Context, checks []store.WidgetCheck) error {
	prev, err := r.Store.WidgetChecks(ctx, r.Scope())
	if err != nil {
		return fmt.Errorf("read widget checks: %w", err)
	}
	last := map[string]store.WidgetCheck{}
	for _, c := range prev {
		last[c.Name] = c
	}
	for _, c := range checks {
		if old, ok := last[c.Name]; ok {
			if c.LastSuccess.IsZero() {
				c.LastSuccess = old.LastSuccess
			}
			if c.LastError == "" {
				c.LastError, c.LastErrorAt = old.LastError, old.LastErrorAt
			}
		}
		if err := r.Store.RecordWidgetCheck(ctx, r.Scope(), c); err != nil {
			return fmt.Errorf("record widget %s: %w", c.Name, err)
		}
	}
	return nil
}

// FileWidgets returns the stored checks of the widgets the file lists, in
// the file's order; a widget not checked yet has only its name and URL. A
// widget removed from the file is left out, whatever the store still
// holds of it.
func FileWidgets(cfg *config.Config, stored []store.WidgetCheck) []store.WidgetCheck {
	byName := map[string]store.WidgetCheck{}
	for _, c := range stored {
		byName[c.Name] = c
	}
	out := make([]store.WidgetCheck, 0, len(cfg.Widgets))
	for _, w := range cfg.Widgets {
		c, ok := byName[w.Name]
		if !ok || c.URL != w.URL {
			// A new URL's old results say nothing about it.
			c = store.WidgetCheck{Name: w.Name, URL: w.URL}
		}
		out = append(out, c)
	}
	return out
}
