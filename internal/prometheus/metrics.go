package prometheus

import (
	"net/http"
	"sync"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Metrics holds a replica's metrics, in a registry of its own (no global
// state: tests run several replicas in one process).
type Metrics struct {
	reg *prom.Registry

	leader        prom.Gauge
	leaderChanges prom.Counter
	mu            sync.Mutex
	isLeader      bool

	providerRequests *prom.CounterVec
	providerDuration *prom.HistogramVec
	settled          *prom.CounterVec
	rate             *prom.GaugeVec
	rateCeiling      *prom.GaugeVec
	rateLimited      *prom.GaugeVec

	webhooks        *prom.CounterVec
	webhookDuration *prom.HistogramVec
	logins          *prom.CounterVec
	liveDrops       *prom.CounterVec
	publicCalls     *prom.CounterVec

	reconciled      *prom.CounterVec
	reconcileInform prom.Counter
	reconcilePasses *prom.CounterVec

	auditAppended      *prom.CounterVec
	auditVerifications *prom.CounterVec
	// The verification's gauges appear at the first verification: none
	// is better than a 0 that reads "never" or "broken".
	auditLastVerified *prom.GaugeVec
	auditVerified     *prom.GaugeVec
	auditIntact       *prom.GaugeVec
	auditCheckpoint   *prom.GaugeVec
	exerciseRuns      *prom.CounterVec

	etcdDuration *prom.HistogramVec
	etcdErrors   *prom.CounterVec

	stateErrors *prom.CounterVec
}

// Routes are the provider routes counted from the start. A secondary
// route's series appear when it is first used.
var routes = []string{"primary"}

// New returns the metrics of the replica named node (its name in the
// leader election), with the Go runtime's and the process's.
func New(node string) *Metrics {
	m := &Metrics{reg: prom.NewRegistry()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	info := prom.NewGauge(prom.GaugeOpts{Name: "tocsin_replica_info", Help: "Always 1; node is this replica's name in the leader election.",
		ConstLabels: prom.Labels{"node": node}})
	info.Set(1)
	m.reg.MustRegister(info)

	m.leader = m.gauge("tocsin_leader", "1 while this replica leads (dispatches, runs the exercise schedule), else 0.")
	m.leaderChanges = m.counter("tocsin_leader_changes_total", "Times this replica took or lost the leadership.")

	m.providerRequests = m.counterVec("tocsin_provider_requests_total",
		"Messages and calls handed to the provider, by channel, route, result (accepted, rate_limited, refused, retry, unknown) and failure reason (none when accepted).",
		"channel", "route", "result", "reason")
	m.providerDuration = m.histogramVec("tocsin_provider_request_duration_seconds", "How long the provider took to answer a send or a call.",
		[]float64{.025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}, "channel", "route")
	m.settled = m.counterVec("tocsin_provider_unknown_settled_total",
		"Sends of unknown outcome settled from the provider's records: found sent, or proven not sent (then sent again).", "channel", "route", "outcome")
	m.rate = m.gaugeVec("tocsin_dispatch_rate_per_second", "The leader's effective send rate, per channel (messages or calls per second).", "channel")
	m.rateCeiling = m.gaugeVec("tocsin_dispatch_rate_ceiling_per_second", "The configured rate, per channel: the ceiling of the effective rate.", "channel")
	m.rateLimited = m.gaugeVec("tocsin_dispatch_rate_limited", "1 while the provider holds the channel's rate below its ceiling (429s), else 0.", "channel")

	m.webhooks = m.counterVec("tocsin_webhooks_total",
		"Twilio webhooks received, by kind and result (ok, bad_signature, invalid, unavailable, busy, error).", "kind", "result")
	m.webhookDuration = m.histogramVec("tocsin_webhook_duration_seconds", "How long a Twilio webhook took to answer.",
		[]float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}, "kind")
	m.logins = m.counterVec("tocsin_logins_total",
		"Console logins, by result: success, failure, lockout (a failure that locked a name or an address out), locked (refused while locked out).", "result")
	m.liveDrops = m.counterVec("tocsin_websocket_drops_total",
		"Websocket clients the replica disconnected, by reason (too_slow, reload, session).", "reason")
	m.publicCalls = m.counterVec("tocsin_cip_public_calls_total",
		"Calls to the CIP's public line, by outcome: as they arrive, queued (waiting for the operators in position), put_through (the operators rung at once), overflow (nobody in position), closed (no CIP open); then, once per call queued, how it left the queue: answered (an operator took it), abandoned (the caller hung up while waiting), unanswered (sent away: the CIP closed, nobody in position any more).", "outcome")

	m.reconciled = m.counterVec("tocsin_reconcile_recovered_total",
		"Replies and statuses whose webhooks were lost, recovered from the provider's records, by kind (reply, status).", "kind")
	m.reconcileInform = m.counter("tocsin_reconcile_informed_total", "Recovered replies that informed an official.")
	m.reconcilePasses = m.counterVec("tocsin_reconcile_passes_total", "Reconciliation passes with the provider, by result (ok, error).", "result")

	m.auditAppended = m.counterVec("tocsin_audit_appended_total",
		"Entries chained to the audit trail by this replica, by way (direct, outbox, recipients).", "via")
	m.auditVerifications = m.counterVec("tocsin_audit_verifications_total",
		"Verifications of the audit trail, by result (ok, broken, missing, error).", "result")
	m.auditLastVerified = m.gaugeVec("tocsin_audit_last_verified_timestamp_seconds",
		"When this replica last verified the audit trail and found it whole (Unix time).")
	m.auditVerified = m.gaugeVec("tocsin_audit_verified_entries", "The entries of the audit trail at its last successful verification: the verified head.")
	m.auditCheckpoint = m.gaugeVec("tocsin_audit_last_checkpoint_timestamp_seconds",
		"When this replica last found the audit trail's head anchored in its checkpoint file: a checkpoint signed, or its last one still the head's (Unix time); absent without a signing key.")
	m.auditIntact = m.gaugeVec("tocsin_audit_chain_intact", "1 when this replica's last verification found the audit trail whole, 0 when broken or missing entries.")
	m.exerciseRuns = m.counterVec("tocsin_exercise_runs_total",
		"Scheduled exercises come due, by what became of them: launched, notified (left to the duty officer), failed, missed.", "outcome")

	m.etcdDuration = m.histogramVec("tocsin_etcd_request_duration_seconds", "How long an etcd request took, by method (Range, Txn, Put…).",
		[]float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}, "method")
	m.etcdErrors = m.counterVec("tocsin_etcd_request_errors_total", "etcd requests that failed, by method and gRPC code.", "method", "code")

	// Collected by the state collector, after its reads (Watch).
	m.stateErrors = prom.NewCounterVec(prom.CounterOpts{Name: "tocsin_state_read_errors_total",
		Help: "Scrapes that served the figures of an earlier read: the store read failed, or etcd did not answer; by part (activations, exercises)."},
		[]string{"part"})

	m.zero()
	return m
}

// zero creates the series that alerts and ratios need, at 0.
func (m *Metrics) zero() {
	for _, ch := range []tocsin.Channel{tocsin.SMS, tocsin.Voice} {
		for _, route := range routes {
			m.providerRequests.WithLabelValues(string(ch), route, "accepted", NoReason)
			m.providerRequests.WithLabelValues(string(ch), route, "rate_limited", tocsin.ReasonRateLimited.String())
			m.providerRequests.WithLabelValues(string(ch), route, "retry", tocsin.ReasonAuth.String())
			for _, o := range []string{"sent", "not_sent"} {
				m.settled.WithLabelValues(string(ch), route, o)
			}
		}
	}
	for _, k := range webhookKinds {
		for _, r := range []string{"ok", "bad_signature"} {
			m.webhooks.WithLabelValues(k, r)
		}
	}
	for _, r := range []string{"success", "failure", "lockout", "locked"} {
		m.logins.WithLabelValues(r)
	}
	for _, r := range []string{"too_slow", "reload", "session"} {
		m.liveDrops.WithLabelValues(r)
	}
	for _, o := range []string{"queued", "put_through", "overflow", "closed", "answered", "abandoned", "unanswered"} {
		m.publicCalls.WithLabelValues(o)
	}
	for _, k := range []string{"reply", "status"} {
		m.reconciled.WithLabelValues(k)
	}
	for _, r := range []string{"ok", "error"} {
		m.reconcilePasses.WithLabelValues(r)
	}
	for _, v := range []string{"direct", "outbox", "recipients"} {
		m.auditAppended.WithLabelValues(v)
	}
	for _, r := range []string{"ok", "broken", "missing", "error"} {
		m.auditVerifications.WithLabelValues(r)
	}
	for _, o := range []string{tocsin.RunLaunched, tocsin.RunNotified, tocsin.RunFailed, tocsin.RunMissed} {
		m.exerciseRuns.WithLabelValues(o)
	}
	for _, p := range []string{"activations", "exercises"} {
		m.stateErrors.WithLabelValues(p)
	}
}

// webhookKinds are the Twilio webhooks, as the kind label names them.
var webhookKinds = []string{"sms_status", "sms_inbound", "voice_twiml", "voice_gather", "voice_status", "public_line"}

// maxScrapes bounds the scrapes served at once; more are answered 503.
const maxScrapes = 4

// Handler serves the metrics in Prometheus' text format. It asks for no
// authentication: restrict /metrics at the network level.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, MaxRequestsInFlight: maxScrapes})
}

// Gatherer returns the registry, for tests.
func (m *Metrics) Gatherer() prom.Gatherer { return m.reg }

// Leader records whether this replica leads. Losing the lead clears the
// pace gauges: only a leader sends.
func (m *Metrics) Leader(v bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v == m.isLeader {
		return
	}
	m.isLeader = v
	m.leaderChanges.Inc()
	if v {
		m.leader.Set(1)
		return
	}
	m.leader.Set(0)
	m.rate.Reset()
	m.rateCeiling.Reset()
	m.rateLimited.Reset()
}

func (m *Metrics) counter(name, help string) prom.Counter {
	c := prom.NewCounter(prom.CounterOpts{Name: name, Help: help})
	m.reg.MustRegister(c)
	return c
}

func (m *Metrics) gauge(name, help string) prom.Gauge {
	g := prom.NewGauge(prom.GaugeOpts{Name: name, Help: help})
	m.reg.MustRegister(g)
	return g
}

func (m *Metrics) counterVec(name, help string, labels ...string) *prom.CounterVec {
	c := prom.NewCounterVec(prom.CounterOpts{Name: name, Help: help}, labels)
	m.reg.MustRegister(c)
	return c
}

func (m *Metrics) gaugeVec(name, help string, labels ...string) *prom.GaugeVec {
	g := prom.NewGaugeVec(prom.GaugeOpts{Name: name, Help: help}, labels)
	m.reg.MustRegister(g)
	return g
}

func (m *Metrics) histogramVec(name, help string, buckets []float64, labels ...string) *prom.HistogramVec {
	h := prom.NewHistogramVec(prom.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	m.reg.MustRegister(h)
	return h
}
