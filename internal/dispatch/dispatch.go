package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Store is what dispatch reads and writes. During a term it is the leader's
// fenced store.
type Store interface {
	Activation(ctx context.Context, id string) (*tocsin.Activation, error)
	Recipients(ctx context.Context, id string) ([]tocsin.Recipient, error)
	Recipient(ctx context.Context, activation, official string) (*tocsin.Recipient, error)
	UpdateRecipient(ctx context.Context, activation, official string,
		fn func(a *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error)) (*tocsin.Recipient, error)
	// WatchOpen calls fn for every open activation, then for each one that
	// opens, until ctx ends or the watch fails.
	WatchOpen(ctx context.Context, fn func(id string)) error
}

// SMS sends text messages and lists those sent, to settle unknown outcomes.
type SMS interface {
	// SendSMS hands a message to the provider. Errors are *tocsin.SendError.
	SendSMS(ctx context.Context, to, body, statusCallback string) (sid string, status tocsin.AttemptStatus, err error)
	// ListSMS returns the messages sent to `to` created at or after since.
	ListSMS(ctx context.Context, to string, since time.Time) ([]tocsin.ProviderMessage, error)
}

// Config configures a Dispatcher.
type Config struct {
	SMS SMS
	// SMSRate is the messages-per-second pace; 0 means 10.
	SMSRate float64
	// Workers is how many sends may be in flight at once; 0 means 32.
	Workers int
	// RetryBase is the first retry delay, doubled at each try up to 2 min;
	// 0 means 2 s.
	RetryBase time.Duration
	// CallbackURL returns the status-callback URL of an attempt.
	CallbackURL func(activation, official, attempt string) string
	Clock       Clock
	Logger      *slog.Logger
}

// Dispatcher works the open activations while this replica leads.
type Dispatcher struct {
	cfg     Config
	limiter *rate.Limiter
	log     *slog.Logger
	// holdUntil (unix nanos) pauses every send after the provider said 429.
	holdUntil atomic.Int64
	sent      atomic.Int64
}

// New returns a dispatcher.
func New(cfg Config) *Dispatcher {
	if cfg.SMSRate <= 0 {
		cfg.SMSRate = 10
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 32
	}
	if cfg.Clock == nil {
		cfg.Clock = RealClock{}
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{
		cfg:     cfg,
		limiter: rate.NewLimiter(rate.Limit(cfg.SMSRate), 1),
		log:     cfg.Logger.With("component", "dispatch"),
	}
}

// can reports whether the dispatcher has a provider for channel. Rungs on
// other channels are left for a dispatcher that has one.
func (d *Dispatcher) can(c tocsin.Channel) bool {
	return c == tocsin.SMS && d.cfg.SMS != nil
}

// Sent returns how many messages the provider accepted since start.
func (d *Dispatcher) Sent() int64 { return d.sent.Load() }

// run is one term's worth of state.
type run struct {
	d      *Dispatcher
	st     Store
	q      *queue
	ctx    context.Context
	cancel context.CancelCauseFunc

	mu     sync.Mutex
	timers map[item]func() bool
}

// Run dispatches until ctx ends or a write finds that this replica no
// longer leads (then it returns tocsin.ErrNotLeader). st must be fenced.
func (d *Dispatcher) Run(ctx context.Context, st Store) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r := &run{d: d, st: st, q: newQueue(), ctx: ctx, cancel: cancel, timers: map[item]func() bool{}}
	var wg sync.WaitGroup
	for range d.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.work()
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.watch()
	}()
	<-ctx.Done()
	r.q.stop()
	r.stopTimers()
	wg.Wait()
	if cause := context.Cause(ctx); errors.Is(cause, tocsin.ErrNotLeader) {
		return cause
	}
	return nil
}

// watch loads every open activation and each new one, retrying when the
// watch breaks (etcd down, member lost).
func (r *run) watch() {
	seen := map[string]bool{}
	backoff := time.Second
	for r.ctx.Err() == nil {
		err := r.st.WatchOpen(r.ctx, func(id string) {
			if seen[id] {
				return
			}
			if err := r.load(id); err != nil {
				r.d.log.Warn("load activation", "activation", id, "err", err)
				return
			}
			seen[id] = true
		})
		if r.ctx.Err() != nil {
			return
		}
		r.d.log.Warn("watch open activations", "err", err)
		// A broken watch may have hidden activations that failed to load: reload.
		clear(seen)
		select {
		case <-time.After(backoff):
		case <-r.ctx.Done():
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// load queues every recipient of an activation.
func (r *run) load(id string) error {
	rs, err := r.st.Recipients(r.ctx, id)
	if err != nil {
		return err
	}
	for i := range rs {
		if rs[i].InformedAt == nil {
			r.q.add(item{id, rs[i].Official.ID})
		}
	}
	r.d.log.Info("activation loaded", "activation", id, "recipients", len(rs))
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
	if stop, ok := r.timers[it]; ok {
		stop()
	}
	r.timers[it] = r.d.cfg.Clock.AfterFunc(d, func() {
		r.mu.Lock()
		delete(r.timers, it)
		r.mu.Unlock()
		r.q.add(it)
	})
}

func (r *run) stopTimers() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for it, stop := range r.timers {
		stop()
		delete(r.timers, it)
	}
}

// step does what one recipient needs now, one provider call at a time,
// until nothing more is due; it then arms a timer for what falls due later.
func (r *run) step(it item) error {
	for r.ctx.Err() == nil {
		a, err := r.st.Activation(r.ctx, it.activation)
		if err != nil {
			return err
		}
		rc, err := r.st.Recipient(r.ctx, it.activation, it.official)
		if err != nil {
			return err
		}
		if a.State != tocsin.Open || rc.InformedAt != nil {
			return nil
		}
		now := r.d.cfg.Clock.Now()
		var wake time.Time
		var todo *tocsin.Attempt
		for i := range rc.Attempts {
			at := &rc.Attempts[i]
			if !at.Status.Unsettled() {
				continue
			}
			if at.NextTry != nil && at.NextTry.After(now) {
				wake = earliest(wake, *at.NextTry)
				continue
			}
			todo = at
			break
		}
		if todo == nil {
			due, next := a.Plan(rc, now)
			wake = earliest(wake, next)
			for i := range due {
				if r.d.can(due[i].Channel) {
					todo = &due[i]
					break
				}
			}
		}
		if todo == nil {
			if !wake.IsZero() {
				r.after(it, wake.Sub(now))
			}
			return nil
		}
		if todo.Status == tocsin.AttemptCreated && todo.Tries > 0 && todo.SID == "" {
			sent, err := r.reconcile(it, rc, todo)
			if err != nil {
				return err
			}
			if sent {
				continue
			}
		}
		if err := r.send(it, rc, *todo); err != nil {
			return err
		}
	}
	return nil
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// send hands one attempt to the provider: paced, written before, settled after.
func (r *run) send(it item, rc *tocsin.Recipient, at tocsin.Attempt) error {
	if err := r.wait(); err != nil {
		return err
	}
	rc, err := r.st.UpdateRecipient(r.ctx, it.activation, it.official, func(a *tocsin.Activation, rc *tocsin.Recipient) ([]tocsin.Event, error) {
		if a.State != tocsin.Open || rc.InformedAt != nil {
			return nil, tocsin.ErrNoChange
		}
		now := r.d.cfg.Clock.Now().UTC()
		cur := rc.Attempt(at.ID)
		var events []tocsin.Event
		if cur == nil {
			at.CreatedAt = now
			rc.Attempts = append(rc.Attempts, at)
			cur = &rc.Attempts[len(rc.Attempts)-1]
			events = append(events, tocsin.Event{Kind: tocsin.EventAttempt, Attempt: at.ID, Channel: at.Channel,
				Detail: fmt.Sprintf("envoi du SMS au %s", at.To)})
		} else if !cur.Status.Unsettled() || (cur.NextTry != nil && cur.NextTry.After(now)) {
			return nil, tocsin.ErrNoChange // settled meanwhile (a status callback), or not due
		}
		cur.Status = tocsin.AttemptCreated
		cur.Tries++
		cur.NextTry = nil
		cur.UpdatedAt = now
		a.Refresh(rc, now)
		return events, nil
	})
	if err != nil {
		return err
	}
	cur := rc.Attempt(at.ID)
	if cur == nil || cur.Status != tocsin.AttemptCreated || rc.InformedAt != nil {
		return nil
	}
	sid, status, sendErr := r.d.cfg.SMS.SendSMS(r.ctx, cur.To, rc.Message, r.d.cfg.CallbackURL(it.activation, it.official, cur.ID))
	return r.settle(it, cur.ID, cur.Tries, sid, status, sendErr)
}

// wait takes a token from the bucket, after any hold a 429 imposed.
func (r *run) wait() error {
	if hold := time.Until(time.Unix(0, r.d.holdUntil.Load())); hold > 0 {
		select {
		case <-time.After(hold):
		case <-r.ctx.Done():
			return r.ctx.Err()
		}
	}
	return r.d.limiter.Wait(r.ctx)
}

// settle records the outcome of a provider call.
func (r *run) settle(it item, attemptID string, tries int, sid string, status tocsin.AttemptStatus, sendErr error) error {
	var se *tocsin.SendError
	if sendErr != nil && !errors.As(sendErr, &se) {
		se = &tocsin.SendError{Outcome: tocsin.Unknown, Reason: "error", Err: sendErr}
	}
	if se != nil {
		r.d.log.Warn("send failed", "activation", it.activation, "official", it.official, "attempt", attemptID,
			"outcome", se.Outcome.String(), "reason", se.Reason, "code", se.Code)
		if se.Reason == "rate_limited" {
			r.d.holdUntil.Store(time.Now().Add(max(se.RetryAfter, time.Second)).UnixNano())
		}
	} else {
		r.d.sent.Add(1)
	}
	// The write must happen even if the term is ending: it records a fact.
	// The fence still refuses it if another replica leads.
	ctx := context.WithoutCancel(r.ctx)
	_, err := r.st.UpdateRecipient(ctx, it.activation, it.official, func(a *tocsin.Activation, rc *tocsin.Recipient) ([]tocsin.Event, error) {
		at := rc.Attempt(attemptID)
		if at == nil {
			return nil, fmt.Errorf("attempt %s vanished", attemptID)
		}
		now := r.d.cfg.Clock.Now().UTC()
		at.UpdatedAt = now
		var ev tocsin.Event
		switch {
		case se == nil:
			if at.SID != "" && at.SID != sid {
				return nil, fmt.Errorf("attempt %s: provider sid %s, callback said %s", attemptID, sid, at.SID)
			}
			at.SID = sid
			if at.Status.Advances(status) {
				at.Status = status
			}
			ev = tocsin.Event{Kind: tocsin.EventAccepted, Detail: "SMS remis à l'opérateur"}
		case at.SID != "":
			// A status callback proved it went out while the call failed.
			return nil, tocsin.ErrNoChange
		case se.Outcome == tocsin.NotSentPermanent:
			at.Status = tocsin.AttemptRejected
			at.ErrorCode, at.Error = se.Code, se.Reason
			ev = tocsin.Event{Kind: tocsin.EventRejected, Detail: fmt.Sprintf("refus définitif de l'opérateur (%s, code %d)", se.Reason, se.Code)}
		case se.Outcome == tocsin.NotSentRetry:
			at.Status = tocsin.AttemptRetry
			next := now.Add(max(r.d.backoff(tries), se.RetryAfter))
			at.NextTry = &next
			at.ErrorCode, at.Error = se.Code, se.Reason
			ev = tocsin.Event{Kind: tocsin.EventRetry, Detail: fmt.Sprintf("refus temporaire de l'opérateur (%s) : nouvel essai", se.Reason)}
		default: // Unknown: stays created without SID, to be settled before any resend.
			next := now.Add(r.d.backoff(tries))
			at.NextTry = &next
			at.ErrorCode, at.Error = se.Code, se.Reason
			ev = tocsin.Event{Kind: tocsin.EventRetry, Detail: fmt.Sprintf("issue incertaine (%s) : vérification auprès de l'opérateur avant tout nouvel envoi", se.Reason)}
		}
		ev.Attempt, ev.Channel = attemptID, at.Channel
		a.Refresh(rc, now)
		return []tocsin.Event{ev}, nil
	})
	return err
}

// reconcile settles an attempt whose outcome is unknown by looking for it
// in the provider's records. sent reports that it was found (and recorded).
func (r *run) reconcile(it item, rc *tocsin.Recipient, at *tocsin.Attempt) (sent bool, err error) {
	msgs, err := r.d.cfg.SMS.ListSMS(r.ctx, at.To, at.CreatedAt.Add(-5*time.Second))
	if err != nil {
		return false, fmt.Errorf("list provider messages: %w", err)
	}
	claimed := map[string]bool{}
	for _, o := range rc.Attempts {
		if o.SID != "" {
			claimed[o.SID] = true
		}
	}
	var found *tocsin.ProviderMessage
	for i := range msgs {
		if msgs[i].Body == rc.Message && !claimed[msgs[i].SID] {
			found = &msgs[i]
			break
		}
	}
	if found == nil {
		r.d.log.Info("unknown outcome settled: not sent", "activation", it.activation, "official", it.official, "attempt", at.ID)
		return false, nil
	}
	_, err = r.st.UpdateRecipient(r.ctx, it.activation, it.official, func(a *tocsin.Activation, rc *tocsin.Recipient) ([]tocsin.Event, error) {
		cur := rc.Attempt(at.ID)
		if cur == nil || cur.SID != "" {
			return nil, tocsin.ErrNoChange
		}
		now := r.d.cfg.Clock.Now().UTC()
		cur.SID, cur.NextTry, cur.UpdatedAt = found.SID, nil, now
		status := found.Status
		if !cur.Status.Advances(status) {
			status = tocsin.AttemptQueued
		}
		cur.Status = status
		a.Refresh(rc, now)
		return []tocsin.Event{{Kind: tocsin.EventRecovered, Attempt: at.ID, Channel: cur.Channel,
			Detail: "envoi retrouvé chez l'opérateur : pas de nouvel envoi"}}, nil
	})
	if err == nil {
		r.d.sent.Add(1)
	}
	return err == nil, err
}

// backoff grows with the tries: 2 s, 4 s, 8 s … up to 2 min, with jitter
// so that retries do not come back in a burst.
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
