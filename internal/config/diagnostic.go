package config

import (
	"cmp"
	"fmt"
	"slices"
)

// Severity grades a Diagnostic.
type Severity string

// The severities. Only errors make a file invalid.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Diagnostic is one problem found in a file. Line and Col are 1-based and
// point at the offending node (at the key itself for unknown keys); Pointer
// is the RFC 6901 JSON pointer of that node, "" for the whole document.
type Diagnostic struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Col      int      `json:"col"`
	Pointer  string   `json:"pointer"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
}

// String formats the diagnostic as FILE:LINE:COL: severity: message (at
// /json/pointer). The pointer part is left out for the whole document.
func (d Diagnostic) String() string {
	s := fmt.Sprintf("%s:%d:%d: %s: %s", d.File, d.Line, d.Col, d.Severity, d.Message)
	if d.Pointer != "" {
		s += " (at " + d.Pointer + ")"
	}
	return s
}

// HasErrors reports whether any diagnostic is an error.
func HasErrors(diags []Diagnostic) bool {
	return slices.ContainsFunc(diags, func(d Diagnostic) bool { return d.Severity == SeverityError })
}

// SortDiagnostics orders diagnostics by file, position, pointer and message,
// and drops exact duplicates.
func SortDiagnostics(diags []Diagnostic) []Diagnostic {
	slices.SortStableFunc(diags, func(a, b Diagnostic) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Col, b.Col),
			cmp.Compare(a.Pointer, b.Pointer),
			cmp.Compare(a.Message, b.Message),
		)
	})
	return slices.Compact(diags)
}
