package helpdesk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverPrints(t *testing.T) {
	s := Secret("hunter2-value")
	var b bytes.Buffer
	for _, verb := range []string{"%s", "%v", "%+v", "%#v", "%q", "%x", "%X", "%10s"} {
		fmt.Fprintf(&b, verb+"\n", s)
	}
	j, _ := json.Marshal(struct{ S Secret }{s})
	b.Write(j)
	slog.New(slog.NewJSONHandler(&b, nil)).Info("x", "secret", s)
	slog.New(slog.NewTextHandler(&b, nil)).Info("x", "secret", s)
	if strings.Contains(b.String(), "hunter2") || strings.Contains(b.String(), "68756e746572") {
		t.Fatalf("the secret leaked:\n%s", b.String())
	}
	if s.Reveal() != "hunter2-value" {
		t.Fatal("Reveal lost the value")
	}
}
