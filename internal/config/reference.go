package config

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// WriteReference writes the Markdown reference of what the schema cannot
// say: per-provider capabilities, duration bounds and the other semantic
// checks. It is appended to the schema reference in docs/config.md.
func WriteReference(w io.Writer) error {
	var b bytes.Buffer
	b.WriteString("## Provider capabilities\n\n" +
		"The schema lists every entity, picklist kind and event; each provider supports a subset. " +
		"Using one the provider lacks is an error.\n\n")
	writeCapabilityTable(&b)
	b.WriteString("\n## Duration bounds\n\n| Key | Minimum | Maximum | Default |\n|---|---|---|---|\n")
	for _, bd := range DurationBounds() {
		def := "`" + bd.Default.String() + "`"
		if bd.Default == 0 {
			def = "none (off)"
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | `%s` | %s |\n", bd.Key, bd.Min, bd.Max, def)
	}
	b.WriteString(semanticRules)
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write reference: %w", err)
	}
	return nil
}

func writeCapabilityTable(b *bytes.Buffer) {
	provs := Providers()
	b.WriteString("| |")
	for _, p := range provs {
		fmt.Fprintf(b, " %s (`%s`) |", providers[p].Name, p)
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(provs)) + "\n")
	row := func(label string, cell func(Capabilities) string) {
		fmt.Fprintf(b, "| %s |", label)
		for _, p := range provs {
			fmt.Fprintf(b, " %s |", cell(providers[p]))
		}
		b.WriteString("\n")
	}
	for _, e := range Entities() {
		row("sync `"+string(e)+"`", func(c Capabilities) string { return yes(c.SupportsEntity(e)) })
	}
	for _, k := range PicklistKinds() {
		row("picklist `"+string(k)+"`", func(c Capabilities) string { return picklistCell(c, k) })
	}
	for _, e := range Events() {
		row("event `"+string(e)+"`", func(c Capabilities) string { return yes(c.SupportsEvent(e)) })
	}
}

func picklistCell(c Capabilities, k PicklistKind) string {
	s, ok := c.Picklist(k)
	if !ok {
		return "no"
	}
	var notes []string
	if s.PerBoard {
		notes = append(notes, "per board")
	}
	if s.Creatable {
		notes = append(notes, "creatable")
	}
	if len(notes) == 0 {
		return "yes"
	}
	return "yes (" + strings.Join(notes, ", ") + ")"
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

const semanticRules = `
## Other checks beyond the schema

- A helpdesk user, or a Horizon user, mapped twice is an error (compared without regard to case);
  the message names the line of the first mapping. So is a helpdesk user both mapped and listed in
  ` + "`userMappings.ignore`" + `, or ignored twice.
- A board listed twice in ` + "`picklists.statuses`" + ` or ` + "`picklists.types`" + `, or two widgets with one name, is an error.
- Picklists a provider keeps per board (ConnectWise statuses and types) must be written as
  ` + "`{board, values}`" + ` entries; other picklists as a plain list.
- ` + "`picklists.create: true`" + ` for a kind the provider's API cannot create is a warning: missing values are only reported.
- URLs (` + "`callbacks.url`" + `, ` + "`widgets[].url`" + `, ` + "`baseURL`" + `, ` + "`zoneURL`" + `) must use https and carry no
  ` + "`user:password@`" + `; http is allowed only for localhost and loopback addresses (test servers).
- A secret reference whose environment variable is unset or empty, or whose file does not exist, is a
  warning, and an error with ` + "`reconciler validate --strict`" + `.
`
