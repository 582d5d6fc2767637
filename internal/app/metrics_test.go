package app_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// metrics is one scrape of /metrics.
type metrics struct {
	raw      string
	families map[string]*dto.MetricFamily
}

// scrape reads /metrics as Prometheus does: without a token.
func scrape(tb testing.TB, a *app.App) *metrics {
	tb.Helper()
	resp, err := http.Get(a.URL() + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET /metrics without a token: status %d %s; want 200", resp.StatusCode, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		tb.Fatalf("parse /metrics: %v", err)
	}
	return &metrics{raw: string(body), families: fams}
}

// sum adds the values of the samples of name whose labels include want
// (a histogram counts its observations).
func (m *metrics) sum(name string, want ...string) float64 {
	total := 0.0
	for _, s := range m.samples(name, want...) {
		switch {
		case s.Counter != nil:
			total += s.Counter.GetValue()
		case s.Gauge != nil:
			total += s.Gauge.GetValue()
		case s.Histogram != nil:
			total += float64(s.Histogram.GetSampleCount())
		}
	}
	return total
}

// has reports whether a sample of name has labels including want.
func (m *metrics) has(name string, want ...string) bool { return len(m.samples(name, want...)) > 0 }

// samples returns the samples of name whose labels include want, given as
// "label", "value" pairs.
func (m *metrics) samples(name string, want ...string) []*dto.Metric {
	f := m.families[name]
	if f == nil {
		return nil
	}
	var out []*dto.Metric
	for _, s := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range s.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		ok := true
		for i := 0; i+1 < len(want); i += 2 {
			if labels[want[i]] != want[i+1] {
				ok = false
			}
		}
		if ok {
			out = append(out, s)
		}
	}
	return out
}

// Twenty mayors of Dieppe's arrondissement are texted: fifteen reply, three
// read and never reply, two numbers are invalid. What /metrics counts is
// what the simulator recorded: every SMS it took, the two it refused and
// why, every reply and every callback it posted; the activation's gauges
// say who is informed, how long is left and when the last can be; a
// forged webhook is counted as such. No number, message or token shows.
// Once the activation is closed, its series are gone.
func TestMetricsCountWhatTheSimulatorRecorded(t *testing.T) {
	t.Parallel()
	profile := twiliosim.Profile{Numbers: map[string]twiliosim.Persona{},
		Delivery: twiliosim.Range{Min: 5 * time.Millisecond, Max: 30 * time.Millisecond}}
	var officials []tocsin.Official
	for i := 1; i <= 20; i++ {
		n := fictionMobile(i)
		officials = append(officials, tocsin.Official{ID: fmt.Sprintf("maire-%02d", i), Name: fmt.Sprintf("Maire %02d", i), Role: "maire",
			Commune: "76217", CommuneName: "Dieppe", Arrondissement: "Dieppe", Numbers: []tocsin.Number{{E164: n, Kind: tocsin.Mobile}}})
		switch {
		case i <= 15:
			profile.Numbers[n] = twiliosim.Persona{Behaviour: twiliosim.Reply, Delay: twiliosim.Range{Min: 10 * time.Millisecond, Max: 200 * time.Millisecond}}
		case i <= 18:
			profile.Numbers[n] = twiliosim.Persona{Behaviour: twiliosim.Silent}
		default:
			profile.Numbers[n] = twiliosim.Persona{Behaviour: twiliosim.Invalid}
		}
	}
	a := mustRunApp(t, app.Config{SimulatorProfile: &profile, MetricsCacheFor: time.Millisecond})
	if err := a.Store().ReplaceOfficials(t.Context(), officials); err != nil {
		t.Fatal(err)
	}
	testingutil.Eventually(t, 10*time.Second, "this replica to lead", a.IsLeader)
	var created view
	if st := api(t, a, "POST", "/api/v1/activations", map[string]any{"playbook": "test-tous"}, &created); st != http.StatusCreated {
		t.Fatalf("create activation: status %d", st)
	}
	sim := a.Simulator()
	// Each of the 15 who reply is told their reply was recorded, and
	// answers that confirmation too: 30 replies, 15 acknowledgements.
	waitFor(t, a, created.ID, 30*time.Second, "15 informed and confirmed, 3 delivered, 2 failed", func(v *view) bool {
		confirmed := 0
		for _, r := range v.Recipients {
			if n := r.Notice(string(tocsin.NoticeConfirmation)); n != nil && n.Status == tocsin.AttemptDelivered {
				confirmed++
			}
		}
		return v.Summary.Informed == 15 && v.Summary.Failed == 2 && v.Summary.Delivered == 18 && confirmed == 15 && len(sim.Replies()) == 30
	})
	// The simulator counts a callback once Tocsin answered it.
	var m *metrics
	testingutil.Eventually(t, 10*time.Second, "every callback the simulator posted counted as a webhook", func() bool {
		m = scrape(t, a)
		return m.sum("tocsin_webhooks_total", "result", "ok") == float64(sim.Stats().Callbacks)
	})
	stats := sim.Stats()

	check := func(what string, got, want float64) {
		t.Helper()
		if got != want {
			t.Errorf("%s: /metrics says %v, want %v", what, got, want)
		}
	}
	check("SMS accepted (simulator's messages)", m.sum("tocsin_provider_requests_total", "channel", "sms", "result", "accepted", "reason", "none"),
		float64(len(outbound(sim.Messages()))))
	check("SMS accepted (simulator's count)", m.sum("tocsin_provider_requests_total", "result", "accepted"), float64(stats.Messages))
	check("SMS refused for an invalid number", m.sum("tocsin_provider_requests_total", "channel", "sms", "result", "refused",
		"reason", tocsin.ReasonInvalidNumber.String()), float64(stats.Rejected))
	check("provider calls timed", m.sum("tocsin_provider_request_duration_seconds", "channel", "sms"), float64(stats.Messages+stats.Rejected))
	check("replies received by webhook", m.sum("tocsin_webhooks_total", "kind", "sms_inbound", "result", "ok"), float64(len(sim.Replies())))
	check("forged webhooks", m.sum("tocsin_webhooks_total", "result", "bad_signature"), 0)

	act := []string{"activation", created.ID, "kind", "real"}
	check("targeted", m.sum("tocsin_activation_targeted", act...), 20)
	repliers := map[string]bool{}
	for _, r := range sim.Replies() {
		repliers[r.From] = true
	}
	check("informed (simulator's repliers)", m.sum("tocsin_activation_informed", act...), float64(len(repliers)))
	check("not informed", m.sum("tocsin_activation_not_informed", act...), 5)
	check("failed", m.sum("tocsin_activation_failed", act...), 2)
	check("deadline", m.sum("tocsin_activation_deadline_seconds", act...), 3600)
	check("open real activations", m.sum("tocsin_activations_open", "kind", "real"), 1)
	if left := m.sum("tocsin_activation_seconds_left", act...); left <= 3000 || left > 3600 {
		t.Errorf("seconds left: %v, want a little under 3600", left)
	}
	// Five never answer: the last informed is not before now, and at 500
	// SMS/s nothing else holds it.
	if f := m.sum("tocsin_activation_forecast_last_informed_seconds", act...); f <= 0 || f >= 600 {
		t.Errorf("forecast of the last informed: %v s, want the time elapsed, under 10 min", f)
	}

	check("leader", m.sum("tocsin_leader"), 1)
	check("leadership changes", m.sum("tocsin_leader_changes_total"), 1)
	check("etcd up", m.sum("tocsin_etcd_up"), 1)
	if m.sum("tocsin_etcd_request_duration_seconds", "method", "Range") == 0 || m.sum("tocsin_etcd_request_duration_seconds", "method", "Txn") == 0 {
		t.Error("no etcd Range or Txn timed")
	}
	if m.sum("tocsin_audit_appended_total", "via", "outbox") == 0 {
		t.Error("the activation's audit entry was not counted")
	}
	if !m.has("tocsin_replica_info", "node") {
		t.Error("no tocsin_replica_info naming the node")
	}
	for _, secret := range []string{"+33", "63998", sim.AuthToken(), adminToken, "Alerte de test"} {
		if strings.Contains(m.raw, secret) {
			t.Errorf("/metrics shows %q", secret)
		}
	}

	// Someone posts a reply that Twilio did not sign.
	req, _ := http.NewRequest("POST", a.URL()+"/twilio/sms/inbound", strings.NewReader(url.Values{"From": {fictionMobile(16)}, "Body": {"OK"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", "forged")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("forged reply: status %d, want 403", resp.StatusCode)
	}
	m = scrape(t, a)
	check("forged replies", m.sum("tocsin_webhooks_total", "kind", "sms_inbound", "result", "bad_signature"), 1)
	check("informed after the forged reply", m.sum("tocsin_activation_informed", act...), 15)

	if st := api(t, a, "POST", "/api/v1/activations/"+created.ID+"/close", nil, nil); st != http.StatusOK {
		t.Fatalf("close: status %d", st)
	}
	testingutil.Eventually(t, 10*time.Second, "the closed activation's series to go", func() bool {
		m = scrape(t, a)
		return !m.has("tocsin_activation_targeted", "activation", created.ID)
	})
	check("open real activations once closed", m.sum("tocsin_activations_open", "kind", "real"), 0)
	var left []string
	for name := range m.families {
		if strings.HasPrefix(name, "tocsin_activation_") && len(m.families[name].GetMetric()) > 0 {
			left = append(left, name)
		}
	}
	sort.Strings(left)
	if len(left) > 0 {
		t.Errorf("series of closed activations left: %v", left)
	}
}

// Nobody asks: the leader verifies the audit trail after taking the lead
// and then periodically, and /metrics says it found it whole. Then an
// activation is slipped into etcd behind Tocsin's back: the next
// verification names it missing, and /metrics says the trail is no longer
// intact while keeping when it was last found whole.
func TestLeaderVerifiesTheAuditTrailUnasked(t *testing.T) {
	t.Parallel()
	a := mustRunApp(t, app.Config{AuditVerifyAfter: time.Millisecond, AuditVerifyEvery: 50 * time.Millisecond})
	if err := a.Store().ReplaceOfficials(t.Context(), []tocsin.Official{mayorOf("dieppe", mobile(fictionMobile(72)))}); err != nil {
		t.Fatal(err)
	}
	if st := api(t, a, "POST", "/api/v1/activations", map[string]any{"playbook": "test-tous"}, nil); st != http.StatusCreated {
		t.Fatalf("create: status %d", st)
	}
	var m *metrics
	testingutil.Eventually(t, 10*time.Second, "a verification that finds the trail whole, with the activation's entry", func() bool {
		m = scrape(t, a)
		return m.sum("tocsin_audit_chain_intact") == 1 && m.sum("tocsin_audit_verified_entries") >= 2
	})
	verifiedAt := m.sum("tocsin_audit_last_verified_timestamp_seconds")
	if now := float64(time.Now().Unix()); verifiedAt < now-60 || verifiedAt > now+1 {
		t.Errorf("last verified at %v, want about now (%v)", verifiedAt, now)
	}

	if _, err := a.Store().Client().Put(t.Context(), "/tocsin/act/en-douce",
		`{"id":"en-douce","title":"crue","state":"closed","activated_at":"2026-03-01T07:00:00Z"}`); err != nil {
		t.Fatal(err)
	}
	testingutil.Eventually(t, 10*time.Second, "a verification that finds the activation without its entry", func() bool {
		m = scrape(t, a)
		return m.sum("tocsin_audit_chain_intact") == 0 && m.sum("tocsin_audit_verifications_total", "result", "missing") >= 1
	})
	if m.sum("tocsin_audit_last_verified_timestamp_seconds") < verifiedAt {
		t.Error("the time the trail was last found whole went back")
	}
}
