package metrics_test

import (
	"fmt"
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
		if fleet := slices.Contains([]string{"horizon_accounts", "horizon_accounts_led", "horizon_replicas", "horizon_callback_answer_duration_seconds"}, m[1]); fleet != (m[2] == "") {
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

// TestSeriesCostDocumented: the figures docs/operations.md gives for what
// an account's series count grows with follow the histograms' buckets
// (each bucket, +Inf, _sum and _count is a series).
func TestSeriesCostDocumented(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.ReconcileDuration.Observe(1)
	m.SyncDuration.WithLabelValues("tickets").Observe(1)
	m.PSARequestDuration.WithLabelValues("connectwise", "list tickets").Observe(1)
	m.Writeback.Duration.WithLabelValues("note.create").Observe(1)
	m.Smoke.StepDuration.WithLabelValues("connect").Observe(1)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]int{}
	for _, f := range families {
		for _, s := range f.GetMetric() {
			if h := s.GetHistogram(); h != nil {
				series[f.GetName()] += len(h.GetBucket()) + 3 // +Inf, _sum, _count
			}
		}
	}
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		fmt.Sprintf("`horizon_psa_request_duration_seconds` (%d buckets, `+Inf`, `_sum`, `_count`)", series["horizon_psa_request_duration_seconds"]-3),
		fmt.Sprintf("| %d + 1 per status code seen |", series["horizon_psa_request_duration_seconds"]),
		fmt.Sprintf("`horizon_sync_duration_seconds` (%d)", series["horizon_sync_duration_seconds"]),
		fmt.Sprintf("| %d + 2 per result seen |", series["horizon_writeback_duration_seconds"]),
		fmt.Sprintf("(8 steps × %d)", series["horizon_smoke_step_duration_seconds"]),
		fmt.Sprintf("`horizon_reconcile_duration_seconds` (%d)", series["horizon_reconcile_duration_seconds"]),
	} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("docs/operations.md lacks %q: the series an account costs changed with the buckets", want)
		}
	}
}
