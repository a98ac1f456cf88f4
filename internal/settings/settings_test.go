package settings

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/horizon/reconciler/internal/retention"
)

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Settings
		wantErr string
	}{
		{"defaults", nil, Settings{ListenAddr: ":8080", LogLevel: Level(slog.LevelInfo), LogFormat: LogText, AdminAddr: "127.0.0.1:8081",
			Retention: retention.Default}, ""},
		{"all set", map[string]string{
			"HORIZON_DATABASE_URL": "postgres://u:p@db/horizon", "HORIZON_LISTEN_ADDR": "127.0.0.1:9090",
			"HORIZON_LOG_LEVEL": "DEBUG", "HORIZON_LOG_FORMAT": "JSON", "HORIZON_ADMIN_ADDR": "127.0.0.1:9091", "HORIZON_ADMIN_TOKEN": "t0k",
			"HORIZON_RETENTION_CALLBACKS": "7d",
		}, Settings{DatabaseURL: "postgres://u:p@db/horizon", ListenAddr: "127.0.0.1:9090", LogLevel: Level(slog.LevelDebug), LogFormat: LogJSON,
			AdminAddr: "127.0.0.1:9091", AdminToken: "t0k",
			Retention: retention.Policy{Callbacks: retention.Age(7 * 24 * time.Hour), SyncRuns: retention.Default.SyncRuns, Outbox: retention.Default.Outbox}}, ""},
		{"bad retention", map[string]string{"HORIZON_RETENTION_OUTBOX": "forever"}, Settings{}, `retention "forever"`},
		{"bad level", map[string]string{"HORIZON_LOG_LEVEL": "loud"}, Settings{}, `log level "loud"`},
		{"numeric level rejected", map[string]string{"HORIZON_LOG_LEVEL": "info+2"}, Settings{}, "want debug, info, warn or error"},
		{"bad format", map[string]string{"HORIZON_LOG_FORMAT": "xml"}, Settings{}, `log format "xml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromEnv(context.Background(), envconfig.MapLookuper(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	Settings{LogLevel: Level(slog.LevelWarn), LogFormat: LogJSON}.Logger(&buf).Info("hidden")
	Settings{LogLevel: Level(slog.LevelWarn), LogFormat: LogJSON}.Logger(&buf).Warn("shown")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil || rec["msg"] != "shown" {
		t.Errorf("want one JSON warning record, got %q (%v)", buf.String(), err)
	}
}

func TestVariablesDocumentEveryField(t *testing.T) {
	names := map[string]bool{}
	for _, v := range Variables() {
		names[v.Name] = true
	}
	for _, want := range []string{"HORIZON_DATABASE_URL", "HORIZON_LISTEN_ADDR", "HORIZON_LOG_LEVEL", "HORIZON_LOG_FORMAT",
		"HORIZON_ADMIN_ADDR", "HORIZON_ADMIN_TOKEN",
		"HORIZON_RETENTION_CALLBACKS", "HORIZON_RETENTION_SYNC_RUNS", "HORIZON_RETENTION_OUTBOX"} {
		if !names[want] {
			t.Errorf("Variables() lacks %s", want)
		}
	}
}
