// Package settings holds the process settings of the reconciler: what the
// process needs that is not part of horizon.yaml (where the database is,
// where to listen, how to log). They come from HORIZON_* environment
// variables; command-line flags override them.
package settings

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/sethvargo/go-envconfig"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/retention"
)

// Settings are the process settings.
type Settings struct {
	// DatabaseURL selects the store: a postgres:// URL for PostgreSQL;
	// empty selects the embedded SQLite store.
	DatabaseURL string `env:"HORIZON_DATABASE_URL"`
	// ListenAddr is the HTTP listen address (callbacks, metrics, health).
	ListenAddr string `env:"HORIZON_LISTEN_ADDR, default=:8080"`
	// LogLevel is debug, info, warn or error.
	LogLevel Level `env:"HORIZON_LOG_LEVEL, default=info"`
	// LogFormat is text or json.
	LogFormat LogFormat `env:"HORIZON_LOG_FORMAT, default=text"`
	// AdminAddr is the listen address of the status pages (/ui/); empty
	// turns them off.
	AdminAddr string `env:"HORIZON_ADMIN_ADDR, default=127.0.0.1:8081"`
	// AdminToken, when set, is required to see the status pages.
	AdminToken helpdesk.Secret `env:"HORIZON_ADMIN_TOKEN"`
	// Retention bounds the audit trails (HORIZON_RETENTION_*).
	Retention retention.Policy
}

// Variable documents one environment variable, for --help.
type Variable struct {
	Name, Default, Help string
}

// Variables lists the environment variables Settings reads.
func Variables() []Variable {
	return []Variable{
		{"HORIZON_DATABASE_URL", "", "Database URL: postgres://… for PostgreSQL; empty selects the embedded SQLite store."},
		{"HORIZON_LISTEN_ADDR", ":8080", "Address the HTTP server listens on (callbacks, /metrics, health checks)."},
		{"HORIZON_LOG_LEVEL", "info", "Log level: debug, info, warn or error."},
		{"HORIZON_LOG_FORMAT", "text", "Log format: text or json."},
		{"HORIZON_ADMIN_ADDR", "127.0.0.1:8081", "Address of the status pages (/ui/); keep it private (loopback, a port-forward). Set to off to disable them."},
		{"HORIZON_ADMIN_TOKEN", "", "Token the status pages require, if set (sign in once per browser)."},
		{"HORIZON_RETENTION_CALLBACKS", "30d", "How long the callback log keeps a delivery (0 or off: forever)."},
		{"HORIZON_RETENTION_SYNC_RUNS", "90d", "How long the sync run log keeps a run (0 or off: forever)."},
		{"HORIZON_RETENTION_OUTBOX", "30d", "How long done and dead write-back items are kept (0 or off: forever)."},
	}
}

// FromEnv reads the settings through lookup (nil: the process environment).
func FromEnv(ctx context.Context, lookup envconfig.Lookuper) (Settings, error) {
	if lookup == nil {
		lookup = envconfig.OsLookuper()
	}
	var s Settings
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &s, Lookuper: lookup}); err != nil {
		return Settings{}, fmt.Errorf("read settings from the environment: %w", err)
	}
	return s, nil
}

// Logger returns a slog logger writing to w in the configured format and
// level.
func (s Settings) Logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.Level(s.LogLevel)}
	if s.LogFormat == LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Level is a log level: debug, info, warn or error.
type Level slog.Level

// EnvDecode parses the level from the environment.
func (l *Level) EnvDecode(v string) error { return l.UnmarshalText([]byte(v)) }

// UnmarshalText accepts debug, info, warn or error, in any case.
func (l *Level) UnmarshalText(b []byte) error {
	var sl slog.Level
	if err := sl.UnmarshalText(b); err != nil || !validLevel(string(b)) {
		return fmt.Errorf("log level %q: want debug, info, warn or error", b)
	}
	*l = Level(sl)
	return nil
}

func validLevel(s string) bool {
	switch strings.ToLower(s) {
	case "debug", "info", "warn", "error":
		return true
	}
	return false
}

// String returns the level name.
func (l Level) String() string { return strings.ToLower(slog.Level(l).String()) }

// LogFormat is the log output format.
type LogFormat string

// The log formats.
const (
	LogText LogFormat = "text"
	LogJSON LogFormat = "json"
)

// EnvDecode parses the format from the environment.
func (f *LogFormat) EnvDecode(v string) error { return f.UnmarshalText([]byte(v)) }

// UnmarshalText accepts text or json, in any case.
func (f *LogFormat) UnmarshalText(b []byte) error {
	switch v := LogFormat(strings.ToLower(string(b))); v {
	case LogText, LogJSON:
		*f = v
		return nil
	}
	return fmt.Errorf("log format %q: want text or json", b)
}

// String returns the format name.
func (f LogFormat) String() string { return string(f) }
