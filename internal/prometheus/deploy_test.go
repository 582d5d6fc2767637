package prometheus_test

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/prefecture76/tocsin/internal/prometheus"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// allFamilies returns the names of every metric a replica can expose,
// histograms with their _bucket, _sum and _count series.
func allFamilies(t *testing.T) map[string]bool {
	t.Helper()
	m := prometheus.New("tocsin-a")
	now := time.Now()
	m.Watch(prometheus.State{
		Ping: func(context.Context) error { return nil },
		Activations: func(context.Context) ([]prometheus.Activation, error) {
			return []prometheus.Activation{{ID: "a1", ActivatedAt: now, Deadline: now.Add(time.Hour), CIP: true}}, nil
		},
		Exercises: func(context.Context) (prometheus.Exercises, error) {
			return prometheus.Exercises{Next: now.Add(24 * time.Hour)}, nil
		},
		LiveClients: func() int { return 0 },
	})
	m.Sent(tocsin.SMS, "primary", "accepted", prometheus.NoReason, time.Second)
	m.Pace(tocsin.SMS, 10, 10, false)
	m.Webhook("sms_inbound", "ok", time.Millisecond)
	m.EtcdRequest("Range", time.Millisecond, "Unavailable")
	m.AuditVerified(prometheus.Verification{At: now, Entries: 1, Intact: true}, nil)
	m.AuditCheckpointed(now)
	mfs, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
		if mf.GetType().String() == "HISTOGRAM" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[mf.GetName()+s] = true
			}
		}
	}
	return names
}

var metricName = regexp.MustCompile(`\btocsin_[a-z_]+\b`)

// The alert rules and the dashboard name only metrics Tocsin exposes: a
// typo would make an alert that never fires, or an empty panel.
func TestRulesAndDashboardNameRealMetrics(t *testing.T) {
	names := allFamilies(t)
	for _, f := range []string{"../../deploy/prometheus/tocsin.rules.yml", "../../deploy/grafana/tocsin.json"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		found := 0
		for _, n := range metricName.FindAllString(string(data), -1) {
			if strings.HasSuffix(n, "_") || n == "tocsin_rules" {
				continue
			}
			found++
			if !names[n] {
				t.Errorf("%s names %s, which Tocsin does not expose", f, n)
			}
		}
		if found < 10 {
			t.Errorf("%s: only %d metric names found", f, found)
		}
	}
}

// Every alert has a summary and a runbook link to a section of
// docs/operations.md that exists.
func TestEveryAlertLinksToItsRunbook(t *testing.T) {
	data, err := os.ReadFile("../../deploy/prometheus/tocsin.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(data, &rules); err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		if h, ok := strings.CutPrefix(line, "### "); ok {
			anchors[strings.ToLower(strings.TrimSpace(h))] = true
		}
	}
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			n++
			if r.Annotations["summary"] == "" {
				t.Errorf("%s: no summary", r.Alert)
			}
			_, anchor, ok := strings.Cut(r.Annotations["runbook_url"], "docs/operations.md#")
			if !ok || anchor != strings.ToLower(r.Alert) || !anchors[anchor] {
				t.Errorf("%s: runbook %q; want docs/operations.md#%s, a section of docs/operations.md", r.Alert,
					r.Annotations["runbook_url"], strings.ToLower(r.Alert))
			}
		}
	}
	if n < 8 {
		t.Errorf("%d alerts, want the eight the issue lists at least", n)
	}
}
