package smoke

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// Formats of a report.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// jsonStep is a step as JSON: durations in seconds.
type jsonStep struct {
	Step     string  `json:"step"`
	Result   string  `json:"result"`
	Duration float64 `json:"durationSeconds"`
	Detail   string  `json:"detail"`
	Next     string  `json:"next,omitempty"`
}

type jsonReport struct {
	Account      string     `json:"account"`
	Provider     string     `json:"provider"`
	Result       string     `json:"result"`
	TicketID     string     `json:"ticketId,omitempty"`
	Summary      string     `json:"summary,omitempty"`
	StartedAt    time.Time  `json:"startedAt"`
	Duration     float64    `json:"durationSeconds"`
	Steps        []jsonStep `json:"steps"`
	FirstFailure *jsonStep  `json:"firstFailure,omitempty"`
	LeftOpen     string     `json:"leftOpen,omitempty"`
}

func toJSONStep(s StepResult) jsonStep {
	return jsonStep{Step: s.Step, Result: s.Result, Duration: round(s.Duration).Seconds(), Detail: s.Detail, Next: s.Next}
}

// MarshalJSON writes the report with its result, first failure, and
// durations in seconds.
func (r Report) MarshalJSON() ([]byte, error) {
	j := jsonReport{Account: r.Account, Provider: r.Provider, Result: r.Result(), TicketID: r.TicketID, Summary: r.Summary,
		StartedAt: r.StartedAt, Duration: round(r.Duration).Seconds(), Steps: []jsonStep{}, LeftOpen: r.Left}
	for _, s := range r.Steps {
		j.Steps = append(j.Steps, toJSONStep(s))
	}
	if f := r.FirstFailure(); f != nil {
		s := toJSONStep(*f)
		j.FirstFailure = &s
	}
	return json.Marshal(j)
}

// Write renders the report as a table (text) or JSON.
func (r Report) Write(w io.Writer, format string) error {
	if format == FormatJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(w, "Smoke test of account %s (%s)", r.Account, r.Provider)
	if r.TicketID != "" {
		fmt.Fprintf(w, ", test ticket %s", r.TicketID)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tRESULT\tDURATION\tDETAIL")
	for _, s := range r.Steps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Step, s.Result, round(s.Duration), s.Detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if f := r.FirstFailure(); f != nil {
		fmt.Fprintf(w, "FAILED at step %s: %s\n", f.Step, f.Detail)
		if f.Next != "" {
			fmt.Fprintf(w, "Next: %s\n", f.Next)
		}
	} else if cb := r.step(StepCallback); cb != nil && cb.Result == Skip {
		fmt.Fprintf(w, "PASSED in %s, but callbacks were not verified: see the callback step.\n", round(r.Duration))
	} else {
		fmt.Fprintf(w, "PASSED in %s: the PSA reaches Horizon and Horizon writes back to the PSA.\n", round(r.Duration))
	}
	if r.Left != "" {
		fmt.Fprintf(w, "Test ticket %s is still open in the PSA.\n", r.Left)
	}
	return nil
}

func (r Report) step(name string) *StepResult {
	for i := range r.Steps {
		if r.Steps[i].Step == name {
			return &r.Steps[i]
		}
	}
	return nil
}
