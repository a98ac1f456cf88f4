package config

import (
	"strings"
	"testing"
)

func TestWriteback(t *testing.T) {
	tests := []struct {
		name        string
		section     string
		wantEnabled bool
		want        Writeback
		wantWarning string
	}{
		{name: "no section refuses writes", section: ""},
		{
			name:        "defaults",
			section:     "writeback:\n  apiToken: {env: TOKEN}\n",
			wantEnabled: true,
			want:        Writeback{Enabled: true, UnmappedAuthor: UnmappedAuthorRefuse, MaxAttempts: DefaultMaxAttempts, Order: OrderPerTicket},
		},
		{
			name:    "disabled",
			section: "writeback:\n  enabled: false\n  apiToken: {env: TOKEN}\n",
			want:    Writeback{UnmappedAuthor: UnmappedAuthorRefuse, MaxAttempts: DefaultMaxAttempts, Order: OrderPerTicket},
		},
		{
			name:        "no token warns",
			section:     "writeback:\n  unmappedAuthor: apiUser\n  order: none\n  maxAttempts: 3\n",
			wantEnabled: true,
			want:        Writeback{Enabled: true, UnmappedAuthor: UnmappedAuthorAPIUser, MaxAttempts: 3, Order: OrderNone},
			wantWarning: "9:1: warning: writeback has no apiToken: the write API (/api/v1/...) refuses every request",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := strings.Replace(minimal, "    baseURL: https://acme.halopsa.com\n", "    baseURL: https://acme.halopsa.com\n"+tt.section, 1)
			cfg, diags := Parse("w.yaml", []byte(file), LoadOptions{LookupEnv: fakeEnv})
			if cfg == nil {
				t.Fatalf("invalid:\n%s", renderDiagnostics(diags))
			}
			got := renderDiagnostics(diags)
			if tt.wantWarning == "" && len(diags) > 0 || !strings.Contains(got, tt.wantWarning) {
				t.Errorf("diagnostics:\n%s\nwant %q", got, tt.wantWarning)
			}
			if cfg.WritesEnabled() != tt.wantEnabled {
				t.Errorf("WritesEnabled = %v, want %v", cfg.WritesEnabled(), tt.wantEnabled)
			}
			if tt.section == "" {
				if cfg.Writeback != nil {
					t.Errorf("Writeback = %+v, want nil", cfg.Writeback)
				}
				return
			}
			if w := withoutToken(*cfg.Writeback); w != tt.want {
				t.Errorf("Writeback = %+v, want %+v", w, tt.want)
			}
		})
	}
}
