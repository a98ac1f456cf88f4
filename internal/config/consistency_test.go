package config

import (
	"fmt"
	"regexp"
	"slices"
	"testing"
)

// schemaAt returns the decoded schema node at ptr.
func schemaAt(t *testing.T, ptr string) map[string]any {
	t.Helper()
	cs, err := loadSchema()
	if err != nil {
		t.Fatal(err)
	}
	node, ok := resolvePtr(cs.raw, ptr).(map[string]any)
	if !ok {
		t.Fatalf("no schema object at %s", ptr)
	}
	return node
}

func toStrings[T ~string](items []T) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = string(it)
	}
	return out
}

// TestVocabularyMatchesSchema keeps the Go lists and the schema enums equal,
// and the capability table inside them.
func TestVocabularyMatchesSchema(t *testing.T) {
	checks := []struct {
		name string
		ptr  string
		want []string
	}{
		{"providers", "/$defs/helpdesk/properties/provider", toStrings(Providers())},
		{"entities", "/$defs/sync/properties/entities/items", toStrings(Entities())},
		{"events", "/$defs/callbacks/properties/events/items", toStrings(Events())},
		{"drift modes", "/$defs/drift", []string{string(DriftEnabled), string(DriftWarn)}},
		{"unmapped policies", "/$defs/userMappings/properties/unmappedPolicy", []string{string(UnmappedWarn), string(UnmappedError), string(UnmappedIgnore)}},
	}
	for _, c := range checks {
		if got := stringsOf(schemaAt(t, c.ptr)["enum"]); !slices.Equal(got, c.want) {
			t.Errorf("%s: schema has %v, Go has %v", c.name, got, c.want)
		}
	}
	props := schemaAt(t, "/$defs/picklists/properties")
	for _, k := range PicklistKinds() {
		if props[string(k)] == nil {
			t.Errorf("picklist kind %s missing from the schema", k)
		}
	}
	for _, p := range Providers() {
		c, ok := CapabilitiesOf(p)
		if !ok || c.Name == "" || c.EnvPrefix == "" || len(c.Entities) == 0 {
			t.Errorf("%s: incomplete capability row %+v", p, c)
		}
		for _, e := range c.Events {
			if !slices.Contains(Events(), e) {
				t.Errorf("%s: event %s is not in the vocabulary", p, e)
			}
		}
		for k := range c.Picklists {
			if !slices.Contains(PicklistKinds(), k) {
				t.Errorf("%s: picklist kind %s is not in the vocabulary", p, k)
			}
		}
		if schemaAt(t, "/$defs/helpdesk/properties")[string(p)] == nil {
			t.Errorf("%s: no provider block in the schema", p)
		}
	}
}

// TestDefaultsMatchSchema keeps the schema's "default" annotations (what
// editors and docs show) equal to what ApplyDefaults does.
func TestDefaultsMatchSchema(t *testing.T) {
	var c Config
	c.Callbacks = &Callbacks{}
	c.Widgets = []Widget{{}}
	c.Writeback = &Writeback{}
	c.ApplyDefaults()
	checks := []struct {
		ptr  string
		want any
	}{
		{"/properties/suspend", false},
		{"/$defs/sync/properties/entities", toStrings(c.Sync.Entities)},
		{"/$defs/sync/properties/ingestWindow", c.Sync.IngestWindow.String()},
		{"/$defs/sync/properties/pollInterval", c.Sync.PollInterval.String()},
		{"/$defs/sync/properties/picklistRefreshInterval", c.Sync.PicklistRefreshInterval.String()},
		{"/$defs/userMappings/properties/drift", string(c.UserMappings.Drift)},
		{"/$defs/userMappings/properties/unmappedPolicy", string(c.UserMappings.UnmappedPolicy)},
		{"/$defs/picklists/properties/drift", string(c.Picklists.Drift)},
		{"/$defs/picklists/properties/create", false},
		{"/$defs/callbacks/properties/staleAfter", c.Callbacks.StaleAfter.String()},
		{"/$defs/callbacks/properties/drift", string(c.Callbacks.Drift)},
		{"/$defs/callbacks/properties/prune", true}, // set by decode, see Callbacks.Prune
		{"/$defs/widget/properties/timeout", c.Widgets[0].Timeout.String()},
		{"/$defs/writeback/properties/enabled", true}, // set by decode, see Writeback.Enabled
		{"/$defs/writeback/properties/unmappedAuthor", string(c.Writeback.UnmappedAuthor)},
		{"/$defs/writeback/properties/maxAttempts", c.Writeback.MaxAttempts},
		{"/$defs/writeback/properties/order", string(c.Writeback.Order)},
	}
	for _, ch := range checks {
		got := schemaAt(t, ch.ptr)["default"]
		if list, ok := got.([]any); ok {
			got = stringsOf(list)
		}
		if fmt.Sprint(got) != fmt.Sprint(ch.want) {
			t.Errorf("%s: schema default %v, Go default %v", ch.ptr, got, ch.want)
		}
	}
}

var betweenRE = regexp.MustCompile(`between (\S+) and ([^\s,.]+)`)

// TestBoundsInDescriptions keeps the ranges the schema describes equal to
// the ones the semantic check enforces.
func TestBoundsInDescriptions(t *testing.T) {
	for _, b := range durationBounds {
		def := "/$defs/" + b.pattern[0]
		if b.pattern[0] == "widgets" {
			def = "/$defs/widget"
		}
		desc, _ := schemaAt(t, def+"/properties/"+b.pattern[len(b.pattern)-1])["description"].(string)
		m := betweenRE.FindStringSubmatch(desc)
		if m == nil {
			t.Errorf("%s: description %q gives no range", b.Key, desc)
			continue
		}
		lo, err1 := ParseDuration(m[1])
		hi, err2 := ParseDuration(m[2])
		if err1 != nil || err2 != nil || lo != b.Min || hi != b.Max {
			t.Errorf("%s: description says between %s and %s; the check enforces %s..%s", b.Key, m[1], m[2], b.Min, b.Max)
		}
	}
}

// TestDurationPatternMatchesParser checks that the schema pattern and
// ParseDuration accept the same strings.
func TestDurationPatternMatchesParser(t *testing.T) {
	pattern := regexp.MustCompile(schemaAt(t, "/$defs/duration")["pattern"].(string))
	for _, s := range []string{"", "0s", "5", "5m", "1h30m", "30d", "1d2h3m4s", "1m1h", "1w", "1.5h", "-1m", "5 m", "1d1s", "h", "10dd"} {
		_, err := ParseDuration(s)
		if pattern.MatchString(s) != (err == nil) {
			t.Errorf("%q: schema pattern matches %v, ParseDuration error %v", s, pattern.MatchString(s), err)
		}
	}
}
