// Package reconcile turns (horizon.yaml, the PSA, the store) into a Plan and
// applies it: webhook registrations, user mappings, picklists and the
// picklist database, widget health and sync settings. A pass observes, diffs
// and (unless only planning) applies, in a fixed order of steps; each step
// says what it changes and when it stops. Drift that cannot be applied is
// reported, never hidden; a section in drift mode warn is only reported;
// suspend stops every write to the PSA while observation goes on.
package reconcile

import (
	"fmt"
	"slices"

	"github.com/horizon/reconciler/internal/store"
)

// Kind groups plan items; it is also the label of horizon_drift_items.
type Kind string

// Plan kinds, in the order a pass handles them.
const (
	KindWebhooks     Kind = "webhooks"
	KindUserMappings Kind = "userMappings"
	KindPicklists    Kind = "picklists"
	KindWidgets      Kind = "widgets"
	KindSync         Kind = "sync"
)

// Kinds lists every kind in pass order.
var Kinds = []Kind{KindWebhooks, KindUserMappings, KindPicklists, KindWidgets, KindSync}

// Action is what a change does.
type Action string

// Change actions. Add, change and remove count in the plan summary; refresh
// and backfill are store-side work the plan announces.
const (
	ActionAdd      Action = "add"
	ActionChange   Action = "change"
	ActionRemove   Action = "remove"
	ActionRefresh  Action = "refresh"
	ActionBackfill Action = "backfill"
)

// FieldDiff is one field that differs.
type FieldDiff struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// Change is one difference the reconciler can apply.
type Change struct {
	Kind   Kind        `json:"kind"`
	Action Action      `json:"action"`
	Target string      `json:"target"`
	Detail string      `json:"detail,omitempty"`
	Diff   []FieldDiff `json:"diff,omitempty"`
	// Cost is what a backfill will cost the PSA's API budget.
	Cost *CostEstimate `json:"cost,omitempty"`

	apply applyFunc
}

// Severity of a drift item.
type Severity string

// Drift severities: an error fails the plan (exit 1 with
// --detailed-exitcode), a warning is reported only.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Drift is a difference the reconciler will not or cannot apply: the PSA's
// API cannot make the change, the section is in drift mode warn, writes are
// suspended, or a human must act.
type Drift struct {
	Kind     Kind     `json:"kind"`
	Target   string   `json:"target"`
	Reason   string   `json:"reason"`
	Severity Severity `json:"severity"`
}

// Plan is what a pass found: the changes it can apply and the drift it
// cannot.
type Plan struct {
	Account   string   `json:"account"`
	Provider  string   `json:"provider"`
	Suspended bool     `json:"suspended"`
	Changes   []Change `json:"changes"`
	Drift     []Drift  `json:"drift"`
	// Unmapped counts active helpdesk users with no mapping.
	Unmapped int `json:"unmappedUsers"`
	// Widgets are this pass's widget checks.
	Widgets []store.WidgetCheck `json:"widgets,omitempty"`
}

// Summary counts a plan.
type Summary struct {
	Add    int `json:"add"`
	Change int `json:"change"`
	Remove int `json:"remove"`
	Other  int `json:"refreshOrBackfill"`
	Drift  int `json:"drift"`
	Errors int `json:"errors"`
}

// Summary counts the plan's items.
func (p *Plan) Summary() Summary {
	var s Summary
	for _, c := range p.Changes {
		switch c.Action {
		case ActionAdd:
			s.Add++
		case ActionChange:
			s.Change++
		case ActionRemove:
			s.Remove++
		default:
			s.Other++
		}
	}
	for _, d := range p.Drift {
		s.Drift++
		if d.Severity == SeverityError {
			s.Errors++
		}
	}
	return s
}

// SummaryLine is the plan's closing line, in Terraform's words.
func (p *Plan) SummaryLine() string {
	s := p.Summary()
	line := fmt.Sprintf("Plan: %d to add, %d to change, %d to remove", s.Add, s.Change, s.Remove)
	if s.Other > 0 {
		line += fmt.Sprintf(", %d to refresh or backfill", s.Other)
	}
	line += fmt.Sprintf("; %d drift %s cannot be applied", s.Drift, plural(s.Drift, "item", "items"))
	if s.Errors > 0 {
		line += fmt.Sprintf(" (%d %s)", s.Errors, plural(s.Errors, "error", "errors"))
	}
	return line + "."
}

// HasChanges reports whether applying the plan would change anything.
func (p *Plan) HasChanges() bool { return len(p.Changes) > 0 }

// HasErrors reports whether the plan has drift of error severity.
func (p *Plan) HasErrors() bool { return p.Summary().Errors > 0 }

// DriftByKind counts, per kind, what the pass leaves different from the
// file: every drift item, plus changes not applied (when only planning).
func (p *Plan) DriftByKind(applied bool) map[Kind]int {
	m := map[Kind]int{}
	for _, k := range Kinds {
		m[k] = 0
	}
	for _, d := range p.Drift {
		m[d.Kind]++
	}
	if !applied {
		for _, c := range p.Changes {
			if c.Action == ActionAdd || c.Action == ActionChange || c.Action == ActionRemove {
				m[c.Kind]++
			}
		}
	}
	return m
}

// ByKind returns the plan's changes and drift of one kind.
func (p *Plan) ByKind(k Kind) ([]Change, []Drift) {
	var cs []Change
	var ds []Drift
	for _, c := range p.Changes {
		if c.Kind == k {
			cs = append(cs, c)
		}
	}
	for _, d := range p.Drift {
		if d.Kind == k {
			ds = append(ds, d)
		}
	}
	return cs, ds
}

func (p *Plan) sort() {
	order := func(k Kind) int { return slices.Index(Kinds, k) }
	slices.SortStableFunc(p.Changes, func(a, b Change) int { return order(a.Kind) - order(b.Kind) })
	slices.SortStableFunc(p.Drift, func(a, b Drift) int { return order(a.Kind) - order(b.Kind) })
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
