package config

import "testing"

// TestYAMLVersionDirectives: a file may declare the YAML version it is
// written in. 1.1 and 1.2 are read (1.2 is the current YAML); positions
// after the directive stay exact; any other version is refused at the
// directive.
func TestYAMLVersionDirectives(t *testing.T) {
	tests := []struct {
		name, head string
		valid      bool
	}{
		{"1.2", "%YAML 1.2\n---\n", true},
		{"1.2 with a comment", "%YAML 1.2 # the current version\n---\n", true},
		{"1.1", "%YAML 1.1\n---\n", true},
		{"1.2 and a tag directive", "%YAML 1.2\n%TAG !h! tag:horizon.example,2026:\n---\n", true},
		{"2.0", "%YAML 2.0\n---\n", false},
		{"1.2 twice", "%YAML 1.2\n%YAML 1.2\n---\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, diags := Parse("h.yaml", []byte(tt.head+minimal), LoadOptions{LookupEnv: fakeEnv})
			if (cfg != nil) != tt.valid {
				t.Fatalf("valid = %v, want %v: %v", cfg != nil, tt.valid, diags)
			}
			if !tt.valid && (len(diags) != 1 || diags[0].Line != 1 && diags[0].Line != 2) {
				t.Errorf("want one diagnostic at the directive, got %v", diags)
			}
		})
	}
	// A value that is a string only to YAML 1.2 stays one, and positions
	// count the directive lines.
	_, diags := Parse("h.yaml", []byte("%YAML 1.2\n---\n"+minimal+"suspend: yes\n"), LoadOptions{LookupEnv: fakeEnv})
	if len(diags) != 1 || diags[0].Pointer != "/suspend" || diags[0].Line != 11 || diags[0].Col != 10 {
		t.Errorf("suspend: yes under %%YAML 1.2: want one error at 11:10 (a string, not true), got %v", diags)
	}
}
