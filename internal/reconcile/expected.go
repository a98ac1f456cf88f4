package reconcile

import (
	"slices"
	"strings"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
)

// ExpectedValue is a picklist value the file expects, and whether a
// picklist database holds it.
type ExpectedValue struct {
	Kind    helpdesk.PicklistKind `json:"kind"`
	Board   string                `json:"board,omitempty"`
	Value   string                `json:"value"`
	Present bool                  `json:"present"`
}

// ExpectedPicklistValues checks every value the file's picklists section
// expects against a picklist database (the store's, for the status
// pages), as the plan checks it against the PSA: by name, any case, on
// the named board where one is named.
func ExpectedPicklistValues(pl config.Picklists, db []helpdesk.Picklist) []ExpectedValue {
	var out []ExpectedValue
	for _, w := range expectedValues(pl) {
		present := slices.ContainsFunc(matchingLists(db, w), func(l helpdesk.Picklist) bool {
			return slices.ContainsFunc(l.Values, func(v helpdesk.PicklistValue) bool { return strings.EqualFold(v.Name, w.value) })
		})
		out = append(out, ExpectedValue{Kind: w.kind, Board: w.board, Value: w.value, Present: present})
	}
	return out
}
