package store

import (
	"context"
	"strings"
	"testing"
)

func TestRedactHidesEveryPassword(t *testing.T) {
	for _, raw := range []string{
		"postgres://horizon:hunter2@db:5432/horizon",
		"postgres://horizon@db/horizon?password=hunter2&sslmode=disable",
		"postgresql://db/horizon?sslpassword=hunter2",
		"host=db user=horizon password=hunter2 dbname=horizon",
		"host=db password='hunter2 with spaces' dbname=horizon",
		"host=db password = hunter2",
		"postgres://u:hunter2@localhost:bad-port/db",
	} {
		got := Redact(raw)
		if strings.Contains(got, "hunter2") {
			t.Errorf("Redact(%q) = %q: password shown", raw, got)
		}
		if !strings.Contains(got, "<secret>") {
			t.Errorf("Redact(%q) = %q: no <secret> marker", raw, got)
		}
	}
	if got := Redact("sqlite:horizon.db"); got != "sqlite:horizon.db" {
		t.Errorf("Redact changed a URL without credentials: %q", got)
	}
}

func TestOpenErrorsNeverShowThePassword(t *testing.T) {
	_, err := Open(context.Background(), "host=db password=hunter2")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("Open error = %v", err)
	}
}
