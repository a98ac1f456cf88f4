package metrics_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/horizon/reconciler/internal/metrics"
)

// TestEveryMetricDocumented: the metrics tables of docs/operations.md list
// exactly the collectors the process registers (an account's, labelled
// account as the daemon registers them, and the process's own), each with
// the labels it has, so that no documented series is missing, none is
// exported undocumented, and the rules and dashboards written from the
// table group by labels that exist.
func TestEveryMetricDocumented(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics.New(prometheus.WrapRegistererWith(prometheus.Labels{"account": "acme"}, reg))
	metrics.NewFleet(reg)
	ch := make(chan *prometheus.Desc, 100)
	go func() { reg.Describe(ch); close(ch) }()
	registered := map[string]string{} // name: variable labels, comma-separated
	desc := regexp.MustCompile(`fqName: "([a-z_]+)".*constLabels: \{([^}]*)\}, variableLabels: \{([^}]*)\}`)
	for d := range ch {
		m := desc.FindStringSubmatch(d.String())
		if m == nil {
			continue
		}
		registered[m[1]] = m[3]
		if fleet := slices.Contains([]string{"horizon_accounts", "horizon_accounts_led", "horizon_replicas"}, m[1]); fleet != (m[2] == "") {
			t.Errorf("%s: constant labels {%s}: every account collector carries account, the process's own none", m[1], m[2])
		}
	}
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]string{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(horizon_[a-z_]+)` \\| [a-z]+ \\|([^|]*)\\|").FindAllStringSubmatch(string(doc), -1) {
		labels := regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(m[2], -1)
		names := make([]string, len(labels))
		for i, l := range labels {
			names[i] = l[1]
		}
		documented[m[1]] = strings.Join(names, ",")
	}
	for n, labels := range registered {
		doc, found := documented[n]
		switch {
		case !found:
			t.Errorf("%s is registered but not in the metrics tables of docs/operations.md", n)
		case doc != labels:
			t.Errorf("%s: docs/operations.md lists labels %q, the collector has %q", n, doc, labels)
		}
	}
	for n := range documented {
		if _, found := registered[n]; !found {
			t.Errorf("%s is documented in docs/operations.md but not registered", n)
		}
	}
	if len(registered) < 20 {
		t.Fatalf("only %d collectors described: %v", len(registered), registered)
	}
}
