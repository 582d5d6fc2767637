package reconcile

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Store reads what is open and whom it targets.
type Store interface {
	OpenActivations(ctx context.Context) ([]tocsin.Activation, error)
	Recipients(ctx context.Context, id string) ([]tocsin.Recipient, error)
}

// Ref names one attempt of one recipient.
type Ref struct {
	Activation, Official, Attempt string
}

// Fetch reads one message's or call's record at the provider.
type Fetch func(ctx context.Context, sid string) (tocsin.ProviderMessage, error)

// Defaults.
const (
	// DefaultInterval is how often an open activation is reconciled, and
	// how long an attempt's status may stay unsettled before it is read
	// from the provider.
	DefaultInterval = time.Minute
	// DefaultGrace leaves a reply or status this recent to its webhook:
	// Twilio waits 15 s for an answer.
	DefaultGrace = 15 * time.Second
	// retryAfter is how soon a pass the store or the provider failed is
	// tried again.
	retryAfter = 5 * time.Second
	// probeEvery is how often the store's health is checked, so that a
	// pass follows its return from an outage.
	probeEvery = 2 * time.Second
	// maxFetches bounds the status reads of one pass; the rest wait for
	// the next one.
	maxFetches = 500
	// fetchers is how many status reads run at once.
	fetchers = 4
	// listOverlap is how far before the last listing's window (less the
	// grace period) the next listing of replies starts again: the
	// provider's clock and ours may differ a little.
	listOverlap = time.Minute
)

// Config configures a Reconciler.
type Config struct {
	Store Store
	// Replies lists the SMS the account received at or after a time; nil
	// reconciles no reply.
	Replies func(ctx context.Context, since time.Time) ([]tocsin.Inbound, error)
	// FetchSMS and FetchCall read an attempt's record by its SID; nil
	// reconciles no status of that channel.
	FetchSMS, FetchCall Fetch
	// ApplyReply applies a reply as its webhook would, once per SID, and
	// reports whether it informed someone.
	ApplyReply func(ctx context.Context, in tocsin.Inbound) (informed bool, err error)
	// ApplyStatus records a status read from the provider for an attempt.
	ApplyStatus func(ctx context.Context, ref Ref, pm tocsin.ProviderMessage) error
	// Healthy checks that the store answers; nil: no probe.
	Healthy func(ctx context.Context) error
	// Observe is told what each pass recovered, and the error that ended
	// it, for metrics; nil: nobody is.
	Observe func(res Result, err error)
	// Interval: DefaultInterval when 0. Grace: DefaultGrace when 0.
	Interval, Grace time.Duration
	Now             func() time.Time
	Logger          *slog.Logger
}

// Result counts what a pass recovered.
type Result struct {
	// Replies is how many replies were applied, Informed how many of them
	// informed someone.
	Replies, Informed int
	// Statuses is how many attempts moved forward.
	Statuses int
	// Again is when a pass should run again for what was left to its
	// webhook (0: nothing waits).
	Again time.Duration
}

// Reconciler reconciles open activations with the provider's records.
type Reconciler struct {
	cfg Config
	log *slog.Logger

	mu sync.Mutex
	// done holds the replies known applied, or not ours, and fetched when
	// each attempt's record was last read: a pass does not redo them.
	done    map[string]bool
	fetched map[string]time.Time
	// listFrom is where the next listing of replies may start: every
	// reply before it was listed by a pass that went through, and
	// applied or set aside. Zero: from the oldest open activation.
	listFrom time.Time
}

// New returns a reconciler.
func New(cfg Config) *Reconciler {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Reconciler{cfg: cfg, log: cfg.Logger.With("component", "reconcile"),
		done: map[string]bool{}, fetched: map[string]time.Time{}}
}

// Run reconciles until ctx ends: at once (a takeover), every interval,
// soon after a failed pass, and as soon as the store answers again after
// failing the health probe.
func (r *Reconciler) Run(ctx context.Context) {
	pass := time.NewTimer(0)
	defer pass.Stop()
	probe := time.NewTicker(probeEvery)
	defer probe.Stop()
	healthy := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-probe.C:
			if r.cfg.Healthy == nil {
				continue
			}
			pctx, cancel := context.WithTimeout(ctx, probeEvery)
			err := r.cfg.Healthy(pctx)
			cancel()
			was := healthy
			healthy = err == nil
			if healthy && !was {
				r.log.Info("store back: reconciling with the provider")
				pass.Reset(0)
			}
			continue
		case <-pass.C:
		}
		res, err := r.Pass(ctx)
		next := r.cfg.Interval
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			r.log.Warn("reconciliation failed, trying again", "err", err, "in", retryAfter)
			next = retryAfter
		case res.Again > 0:
			next = min(next, res.Again)
		}
		pass.Reset(next)
	}
}

// Pass reconciles every open activation once.
func (r *Reconciler) Pass(ctx context.Context) (Result, error) {
	res, err := r.pass(ctx)
	if r.cfg.Observe != nil {
		r.cfg.Observe(res, err)
	}
	return res, err
}

func (r *Reconciler) pass(ctx context.Context) (Result, error) {
	acts, err := r.cfg.Store.OpenActivations(ctx)
	if err != nil {
		return Result{}, err
	}
	if len(acts) == 0 {
		r.forget()
		return Result{}, nil
	}
	now := r.cfg.Now()
	v := newView(acts)
	for _, a := range acts {
		rs, err := r.cfg.Store.Recipients(ctx, a.ID)
		if err != nil {
			return Result{}, err
		}
		v.add(&a, rs)
	}
	var res Result
	var errs []error
	if r.cfg.Replies != nil && r.cfg.ApplyReply != nil {
		errs = append(errs, r.replies(ctx, v, now, &res))
	}
	if r.cfg.ApplyStatus != nil {
		errs = append(errs, r.statuses(ctx, v, now, &res))
	}
	if res.Replies > 0 || res.Statuses > 0 {
		r.log.Info("recovered from the provider's records", "replies", res.Replies, "informed", res.Informed, "statuses", res.Statuses)
	}
	return res, errors.Join(errs...)
}

// forget drops what the reconciler remembers once nothing is open.
func (r *Reconciler) forget() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.done)
	clear(r.fetched)
	r.listFrom = time.Time{}
}

// replies applies the replies the provider received that no recipient
// records, oldest first. The first pass lists them from the oldest open
// activation's start; the next ones only from a little before what the
// last pass left to its webhooks, so that a pass does not read again
// every reply of a large activation.
func (r *Reconciler) replies(ctx context.Context, v *view, now time.Time, res *Result) error {
	since := v.since
	r.mu.Lock()
	if r.listFrom.After(since) {
		since = r.listFrom
	}
	r.mu.Unlock()
	got, err := r.cfg.Replies(ctx, since)
	if err != nil {
		return err
	}
	if err := r.applyReplies(ctx, v, now, got, res); err != nil {
		return err
	}
	// What was younger than the grace period is left for the next pass,
	// whose listing starts before it.
	r.mu.Lock()
	r.listFrom = now.Add(-r.cfg.Grace - listOverlap)
	r.mu.Unlock()
	return nil
}

// applyReplies applies what the provider listed, oldest first.
func (r *Reconciler) applyReplies(ctx context.Context, v *view, now time.Time, got []tocsin.Inbound, res *Result) error {
	slices.SortStableFunc(got, func(x, y tocsin.Inbound) int { return x.At.Compare(y.At) })
	for _, in := range got {
		if r.isDone(in.SID) || v.applied[in.SID] {
			continue
		}
		if age := now.Sub(in.At); age < r.cfg.Grace {
			// Its webhook may be on its way: look again once it is not.
			wait := r.cfg.Grace - age + time.Second
			if res.Again == 0 || wait < res.Again {
				res.Again = wait
			}
			continue
		}
		if !v.waitsFor(in.From, in.At) {
			r.markDone(in.SID) // nobody it could inform: not ours, or all informed
			continue
		}
		informed, err := r.cfg.ApplyReply(ctx, in)
		if err != nil {
			return err
		}
		r.markDone(in.SID)
		res.Replies++
		if informed {
			res.Informed++
		}
	}
	return nil
}

func (r *Reconciler) isDone(sid string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.done[sid]
}

func (r *Reconciler) markDone(sid string) {
	r.mu.Lock()
	r.done[sid] = true
	r.mu.Unlock()
}

// statuses reads from the provider the attempts whose status has not
// moved for an interval, and records those that moved on.
func (r *Reconciler) statuses(ctx context.Context, v *view, now time.Time, res *Result) error {
	var todo []staleAttempt
	r.mu.Lock()
	for _, s := range v.stale(now, r.cfg.Interval) {
		if last, ok := r.fetched[s.at.SID]; ok && now.Sub(last) < r.cfg.Interval {
			continue
		}
		if r.fetchFor(s.at.Channel) == nil {
			continue
		}
		todo = append(todo, s)
		if len(todo) == maxFetches {
			break
		}
	}
	r.mu.Unlock()
	next := make(chan staleAttempt)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for range min(fetchers, len(todo)) {
		wg.Go(func() {
			for s := range next {
				moved, err := r.settle(ctx, s, now)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else if moved {
					res.Statuses++
				}
				mu.Unlock()
			}
		})
	}
	for _, s := range todo {
		if ctx.Err() != nil {
			break
		}
		next <- s
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

func (r *Reconciler) fetchFor(c tocsin.Channel) Fetch {
	if c == tocsin.Voice {
		return r.cfg.FetchCall
	}
	return r.cfg.FetchSMS
}

// settle reads one attempt's record and records its status when it moved.
func (r *Reconciler) settle(ctx context.Context, s staleAttempt, now time.Time) (bool, error) {
	pm, err := r.fetchFor(s.at.Channel)(ctx, s.at.SID)
	r.mu.Lock()
	r.fetched[s.at.SID] = now
	r.mu.Unlock()
	if err != nil {
		r.log.Warn("attempt's record unreadable at the provider", "activation", s.ref.Activation, "attempt", s.ref.Attempt, "sid", s.at.SID, "err", err)
		return false, nil // one record the provider will not give must not fail the pass
	}
	if !s.at.Status.Advances(pm.Status) {
		return false, nil
	}
	if err := r.cfg.ApplyStatus(ctx, s.ref, pm); err != nil {
		return false, err
	}
	return true, nil
}
