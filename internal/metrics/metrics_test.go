package metrics_test

import (
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/horizon/reconciler/internal/metrics"
)

// TestEveryMetricDocumented: the metrics table of docs/operations.md lists
// exactly the collectors the process registers, so that no documented
// series is missing and none is exported undocumented.
func TestEveryMetricDocumented(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics.New(reg)
	ch := make(chan *prometheus.Desc, 100)
	go func() { reg.Describe(ch); close(ch) }()
	var registered []string
	name := regexp.MustCompile(`fqName: "([a-z_]+)"`)
	for d := range ch {
		if m := name.FindStringSubmatch(d.String()); m != nil {
			registered = append(registered, m[1])
		}
	}
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(horizon_[a-z_]+)` \\|").FindAllSubmatch(doc, -1) {
		documented = append(documented, string(m[1]))
	}
	slices.Sort(registered)
	slices.Sort(documented)
	for _, n := range registered {
		if _, found := slices.BinarySearch(documented, n); !found {
			t.Errorf("%s is registered but not in the metrics table of docs/operations.md", n)
		}
	}
	for _, n := range documented {
		if _, found := slices.BinarySearch(registered, n); !found {
			t.Errorf("%s is documented in docs/operations.md but not registered", n)
		}
	}
	if len(registered) < 20 {
		t.Fatalf("only %d collectors described: %v", len(registered), registered)
	}
}
