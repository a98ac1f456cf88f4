package helpdesk

import "testing"

func TestMarker(t *testing.T) {
	for _, tc := range []struct {
		m  string
		ok bool
	}{{"hz-01J9Z3K4", true}, {"", false}, {"has space", false}, {"x<y", false},
		{"a234567890123456789012345678901234567890", true}, {"a2345678901234567890123456789012345678901", false}} {
		if err := CheckMarker(tc.m); (err == nil) != tc.ok {
			t.Errorf("CheckMarker(%q) = %v, want ok=%v", tc.m, err, tc.ok)
		}
	}
	text := MarkText("Called the client.\n", "hz-12")
	if text != "Called the client.\n\n[ref: hz-12]" {
		t.Errorf("MarkText = %q", text)
	}
	if MarkText("", "hz-1") != "[ref: hz-1]" || MarkText("x", "") != "x" {
		t.Error("MarkText edge cases")
	}
	for _, tc := range []struct {
		text, m string
		want    bool
	}{
		{text, "hz-12", true},
		{text, "hz-1", false}, // a prefix of another marker
		{text, "z-12", false}, // a suffix of another marker
		{"<div>[ref:&nbsp;hz-12]</div>", "hz-12", true},
		{"hz-12]", "hz-12", true},
		{"[ref: hz-123] [ref: hz-12]", "hz-12", true},
		{"no marker", "hz-12", false},
		{text, "", false},
	} {
		if got := HasMarker(tc.text, tc.m); got != tc.want {
			t.Errorf("HasMarker(%q, %q) = %v, want %v", tc.text, tc.m, got, tc.want)
		}
	}
}
