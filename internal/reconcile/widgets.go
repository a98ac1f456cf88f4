package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	neturl "net/url"
	"time"

	"github.com/horizon/reconciler/internal/store"
)

// DefaultWidgetTimeout bounds a widget check when the file sets none.
const DefaultWidgetTimeout = 10 * time.Second

// planWidgets fetches each widget's embed URL: it is up when it answers 2xx
// with HTML within its timeout. A widget that is down is drift nothing can
// apply. The checks are kept in the plan; Apply records them in the store
// (observations, not changes: they never make a plan non-empty).
func (r *Reconciler) planWidgets(ctx context.Context, p *Plan) error {
	for _, w := range r.Config.Widgets {
		c := r.CheckWidget(ctx, w.Name, w.URL, w.Timeout.Std())
		p.Widgets = append(p.Widgets, c)
		if !c.Up {
			p.Drift = append(p.Drift, Drift{Kind: KindWidgets, Target: "widget " + w.Name, Severity: SeverityWarning,
				Reason: "down: " + c.LastError})
		}
	}
	return nil
}

// CheckWidget fetches one widget URL.
func (r *Reconciler) CheckWidget(ctx context.Context, name, url string, timeout time.Duration) store.WidgetCheck {
	if timeout <= 0 {
		timeout = DefaultWidgetTimeout
	}
	c := store.WidgetCheck{Name: name, URL: url, CheckedAt: r.now()}
	if err := r.fetchWidget(ctx, url, timeout); err != nil {
		c.LastError, c.LastErrorAt = err.Error(), c.CheckedAt
		return c
	}
	c.Up, c.LastSuccess = true, c.CheckedAt
	return c
}

func (r *Reconciler) fetchWidget(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
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
	io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("HTTP %d", res.StatusCode)
	}
	mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if mt != "text/html" {
		return fmt.Errorf("answered %q, not HTML", mt)
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
