package prometheus

import (
	"context"
	"sync"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
)

// Activation is what the gauges show of one open activation.
type Activation struct {
	ID       string
	Exercise bool
	Targeted int
	Informed int
	ToCall   int // on the duty officer's « à appeler » list
	Failed   int
	// ActivatedAt and Deadline are instants: the time left is computed at
	// each scrape (State.Now), even from figures kept in the cache.
	ActivatedAt, Deadline time.Time
	// ForecastLastInformed is, from ActivatedAt, when the last official
	// can at best be informed: the actual time once all are.
	ForecastLastInformed time.Duration
	// CIP is set when the activation's CIP is open in Tocsin; CIPWaiting
	// then counts the callers waiting in its public line's queue.
	CIP        bool
	CIPWaiting int
}

// Exercises is what the gauges show of the exercise calendar.
type Exercises struct {
	// Missed counts the scheduled exercises of the current year that did
	// not happen and that no exercise held another way fulfils.
	Missed int
	// Awaiting counts the due exercises left to the duty officer and not
	// launched yet.
	Awaiting int
	// Next is when the next scheduled exercise is due; zero when none is.
	Next time.Time
}

// State is what the gauges computed at scrape time read.
type State struct {
	// Ping checks that etcd answers a quorum read.
	Ping func(ctx context.Context) error
	// Activations returns the open activations' figures.
	Activations func(ctx context.Context) ([]Activation, error)
	// Exercises returns the exercise calendar's figures.
	Exercises func(ctx context.Context) (Exercises, error)
	// LiveClients returns how many websocket clients the replica serves.
	LiveClients func() int
	Now         func() time.Time
	// CacheFor is how long figures read from the store are served before
	// they are read again: DefaultCacheFor when 0, and at least 20 times
	// what the last read took. Exercises are kept four times longer.
	CacheFor time.Duration
	// Timeout bounds the reads of one scrape; DefaultScrapeTimeout when 0.
	Timeout time.Duration
	// PingEvery bounds how often scrapes ask etcd for a quorum read
	// (wall-clock time): /metrics asks for no token, and scraping must not
	// become a way to load etcd. DefaultPingEvery when 0.
	PingEvery time.Duration
}

// Defaults of State.
const (
	DefaultCacheFor      = 15 * time.Second
	DefaultScrapeTimeout = 3 * time.Second
	DefaultPingEvery     = time.Second
)

// Watch registers the gauges computed at scrape time from st.
func (m *Metrics) Watch(st State) {
	if st.Now == nil {
		st.Now = time.Now
	}
	if st.CacheFor <= 0 {
		st.CacheFor = DefaultCacheFor
	}
	if st.Timeout <= 0 {
		st.Timeout = DefaultScrapeTimeout
	}
	if st.PingEvery <= 0 {
		st.PingEvery = DefaultPingEvery
	}
	m.reg.MustRegister(&stateCollector{st: st, errs: m.stateErrors})
}

var (
	activationLabels = []string{"activation", "kind"}

	descEtcdUp      = prom.NewDesc("tocsin_etcd_up", "1 when etcd answered this replica's quorum read at the scrape, else 0.", nil, nil)
	descLiveClients = prom.NewDesc("tocsin_websocket_clients", "Websocket clients (console pages) this replica serves.", nil, nil)
	descOpen        = prom.NewDesc("tocsin_activations_open", "Open activations, by kind (real, exercise).", []string{"kind"}, nil)
	descStateAge    = prom.NewDesc("tocsin_state_age_seconds", "Age of the open activations' figures this scrape shows.", nil, nil)
	descTargeted    = prom.NewDesc("tocsin_activation_targeted", "Officials an open activation targets.", activationLabels, nil)
	descInformed    = prom.NewDesc("tocsin_activation_informed", "Officials of an open activation informed (acknowledged).", activationLabels, nil)
	descNotInformed = prom.NewDesc("tocsin_activation_not_informed", "Officials of an open activation not informed yet.", activationLabels, nil)
	descToCall      = prom.NewDesc("tocsin_activation_to_call", "Officials of an open activation on the duty officer's list to call by hand.", activationLabels, nil)
	descFailed      = prom.NewDesc("tocsin_activation_failed", "Officials of an open activation whose every number failed so far.", activationLabels, nil)
	descSecondsLeft = prom.NewDesc("tocsin_activation_seconds_left", "Time left before an open activation's deadline; negative past it.", activationLabels, nil)
	descDeadline    = prom.NewDesc("tocsin_activation_deadline_seconds", "An open activation's deadline, from its activation (3600: one hour).", activationLabels, nil)
	descForecast    = prom.NewDesc("tocsin_activation_forecast_last_informed_seconds",
		"From an open activation, when its last official can at best be informed at the current pace (the actual time once all are).", activationLabels, nil)
	descCIPWaiting = prom.NewDesc("tocsin_cip_public_calls_waiting",
		"Callers waiting in the queue of the public line of an open activation's CIP.", activationLabels, nil)
	descExMissed   = prom.NewDesc("tocsin_exercise_runs_missed", "Scheduled exercises of the current year that did not happen and that no exercise held another way fulfils.", nil, nil)
	descExAwaiting = prom.NewDesc("tocsin_exercise_runs_awaiting_launch", "Due exercises left to the duty officer and not launched yet.", nil, nil)
	descExNext     = prom.NewDesc("tocsin_exercise_next_due_timestamp_seconds", "When the next scheduled exercise is due (Unix time).", nil, nil)
)

// stateCollector computes its gauges at scrape time.
type stateCollector struct {
	st   State
	errs *prom.CounterVec

	pingMu sync.Mutex
	pingAt time.Time
	pingOK bool

	mu            sync.Mutex
	acts          []Activation
	actsAt        time.Time // when acts were read; zero before the first read
	actsValidTill time.Time
	ex            Exercises
	exRead        bool
	exValidTill   time.Time
}

func (c *stateCollector) Describe(ch chan<- *prom.Desc) {
	for _, d := range []*prom.Desc{descEtcdUp, descLiveClients, descOpen, descStateAge, descTargeted, descInformed, descNotInformed,
		descToCall, descFailed, descSecondsLeft, descDeadline, descForecast, descCIPWaiting, descExMissed, descExAwaiting, descExNext} {
		ch <- d
	}
	c.errs.Describe(ch)
}

func (c *stateCollector) Collect(ch chan<- prom.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.st.Timeout)
	defer cancel()
	gauge := func(d *prom.Desc, v float64, labels ...string) {
		ch <- prom.MustNewConstMetric(d, prom.GaugeValue, v, labels...)
	}
	reachable := true
	if c.st.Ping != nil {
		reachable = c.ping(ctx)
		up := 0.0
		if reachable {
			up = 1
		}
		gauge(descEtcdUp, up)
	}
	if c.st.LiveClients != nil {
		gauge(descLiveClients, float64(c.st.LiveClients()))
	}
	acts, readAt, ex, exOK := c.read(ctx, reachable)
	now := c.st.Now()
	if c.st.Activations != nil && !readAt.IsZero() {
		open := map[string]int{"real": 0, "exercise": 0}
		for _, a := range acts {
			kind := kindOf(a.Exercise)
			open[kind]++
			gauge(descTargeted, float64(a.Targeted), a.ID, kind)
			gauge(descInformed, float64(a.Informed), a.ID, kind)
			gauge(descNotInformed, float64(a.Targeted-a.Informed), a.ID, kind)
			gauge(descToCall, float64(a.ToCall), a.ID, kind)
			gauge(descFailed, float64(a.Failed), a.ID, kind)
			gauge(descSecondsLeft, a.Deadline.Sub(now).Seconds(), a.ID, kind)
			gauge(descDeadline, a.Deadline.Sub(a.ActivatedAt).Seconds(), a.ID, kind)
			gauge(descForecast, a.ForecastLastInformed.Seconds(), a.ID, kind)
			if a.CIP {
				gauge(descCIPWaiting, float64(a.CIPWaiting), a.ID, kind)
			}
		}
		for kind, n := range open {
			gauge(descOpen, float64(n), kind)
		}
		gauge(descStateAge, time.Since(readAt).Seconds())
	}
	if c.st.Exercises != nil && exOK {
		gauge(descExMissed, float64(ex.Missed))
		gauge(descExAwaiting, float64(ex.Awaiting))
		if !ex.Next.IsZero() {
			gauge(descExNext, float64(ex.Next.Unix()))
		}
	}
	// After the reads: the registry collects collectors concurrently, so
	// the failures of this scrape show in this scrape only this way.
	c.errs.Collect(ch)
}

func kindOf(exercise bool) string {
	if exercise {
		return "exercise"
	}
	return "real"
}

// ping reports whether etcd answers, asking it at most every PingEvery.
func (c *stateCollector) ping(ctx context.Context) bool {
	c.pingMu.Lock()
	defer c.pingMu.Unlock()
	if c.pingAt.IsZero() || time.Since(c.pingAt) >= c.st.PingEvery {
		c.pingOK, c.pingAt = c.st.Ping(ctx) == nil, time.Now()
	}
	return c.pingOK
}

// read returns the figures, read again when the cache is past its time
// (wall-clock time: it spares the store) and the store is reachable.
// Concurrent scrapes wait for one read. A failed read keeps the last
// figures.
func (c *stateCollector) read(ctx context.Context, reachable bool) ([]Activation, time.Time, Exercises, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if !reachable {
		c.errs.WithLabelValues("activations").Inc()
		return c.acts, c.actsAt, c.ex, c.exRead
	}
	if c.st.Activations != nil && !now.Before(c.actsValidTill) {
		start := time.Now()
		acts, err := c.st.Activations(ctx)
		took := time.Since(start)
		if err != nil {
			c.errs.WithLabelValues("activations").Inc()
			c.actsValidTill = now // try again at the next scrape
		} else {
			c.acts, c.actsAt = acts, now
			c.actsValidTill = now.Add(max(c.st.CacheFor, 20*took))
		}
	}
	if c.st.Exercises != nil && !now.Before(c.exValidTill) {
		ex, err := c.st.Exercises(ctx)
		if err != nil {
			c.errs.WithLabelValues("exercises").Inc()
		} else {
			c.ex, c.exRead = ex, true
			c.exValidTill = now.Add(4 * c.st.CacheFor)
		}
	}
	return c.acts, c.actsAt, c.ex, c.exRead
}
