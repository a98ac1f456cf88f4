package reconcile

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Output formats for WritePlan.
const (
	FormatText     = "text"
	FormatJSON     = "json"
	FormatMarkdown = "markdown"
)

var kindTitles = map[Kind]string{
	KindWebhooks:     "Webhook registrations",
	KindUserMappings: "User mappings",
	KindPicklists:    "Picklists",
	KindWidgets:      "Widgets",
	KindSync:         "Sync settings",
}

var symbols = map[Action]string{
	ActionAdd: "+", ActionChange: "~", ActionRemove: "-", ActionRefresh: "↻", ActionBackfill: "↓",
}

// WritePlan prints a plan as text (a readable diff grouped by kind),
// markdown (for a pull-request comment) or json.
func WritePlan(w io.Writer, p *Plan, format string) error {
	switch format {
	case FormatJSON:
		return writeJSON(w, p)
	case FormatMarkdown:
		return writeMarkdown(w, p)
	case FormatText, "":
		return writeText(w, p)
	}
	return fmt.Errorf("unknown output format %q: want text, json or markdown", format)
}

type jsonPlan struct {
	*Plan
	Summary     Summary `json:"summary"`
	SummaryLine string  `json:"summaryLine"`
}

func writeJSON(w io.Writer, p *Plan) error {
	out := jsonPlan{Plan: p, Summary: p.Summary(), SummaryLine: p.SummaryLine()}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeText(w io.Writer, p *Plan) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Plan for account %s (%s)\n", p.Account, p.Provider)
	if p.Suspended {
		b.WriteString("suspend: true — observing only; no writes to the PSA\n")
	}
	for _, k := range Kinds {
		cs, ds := p.ByKind(k)
		if len(cs) == 0 && len(ds) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s:\n", kindTitles[k])
		for _, c := range cs {
			fmt.Fprintf(&b, "  %s %s", symbols[c.Action], c.Target)
			if c.Detail != "" {
				fmt.Fprintf(&b, ": %s", c.Detail)
			}
			b.WriteString("\n")
			for _, d := range c.Diff {
				fmt.Fprintf(&b, "      %s: %s → %s\n", d.Field, d.From, d.To)
			}
			if c.Cost != nil {
				fmt.Fprintf(&b, "      cost: %s\n", c.Cost.Text)
			}
		}
		for _, d := range ds {
			fmt.Fprintf(&b, "  ! %s: %s [%s]\n", d.Target, d.Reason, d.Severity)
		}
	}
	if len(p.Changes) == 0 && len(p.Drift) == 0 {
		b.WriteString("\nNo changes. The PSA and the store match horizon.yaml.\n")
	}
	fmt.Fprintf(&b, "\n%s\n", p.SummaryLine())
	_, err := io.WriteString(w, b.String())
	return err
}

func writeMarkdown(w io.Writer, p *Plan) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### Horizon plan: `%s` (%s)\n\n", p.Account, p.Provider)
	if p.Suspended {
		b.WriteString("> **suspend: true** — observing only; no writes to the PSA.\n\n")
	}
	for _, k := range Kinds {
		cs, ds := p.ByKind(k)
		if len(cs) == 0 && len(ds) == 0 {
			continue
		}
		fmt.Fprintf(&b, "#### %s\n\n| | Target | Details |\n|---|---|---|\n", kindTitles[k])
		for _, c := range cs {
			fmt.Fprintf(&b, "| %s %s | %s | %s |\n", symbols[c.Action], c.Action, mdCell(c.Target), mdCell(changeDetails(c)))
		}
		for _, d := range ds {
			fmt.Fprintf(&b, "| ⚠️ %s | %s | %s |\n", d.Severity, mdCell(d.Target), mdCell(d.Reason))
		}
		b.WriteString("\n")
	}
	if len(p.Changes) == 0 && len(p.Drift) == 0 {
		b.WriteString("No changes. The PSA and the store match `horizon.yaml`.\n\n")
	}
	fmt.Fprintf(&b, "**%s**\n", p.SummaryLine())
	_, err := io.WriteString(w, b.String())
	return err
}

func changeDetails(c Change) string {
	parts := []string{}
	if c.Detail != "" {
		parts = append(parts, c.Detail)
	}
	for _, d := range c.Diff {
		parts = append(parts, fmt.Sprintf("%s: %s → %s", d.Field, d.From, d.To))
	}
	if c.Cost != nil {
		parts = append(parts, "cost: "+c.Cost.Text)
	}
	return strings.Join(parts, "; ")
}

func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// WriteResult prints what Apply did.
func WriteResult(w io.Writer, res Result) error {
	var b strings.Builder
	if len(res.Refused) > 0 {
		fmt.Fprintf(&b, "Apply refused: the plan has %d %s; nothing was applied. Fix %s and run apply again:\n",
			len(res.Refused), plural(len(res.Refused), "error", "errors"), plural(len(res.Refused), "it", "them"))
		for _, d := range res.Refused {
			fmt.Fprintf(&b, "  ! %s: %s\n", d.Target, d.Reason)
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
	for _, c := range res.Applied {
		fmt.Fprintf(&b, "%s %s %s: done\n", symbols[c.Action], kindTitles[c.Kind], c.Target)
	}
	for _, f := range res.Failed {
		fmt.Fprintf(&b, "%s %s %s: FAILED: %v\n", symbols[f.Change.Action], kindTitles[f.Change.Kind], f.Change.Target, f.Err)
	}
	fmt.Fprintf(&b, "Apply complete: %d applied, %d failed.\n", len(res.Applied), len(res.Failed))
	_, err := io.WriteString(w, b.String())
	return err
}
