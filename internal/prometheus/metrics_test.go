package prometheus_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/prefecture76/tocsin/internal/prometheus"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// gather returns every sample of the registry as "name{l="v",…}" → value.
func gather(t *testing.T, m *prometheus.Metrics) map[string]float64 {
	t.Helper()
	mfs, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, s := range mf.GetMetric() {
			var labels []string
			for _, l := range s.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			key := mf.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = s.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key] = s.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[key] = float64(s.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func TestNamesFollowPrometheusConventions(t *testing.T) {
	m := prometheus.New("tocsin-a")
	m.Watch(prometheus.State{
		Ping: func(context.Context) error { return nil },
		Activations: func(context.Context) ([]prometheus.Activation, error) {
			return []prometheus.Activation{{ID: "a1"}}, nil
		},
		Exercises:   func(context.Context) (prometheus.Exercises, error) { return prometheus.Exercises{}, nil },
		LiveClients: func() int { return 0 },
	})
	m.Sent(tocsin.SMS, "primary", "accepted", prometheus.NoReason, time.Second)
	m.Pace(tocsin.SMS, 10, 10, false)
	m.Webhook("sms_inbound", "ok", time.Millisecond)
	m.EtcdRequest("Range", time.Millisecond, "OK")
	m.AuditVerified(prometheus.Verification{At: time.Now(), Entries: 3, Intact: true}, nil)
	mfs, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	for name := range gather(t, m) {
		if !strings.HasPrefix(name, "tocsin_") && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") {
			t.Errorf("%s: want every metric of Tocsin's own under tocsin_", name)
		}
	}
}

// The series that alerts and ratios divide by exist at 0 before anything
// happens, so that the first increase is seen.
func TestSeriesAlertsNeedExistAtZero(t *testing.T) {
	got := gather(t, prometheus.New("tocsin-a"))
	for _, want := range []string{
		`tocsin_leader{}`,
		`tocsin_leader_changes_total{}`,
		`tocsin_provider_requests_total{channel=sms,reason=none,result=accepted,route=primary}`,
		`tocsin_provider_requests_total{channel=voice,reason=auth,result=retry,route=primary}`,
		`tocsin_webhooks_total{kind=sms_inbound,result=bad_signature}`,
		`tocsin_webhooks_total{kind=voice_gather,result=bad_signature}`,
		`tocsin_exercise_runs_total{outcome=missed}`,
		`tocsin_exercise_runs_total{outcome=failed}`,
		`tocsin_logins_total{result=lockout}`,
		`tocsin_replica_info{node=tocsin-a}`,
	} {
		if v, ok := got[want]; !ok || (v != 0 && want != `tocsin_replica_info{node=tocsin-a}`) {
			t.Errorf("%s: got %v (present %v), want present at 0", want, v, ok)
		}
	}
	// A verification's gauges appear with the first verification: a 0
	// would read "never verified" or "broken".
	for name := range got {
		if strings.HasPrefix(name, "tocsin_audit_last_verified") || strings.HasPrefix(name, "tocsin_audit_chain_intact") ||
			strings.HasPrefix(name, "tocsin_audit_last_checkpoint") {
			t.Errorf("%s present before any verification", name)
		}
	}
}

func TestLeadershipIsCountedOnceEachWay(t *testing.T) {
	m := prometheus.New("tocsin-a")
	m.Leader(true)
	m.Leader(true)
	m.Pace(tocsin.SMS, 4.5, 10, true)
	if got := gather(t, m); got["tocsin_leader{}"] != 1 || got["tocsin_leader_changes_total{}"] != 1 ||
		got["tocsin_dispatch_rate_per_second{channel=sms}"] != 4.5 || got["tocsin_dispatch_rate_limited{channel=sms}"] != 1 {
		t.Errorf("after taking the lead: %v", got)
	}
	m.Leader(false)
	got := gather(t, m)
	if got["tocsin_leader{}"] != 0 || got["tocsin_leader_changes_total{}"] != 2 {
		t.Errorf("after losing the lead: leader %v, changes %v; want 0 and 2", got["tocsin_leader{}"], got["tocsin_leader_changes_total{}"])
	}
	if _, ok := got["tocsin_dispatch_rate_per_second{channel=sms}"]; ok {
		t.Error("a replica that no longer leads still shows a send rate")
	}
}

func TestAuditVerificationGauges(t *testing.T) {
	m := prometheus.New("tocsin-a")
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	m.AuditVerified(prometheus.Verification{At: at, Entries: 42, Intact: true}, nil)
	m.AuditVerified(prometheus.Verification{}, errors.New("etcd: no quorum"))
	got := gather(t, m)
	if got["tocsin_audit_last_verified_timestamp_seconds{}"] != float64(at.Unix()) || got["tocsin_audit_verified_entries{}"] != 42 ||
		got["tocsin_audit_chain_intact{}"] != 1 || got["tocsin_audit_verifications_total{result=error}"] != 1 {
		t.Errorf("after a whole trail, then an error: %v", got)
	}
	m.AuditCheckpointed(at.Add(time.Minute))
	if got := gather(t, m)["tocsin_audit_last_checkpoint_timestamp_seconds{}"]; got != float64(at.Add(time.Minute).Unix()) {
		t.Errorf("last checkpoint: %v, want %d", got, at.Add(time.Minute).Unix())
	}
	m.AuditVerified(prometheus.Verification{At: at.Add(time.Hour), Entries: 40, Intact: false}, nil)
	got = gather(t, m)
	if got["tocsin_audit_chain_intact{}"] != 0 || got["tocsin_audit_last_verified_timestamp_seconds{}"] != float64(at.Unix()) ||
		got["tocsin_audit_verifications_total{result=broken}"] != 1 {
		t.Errorf("after a broken trail: want intact 0 and the last whole verification's time kept; got %v", got)
	}
}

// fakeStore plays the store the gauges read at scrape time.
type fakeStore struct {
	mu    sync.Mutex
	acts  []prometheus.Activation
	down  bool
	reads int
	pings int
}

func (f *fakeStore) ping(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pings++
	if f.down {
		return errors.New("no quorum")
	}
	return nil
}

func (f *fakeStore) activations(context.Context) ([]prometheus.Activation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return append([]prometheus.Activation(nil), f.acts...), nil
}

func (f *fakeStore) set(fn func(f *fakeStore)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// An open activation has its series while it is open; they go when it
// closes. Time left is computed at each scrape, even from kept figures;
// with etcd down, the last figures are served and the failure counted.
func TestOpenActivationSeriesLiveAsLongAsTheActivation(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 30, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	activated := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	st := &fakeStore{acts: []prometheus.Activation{{ID: "20260301-1000-ab", Exercise: true, Targeted: 708, Informed: 600, ToCall: 3, Failed: 2,
		ActivatedAt: activated, Deadline: activated.Add(time.Hour), ForecastLastInformed: 50 * time.Minute}}}
	m := prometheus.New("tocsin-a")
	m.Watch(prometheus.State{Ping: st.ping, Activations: st.activations, Now: clock, CacheFor: time.Hour, PingEvery: time.Nanosecond})

	got := gather(t, m)
	l := "{activation=20260301-1000-ab,kind=exercise}"
	for name, want := range map[string]float64{
		"tocsin_activation_targeted" + l: 708, "tocsin_activation_informed" + l: 600, "tocsin_activation_not_informed" + l: 108,
		"tocsin_activation_to_call" + l: 3, "tocsin_activation_failed" + l: 2, "tocsin_activation_seconds_left" + l: 1800,
		"tocsin_activation_deadline_seconds" + l: 3600, "tocsin_activation_forecast_last_informed_seconds" + l: 3000,
		"tocsin_activations_open{kind=exercise}": 1, "tocsin_activations_open{kind=real}": 0, "tocsin_etcd_up{}": 1,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}

	// Within the cache's time, a scrape reads nothing; the time left moves.
	now = now.Add(10 * time.Minute)
	got = gather(t, m)
	if st.reads != 1 || got["tocsin_activation_seconds_left"+l] != 1200 {
		t.Errorf("second scrape: %d reads, %v s left; want 1 read and 1200 s", st.reads, got["tocsin_activation_seconds_left"+l])
	}

	// etcd down: the last figures stay, the failure is counted.
	st.set(func(f *fakeStore) { f.down = true })
	got = gather(t, m)
	if got["tocsin_etcd_up{}"] != 0 || got["tocsin_activation_informed"+l] != 600 || got["tocsin_state_read_errors_total{part=activations}"] != 1 {
		t.Errorf("etcd down: up %v, informed %v, errors %v; want 0, the last 600, 1", got["tocsin_etcd_up{}"],
			got["tocsin_activation_informed"+l], got["tocsin_state_read_errors_total{part=activations}"])
	}

	// Closed: its series go at the next read.
	m2 := prometheus.New("tocsin-b")
	st.set(func(f *fakeStore) { f.down = false })
	m2.Watch(prometheus.State{Ping: st.ping, Activations: st.activations, Now: clock, CacheFor: time.Nanosecond})
	if got := gather(t, m2); got["tocsin_activation_targeted"+l] != 708 {
		t.Fatalf("open: targeted %v, want 708", got["tocsin_activation_targeted"+l])
	}
	st.set(func(f *fakeStore) { f.acts = nil })
	got = gather(t, m2)
	for name := range got {
		if strings.HasPrefix(name, "tocsin_activation_") {
			t.Errorf("%s still there after the activation closed", name)
		}
	}
	if got["tocsin_activations_open{kind=exercise}"] != 0 {
		t.Errorf("open exercises: %v, want 0", got["tocsin_activations_open{kind=exercise}"])
	}
}

// /metrics asks for no token: a burst of scrapes reads the store once and
// asks etcd once.
func TestABurstOfScrapesDoesNotLoadEtcd(t *testing.T) {
	st := &fakeStore{acts: []prometheus.Activation{{ID: "a1"}}}
	m := prometheus.New("tocsin-a")
	m.Watch(prometheus.State{Ping: st.ping, Activations: st.activations})
	for range 50 {
		gather(t, m)
	}
	if st.reads != 1 || st.pings != 1 {
		t.Errorf("50 scrapes in a row: %d reads of the activations and %d quorum reads; want 1 and 1", st.reads, st.pings)
	}
}
