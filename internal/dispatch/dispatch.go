package dispatch

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Store is what dispatch reads and writes. During a term it is the leader's
// fenced store.
type Store interface {
	// LoadRecipients reads an activation and its recipients after the
	// official id after ("" for all), page by page, in the order of the
	// officials' ids, with each recipient's mod revision.
	LoadRecipients(ctx context.Context, id, after string, pageSize int, fn func(a *tocsin.Activation, rs []tocsin.Recipient, revs []int64) error) error
	// Creation returns the progress of an activation whose recipients are
	// still being written, in parts in the order of the officials' ids,
	// and its mod revision; nil once it is whole. WaitCreation returns
	// once that progress moved past rev.
	Creation(ctx context.Context, id string) (*tocsin.Creation, int64, error)
	WaitCreation(ctx context.Context, id string, rev int64) error
	// RecipientWith reads an activation and one of its recipients at once,
	// with the recipient's mod revision.
	RecipientWith(ctx context.Context, activation, official string) (*tocsin.Activation, *tocsin.Recipient, int64, error)
	// UpdateRecipientFrom changes a recipient by compare-and-swap from the
	// state the caller holds (read first when rev is 0), and returns the
	// state as written.
	UpdateRecipientFrom(ctx context.Context, activation, official string, a *tocsin.Activation, r *tocsin.Recipient, rev int64,
		fn func(a *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error)) (*tocsin.Activation, *tocsin.Recipient, int64, error)
	// WatchOpen calls fn for every open activation, then for each one that
	// opens or gains a follow-up message (open true) or closes (open
	// false), until ctx ends or the watch fails.
	WatchOpen(ctx context.Context, fn func(id string, open bool)) error
	// WatchRecipients calls fn for every change of a recipient from now on,
	// with its mod revision, until ctx ends or the watch fails.
	WatchRecipients(ctx context.Context, fn func(activation string, r *tocsin.Recipient, rev int64)) error
}

// SMS sends text messages and lists those sent, to settle unknown outcomes.
type SMS interface {
	// SendSMS hands a message to the provider. Errors are *tocsin.SendError.
	SendSMS(ctx context.Context, to, body, statusCallback string) (sid string, status tocsin.AttemptStatus, err error)
	// ListSMS returns the messages sent to `to` created at or after since.
	ListSMS(ctx context.Context, to string, since time.Time) ([]tocsin.ProviderMessage, error)
}

// Voice places calls that speak the message and gather a key press, and
// lists those placed, to settle unknown outcomes.
type Voice interface {
	// Call places a call that fetches its TwiML from twimlURL. Errors are
	// *tocsin.SendError.
	Call(ctx context.Context, to, twimlURL, statusCallback string, ringTimeout time.Duration) (sid string, status tocsin.AttemptStatus, err error)
	// ListCalls returns the calls placed to `to` created at or after since.
	ListCalls(ctx context.Context, to string, since time.Time) ([]tocsin.ProviderMessage, error)
}

// URLs gives the webhook addresses of an attempt.
type URLs interface {
	SMSStatus(activation, official, attempt string) string
	CallStatus(activation, official, attempt string) string
	TwiML(activation, official, attempt string) string
}

// Config configures a Dispatcher.
type Config struct {
	SMS   SMS
	Voice Voice // nil: voice rungs are left alone
	URLs  URLs
	// Rates are the account's limits: SMS and calls per second, calls in
	// progress at once. Zero values take tocsin.DefaultRates.
	Rates tocsin.Rates
	// RingTimeout is how long a call rings before no-answer; 0 means 30 s.
	RingTimeout time.Duration
	// MaxSMSPerHour caps the SMS sent to one number in an hour, since
	// carriers block bursts of identical messages; 0 means 3.
	MaxSMSPerHour int
	// Workers is how many attempts may be handed over at once; 0 means 32.
	Workers int
	// RetryBase is the first retry delay after a refusal for now, doubled
	// at each try up to 2 min; 0 means 2 s.
	RetryBase time.Duration
	Clock     Clock
	Logger    *slog.Logger
	// Observer is told every provider call and pace change, for metrics;
	// nil observes nothing.
	Observer Observer

	// Ping checks the primary route (SMS and Voice above) without sending:
	// it tells when a failed primary is back.
	Ping func(ctx context.Context) error
	// Secondary is another account, region or edge, with its own sender,
	// that takes over when the primary fails every send for FailoverAfter
	// (default DefaultFailoverAfter); nil: the primary only. An attempt of
	// unknown outcome is always settled on the route it went by.
	Secondary     *Route
	FailoverAfter time.Duration
	// RouteMode returns the duty officer's choice of route; nil: automatic.
	RouteMode func() RouteMode
	// RouteChanged is told when the active route changes, and why (in
	// French); nil tells nobody.
	RouteChanged func(from, to, why string)
}

// Dispatcher works the open activations while this replica leads.
type Dispatcher struct {
	cfg      Config
	log      *slog.Logger
	channels map[tocsin.Channel]*channel
	router   *router
	handed   atomic.Int64
	current  atomic.Pointer[run] // the running term, nil between terms
}

// New returns a dispatcher.
func New(cfg Config) *Dispatcher {
	if cfg.Rates.SMSPerSecond <= 0 {
		cfg.Rates.SMSPerSecond = tocsin.DefaultRates.SMSPerSecond
	}
	if cfg.Rates.CallsPerSecond <= 0 {
		cfg.Rates.CallsPerSecond = tocsin.DefaultRates.CallsPerSecond
	}
	if cfg.Rates.MaxCalls <= 0 {
		cfg.Rates.MaxCalls = tocsin.DefaultRates.MaxCalls
	}
	if cfg.RingTimeout <= 0 {
		cfg.RingTimeout = 30 * time.Second
	}
	if cfg.MaxSMSPerHour <= 0 {
		cfg.MaxSMSPerHour = 3
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 32
	}
	if cfg.Clock == nil {
		cfg.Clock = RealClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 2 * time.Second
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	d := &Dispatcher{cfg: cfg, log: cfg.Logger.With("component", "dispatch"), channels: map[tocsin.Channel]*channel{}}
	if cfg.SMS != nil {
		c := newSMSChannel(cfg.Rates.SMSPerSecond)
		c.addSMSRoute(tocsin.PrimaryRoute, cfg.SMS, cfg.URLs)
		if cfg.Secondary != nil && cfg.Secondary.SMS != nil {
			c.addSMSRoute(tocsin.SecondaryRoute, cfg.Secondary.SMS, cfg.URLs)
		}
		d.channels[tocsin.SMS] = c
	}
	if cfg.Voice != nil {
		c := newVoiceChannel(cfg.Rates.CallsPerSecond, cfg.Rates.MaxCalls, cfg.RingTimeout)
		c.addVoiceRoute(tocsin.PrimaryRoute, cfg.Voice, cfg.RingTimeout, cfg.URLs)
		if cfg.Secondary != nil && cfg.Secondary.Voice != nil {
			c.addVoiceRoute(tocsin.SecondaryRoute, cfg.Secondary.Voice, cfg.RingTimeout, cfg.URLs)
		}
		d.channels[tocsin.Voice] = c
	}
	changed := cfg.RouteChanged
	d.router = newRouter(cfg.Secondary != nil, cfg.FailoverAfter, cfg.RouteMode, func(from, to, why string) {
		d.log.Warn("provider route changed", "from", from, "to", to, "why", why)
		if changed != nil {
			changed(from, to, why)
		}
	})
	for kind, c := range d.channels {
		c.observe = func(perSecond, ceiling float64, limited bool) { cfg.Observer.Pace(kind, perSecond, ceiling, limited) }
		r, limited := c.pace.current()
		c.observe(r, c.pace.ceiling, limited)
	}
	return d
}

// Idle reports whether the dispatcher has nothing queued and nothing under
// way: what tests on a manual clock wait for before moving time on.
func (d *Dispatcher) Idle() bool {
	r := d.current.Load()
	return r == nil || r.q.idle()
}

// Loaded reports whether the running term has loaded activation id: from
// then on, Idle accounts for its recipients.
func (d *Dispatcher) Loaded(id string) bool {
	r := d.current.Load()
	if r == nil {
		return false
	}
	r.kmu.Lock()
	defer r.kmu.Unlock()
	return r.loaded[id]
}

// Route returns the route sends take now: tocsin.PrimaryRoute or tocsin.SecondaryRoute.
func (d *Dispatcher) Route() string { return d.router.current() }

// ResumeOn starts the next term on route: the one the previous leader
// found working. Without it a new leader would first try a primary
// already known down, and wait the failover delay again; a primary back
// meanwhile is taken back at the first probe.
func (d *Dispatcher) ResumeOn(route string) {
	if route == tocsin.SecondaryRoute && d.router.hasSecondary {
		d.router.mu.Lock()
		d.router.active, d.router.failures = route, 0
		d.router.mu.Unlock()
	}
}

// Pace is a channel's effective rate.
type Pace struct {
	// PerSecond is the rate sends go at now; Ceiling the configured one.
	PerSecond, Ceiling float64
	// Limited is set while the provider's refusals hold the rate below
	// the ceiling.
	Limited bool
}

// Pace returns the effective rate of each channel.
func (d *Dispatcher) Pace() map[tocsin.Channel]Pace {
	out := map[tocsin.Channel]Pace{}
	for kind, c := range d.channels {
		r, limited := c.pace.current()
		out[kind] = Pace{PerSecond: r, Ceiling: c.pace.ceiling, Limited: limited}
	}
	return out
}

// Handed returns how many attempts the provider accepted since start.
func (d *Dispatcher) Handed() int64 { return d.handed.Load() }

// run is one term's worth of state.
type run struct {
	d      *Dispatcher
	st     Store
	q      *queue
	ctx    context.Context
	cancel context.CancelCauseFunc

	mu     sync.Mutex
	timers map[item]tocsin.Timer

	// known holds the latest state seen of each recipient waiting for its
	// next step (loaded, written by this run, or seen by the watch), so
	// that a step starts without a read; compare-and-swap catches a state
	// that is stale. acts holds the activations loaded.
	kmu    sync.Mutex
	known  map[item]snapshot
	acts   map[string]*tocsin.Activation
	loaded map[string]bool // activations whose every recipient is queued
	// overflowed holds the attempts whose queue overflow slowed a
	// channel down already.
	overflowed map[string]bool
}

// snapshot is a recipient as it stood at its mod revision rev, with its
// activation.
type snapshot struct {
	a   *tocsin.Activation
	rc  *tocsin.Recipient
	rev int64
}

// remember keeps s as the known state of it, unless a newer one is known.
func (r *run) remember(it item, s snapshot) {
	r.kmu.Lock()
	defer r.kmu.Unlock()
	if k, ok := r.known[it]; !ok || k.rev < s.rev {
		r.known[it] = s
	}
}

// recall takes the known state of it out of the map: the worker owns it.
func (r *run) recall(it item) (snapshot, bool) {
	r.kmu.Lock()
	defer r.kmu.Unlock()
	s, ok := r.known[it]
	delete(r.known, it)
	return s, ok
}

func (r *run) forget(it item) {
	r.kmu.Lock()
	delete(r.known, it)
	r.kmu.Unlock()
}

// seen records a recipient state the watch reported, for the activations
// this run loaded.
func (r *run) seen(activation string, rc *tocsin.Recipient, rev int64) {
	it := item{activation, rc.Official.ID}
	r.kmu.Lock()
	a := r.acts[activation]
	r.kmu.Unlock()
	if a == nil || !a.NeedsWork(rc) {
		r.forget(it)
		return
	}
	r.remember(it, snapshot{a, rc, rev})
}

// latest returns the newer of a and the activation this run loaded last
// under its id: an activation gains follow-up messages while it is open,
// and a state known from before must not hide them. Only messages are
// added to an open activation's record while dispatch works it; the rest
// is read fresh by each write.
func (r *run) latest(a *tocsin.Activation) *tocsin.Activation {
	r.kmu.Lock()
	defer r.kmu.Unlock()
	if l := r.acts[a.ID]; l != nil && len(l.Messages) > len(a.Messages) {
		return l
	}
	return a
}

// Run dispatches until ctx ends or a write finds that this replica no
// longer leads (then it returns tocsin.ErrNotLeader). st must be fenced.
func (d *Dispatcher) Run(ctx context.Context, st Store) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r := &run{d: d, st: st, q: newQueue(), ctx: ctx, cancel: cancel, timers: map[item]tocsin.Timer{},
		known: map[item]snapshot{}, acts: map[string]*tocsin.Activation{}, loaded: map[string]bool{}, overflowed: map[string]bool{}}
	d.current.Store(r)
	defer d.current.Store(nil)
	for _, c := range d.channels {
		c.reset()
	}
	var wg sync.WaitGroup
	for range d.cfg.Workers {
		wg.Go(r.work)
	}
	wg.Go(r.watchOpen)
	wg.Go(r.watchRecipients)
	wg.Go(r.probeRoutes)
	<-ctx.Done()
	r.q.stop()
	r.stopTimers()
	for _, c := range d.channels {
		c.wake()
	}
	wg.Wait()
	if cause := context.Cause(ctx); errors.Is(cause, tocsin.ErrNotLeader) {
		return cause
	}
	return nil
}

// probeRoutes tries a failed primary again every failover delay.
func (r *run) probeRoutes() {
	if r.d.cfg.Secondary == nil {
		return
	}
	t := time.NewTicker(r.d.router.after)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
			r.d.router.probe(r.ctx, r.d.cfg.Ping)
		}
	}
}

// retryWatch runs a watch again and again until ctx ends.
func (r *run) retryWatch(name string, watch func() error) {
	backoff := time.Second
	for r.ctx.Err() == nil {
		err := watch()
		if r.ctx.Err() != nil {
			return
		}
		r.d.log.Warn("watch broken", "watch", name, "err", err)
		select {
		case <-time.After(backoff):
		case <-r.ctx.Done():
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// watchOpen loads every open activation and each new one, and forgets
// those that close.
//
// Each activation loads on its own, so that one still being created does
// not hold the others back; closing it stops its load.
func (r *run) watchOpen() {
	var wg sync.WaitGroup
	defer wg.Wait()
	loading := map[string]context.CancelFunc{}
	defer func() {
		for _, cancel := range loading {
			cancel()
		}
	}()
	r.retryWatch("open activations", func() error {
		// A broken watch may hide activations: each new watch reloads all.
		seen := map[string]bool{}
		return r.st.WatchOpen(r.ctx, func(id string, open bool) {
			switch {
			case !open:
				delete(seen, id)
				if cancel := loading[id]; cancel != nil {
					cancel()
					delete(loading, id)
				}
				r.drop(id)
			default:
				// New, or seen before: its record gained a follow-up
				// message (which touches its open marker), or the watch
				// broke. Either way it loads again, from its record.
				seen[id] = true
				if cancel := loading[id]; cancel != nil {
					cancel()
				}
				ctx, cancel := context.WithCancel(r.ctx)
				loading[id] = cancel
				wg.Go(func() { r.loadUntilDone(ctx, id) })
			}
		})
	})
}

// loadUntilDone loads an activation, trying again while the store fails:
// an activation left unloaded would be sent nothing.
func (r *run) loadUntilDone(ctx context.Context, id string) {
	backoff := time.Second
	for {
		err := r.load(ctx, id)
		if err == nil || ctx.Err() != nil || tocsin.ErrorCode(err) == tocsin.ENotFound {
			return
		}
		r.d.log.Warn("load activation", "activation", id, "err", err)
		select {
		case <-time.After(backoff + jitter(backoff/2)):
		case <-ctx.Done():
			return
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// drop forgets what the run holds of an activation that closed: its
// recipients' states go, and those still queued read theirs again.
func (r *run) drop(id string) {
	r.kmu.Lock()
	defer r.kmu.Unlock()
	delete(r.acts, id)
	delete(r.loaded, id)
	for it := range r.known {
		if it.activation == id {
			delete(r.known, it)
		}
	}
}

// watchRecipients follows what webhooks record on any replica: a call that
// ends frees its line, and a failure, a duty officer's « Relancer
// maintenant », or a number corrected may make an attempt due now.
func (r *run) watchRecipients() {
	r.retryWatch("recipients", func() error {
		return r.st.WatchRecipients(r.ctx, func(activation string, rc *tocsin.Recipient, rev int64) {
			if c := r.d.channels[tocsin.Voice]; c != nil {
				c.track(activation, rc, r.d.cfg.Clock.Now())
			}
			r.overflows(activation, rc)
			// A rush by a duty officer (on any replica) may make a rung
			// due now; a reply may have recorded a notice to send (not
			// one dispatch handed over itself: it settles those).
			again := (rc.InformedAt == nil && (hasFreshFailure(rc) || len(rc.Rushes) > 0 || len(rc.Fixes) > 0)) || rc.UnsentNotice()
			r.seen(activation, rc, rev) // rc is the worker's from here on
			if again {
				r.q.add(item{activation, rc.Official.ID}, false)
			}
		})
	})
}

// codeQueueOverflow is Twilio's error for a message that waited in the
// account's queue too long (30001): sent faster than the account's
// throughput, like a 429 that arrives late, in a status callback.
const codeQueueOverflow = 30001

// overflows slows a channel down for each of rc's messages that failed
// with a queue overflow, once each.
func (r *run) overflows(activation string, rc *tocsin.Recipient) {
	for _, ats := range [2][]tocsin.Attempt{rc.Attempts, rc.Notices} { // a follow-up to all is a burst too
		for _, at := range ats {
			c := r.d.channels[at.Channel]
			if at.ErrorCode != codeQueueOverflow || !at.Status.Failed() || c == nil {
				continue
			}
			key := lineKey(item{activation, rc.Official.ID}, at.ID)
			r.kmu.Lock()
			seen := r.overflowed[key]
			r.overflowed[key] = true
			r.kmu.Unlock()
			if !seen {
				c.rateLimited(at.CreatedAt)
			}
		}
	}
}

// hasFreshFailure reports whether r's latest settled attempt failed: the
// ladder may have something due at once.
func hasFreshFailure(r *tocsin.Recipient) bool {
	for i := len(r.Attempts) - 1; i >= 0; i-- {
		if s := r.Attempts[i].Status; s.Final() || (r.Attempts[i].Channel == tocsin.Voice && s == tocsin.AttemptCompleted) {
			return s.Failed() || s == tocsin.AttemptCompleted
		}
	}
	return false
}

// loadPage is how many recipients load reads at a time: the first ones
// are on their way before the last are read.
const loadPage = 250

// load queues every recipient of an activation not yet informed, those
// never contacted first, and those with a notice to send. An activation still being created is loaded part
// by part as its parts are written, each from where the last one ended.
func (r *run) load(ctx context.Context, id string) error {
	n, after := 0, ""
	for {
		c, rev, err := r.st.Creation(ctx, id)
		if err != nil {
			return err
		}
		err = r.st.LoadRecipients(ctx, id, after, loadPage, func(a *tocsin.Activation, rs []tocsin.Recipient, revs []int64) error {
			if err := ctx.Err(); err != nil {
				return err // closed: drop has forgotten it
			}
			r.kmu.Lock()
			r.acts[id] = a
			r.kmu.Unlock()
			now := r.d.cfg.Clock.Now()
			for i := range rs {
				if c := r.d.channels[tocsin.Voice]; c != nil {
					c.track(id, &rs[i], now)
				}
				if a.NeedsWork(&rs[i]) {
					it := item{id, rs[i].Official.ID}
					r.remember(it, snapshot{a, &rs[i], revs[i]})
					r.q.add(it, rs[i].FirstContact())
				}
			}
			n += len(rs)
			after = rs[len(rs)-1].Official.ID
			return nil
		})
		if err != nil {
			return err
		}
		if c == nil {
			break // whole when read, so every recipient was read after
		}
		if err := r.st.WaitCreation(ctx, id, rev); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return ctx.Err() // closed meanwhile: nothing to mark
	}
	r.kmu.Lock()
	r.loaded[id] = true
	r.kmu.Unlock()
	r.d.log.Info("activation loaded", "activation", id, "recipients", n)
	return nil
}

func (r *run) work() {
	for {
		it, ok := r.q.take()
		if !ok {
			return
		}
		err := r.step(it)
		r.q.done(it)
		switch {
		case err == nil:
		case errors.Is(err, tocsin.ErrNotLeader):
			r.d.log.Warn("leadership lost: dispatch stops")
			r.cancel(tocsin.ErrNotLeader)
			return
		case r.ctx.Err() != nil:
			return
		default:
			// etcd trouble: try this recipient again a little later.
			r.d.log.Warn("dispatch step", "activation", it.activation, "official", it.official, "err", err)
			r.after(it, 2*time.Second+jitter(time.Second))
		}
	}
}

// after queues it again in d, keeping only the earliest timer per item.
func (r *run) after(it item, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx.Err() != nil {
		return
	}
	if t, ok := r.timers[it]; ok {
		t.Stop()
	}
	r.timers[it] = r.d.cfg.Clock.AfterFunc(d, func() {
		r.mu.Lock()
		delete(r.timers, it)
		r.mu.Unlock()
		r.q.add(it, false)
	})
}

func (r *run) stopTimers() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for it, t := range r.timers {
		t.Stop()
		delete(r.timers, it)
	}
}

// backoff grows with the tries: base, 2×base, 4×base … up to 2 min, with
// jitter so that retries do not come back in a burst.
func (d *Dispatcher) backoff(tries int) time.Duration {
	return backoff(d.cfg.RetryBase, tries)
}

func backoff(base time.Duration, tries int) time.Duration {
	d := base
	for i := 1; i < tries && d < 2*time.Minute; i++ {
		d *= 2
	}
	d = min(d, 2*time.Minute)
	return d + jitter(d/5)
}

func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}
