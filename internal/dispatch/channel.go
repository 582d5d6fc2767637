package dispatch

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// routeFuncs send and list on one route.
type routeFuncs struct {
	send func(ctx context.Context, to, body string, it item, attempt string) (string, tocsin.AttemptStatus, error)
	list func(ctx context.Context, to string, since time.Time) ([]tocsin.ProviderMessage, error)
}

// channel is one way of reaching a number, with its own pace: a token
// bucket at the account's rate, a hold after the provider said 429, and for
// calls the lines in use.
type channel struct {
	kind tocsin.Channel
	// route names the provider account or region it goes through, for
	// metrics: "primary".
	route string
	pacer *pacer
	pace  *pace
	// observe reports the pace when it changes.
	observe func(perSecond, ceiling float64, limited bool)
	// holdUntil (unix nanos, wall clock) pauses every send after a 429.
	holdUntil atomic.Int64
	// routes send and list on each route the channel has.
	routes map[string]routeFuncs

	// Calls in progress, by attempt, with when they were placed; nil for SMS.
	maxCalls int
	stale    time.Duration
	mu       sync.Mutex
	cond     *sync.Cond
	lines    map[string]time.Time
}

func newSMSChannel(perSecond float64) *channel {
	return &channel{kind: tocsin.SMS, pacer: newPacer(perSecond), pace: newPace(perSecond), routes: map[string]routeFuncs{}}
}

// addSMSRoute sends the channel's messages through p on route.
func (c *channel) addSMSRoute(route string, p SMS, urls URLs) {
	c.routes[route] = routeFuncs{
		send: func(ctx context.Context, to, body string, it item, attempt string) (string, tocsin.AttemptStatus, error) {
			return p.SendSMS(ctx, to, body, urls.SMSStatus(it.activation, it.official, attempt))
		},
		list: p.ListSMS,
	}
}

func newVoiceChannel(perSecond float64, maxCalls int, ringTimeout time.Duration) *channel {
	c := &channel{
		kind:     tocsin.Voice,
		pacer:    newPacer(perSecond),
		pace:     newPace(perSecond),
		routes:   map[string]routeFuncs{},
		maxCalls: maxCalls,
		// A call whose end was never reported stops holding a line after
		// the longest a call can take.
		stale: ringTimeout + 15*time.Minute,
		lines: map[string]time.Time{},
	}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// addVoiceRoute places the channel's calls through p on route.
func (c *channel) addVoiceRoute(route string, p Voice, ringTimeout time.Duration, urls URLs) {
	c.routes[route] = routeFuncs{
		send: func(ctx context.Context, to, _ string, it item, attempt string) (string, tocsin.AttemptStatus, error) {
			return p.Call(ctx, to, urls.TwiML(it.activation, it.official, attempt),
				urls.CallStatus(it.activation, it.official, attempt), ringTimeout)
		},
		list: p.ListCalls,
	}
}

// on returns the functions of route, falling back to the primary's (an
// attempt recorded before routes existed, or a route this replica lacks).
func (c *channel) on(route string) routeFuncs {
	if f, ok := c.routes[route]; ok {
		return f
	}
	return c.routes[tocsin.PrimaryRoute]
}

// reset forgets the lines of a previous term, which the new term counts
// again from the store, and starts the pace again at the ceiling.
func (c *channel) reset() {
	c.pace.reset()
	c.setRate(c.pace.current())
	if c.lines == nil {
		return
	}
	c.mu.Lock()
	clear(c.lines)
	c.mu.Unlock()
}

// wake lets goroutines waiting for a line see that the term ended.
func (c *channel) wake() {
	if c.cond != nil {
		c.cond.Broadcast()
	}
}

// wait takes the channel's next slot, after any hold a 429 imposed.
func (c *channel) wait(ctx context.Context) error {
	if hold := time.Until(time.Unix(0, c.holdUntil.Load())); hold > 0 {
		select {
		case <-time.After(hold):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return c.pacer.wait(ctx)
}

// hold pauses the channel for d (a 429 that said how long to wait).
func (c *channel) hold(d time.Duration) {
	c.holdUntil.Store(time.Now().Add(d).UnixNano())
}

// rateLimited slows the channel down: the provider refused a send that
// started at `started` for exceeding its rate.
func (c *channel) rateLimited(started time.Time) {
	if r, changed := c.pace.refused(started, time.Now()); changed {
		c.setRate(r, true)
	}
}

// accepted lets the channel speed up again after a slow-down.
func (c *channel) accepted() {
	if r, changed := c.pace.accepted(); changed {
		_, limited := c.pace.current()
		c.setRate(r, limited)
	}
}

// setRate paces the sends at r per second.
func (c *channel) setRate(r float64, limited bool) {
	c.pacer.setRate(r)
	if c.observe != nil {
		c.observe(r, c.pace.ceiling, limited)
	}
}

func lineKey(it item, attempt string) string {
	return it.activation + "/" + it.official + "/" + attempt
}

// acquire waits for a free line and takes it for the attempt. For SMS it
// returns at once.
func (c *channel) acquire(ctx context.Context, key string, now func() time.Time) error {
	if c.lines == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		t := now()
		for k, placed := range c.lines {
			if t.Sub(placed) > c.stale {
				delete(c.lines, k)
			}
		}
		if len(c.lines) < c.maxCalls {
			c.lines[key] = t
			return nil
		}
		// Woken when a call ends; a timer bounds the wait so that stale
		// lines are noticed and a cancelled context is seen.
		stop := context.AfterFunc(ctx, c.cond.Broadcast)
		timer := time.AfterFunc(time.Second, c.cond.Broadcast)
		c.cond.Wait()
		timer.Stop()
		stop()
	}
}

// release frees an attempt's line.
func (c *channel) release(key string) {
	if c.lines == nil {
		return
	}
	c.mu.Lock()
	if _, ok := c.lines[key]; ok {
		delete(c.lines, key)
		c.cond.Broadcast()
	}
	c.mu.Unlock()
}

// track counts the lines r's calls hold: a call placed and not ended holds
// one; an ended one frees it.
func (c *channel) track(activation string, r *tocsin.Recipient, now time.Time) {
	if c.lines == nil {
		return
	}
	it := item{activation, r.Official.ID}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, at := range r.Attempts {
		if at.Channel != tocsin.Voice {
			continue
		}
		key := lineKey(it, at.ID)
		switch {
		case at.Status.Final() || at.Status == tocsin.AttemptRetry:
			if _, ok := c.lines[key]; ok {
				delete(c.lines, key)
				c.cond.Broadcast()
			}
		case at.SID != "" || at.Tries > 0:
			if _, ok := c.lines[key]; !ok && now.Sub(at.UpdatedAt) < c.stale {
				c.lines[key] = at.UpdatedAt
			}
		}
	}
}

// inUse returns how many lines are held.
func (c *channel) inUse() int {
	if c.lines == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.lines)
}
