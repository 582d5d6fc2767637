package dispatch

import (
	"context"
	"sync"
	"time"
)

// The configured rate is a ceiling, not a promise. When the provider
// answers 429 (or reports a queue overflow), the channel's rate drops
// multiplicatively; while sends succeed it climbs back additively, never
// above the ceiling (AIMD, as TCP does). Throughput then stays close to
// what the provider actually accepts, instead of bursting into refusals
// after each pause.
const (
	// paceCut is the factor a refusal applies to the rate.
	paceCut = 0.8
	// paceClimb is how fast the rate climbs back, as a share of the
	// ceiling per second of sends: from a tenth of the ceiling to all of
	// it in about nine seconds.
	paceClimb = 0.1
	// paceFloor is the lowest rate, as a share of the ceiling, and
	// paceMinimum the lowest in absolute terms: a provider that refuses
	// everything is still asked, slowly, whether it accepts again.
	paceFloor   = 0.01
	paceMinimum = 0.2
)

// pace is one channel's adaptive rate.
type pace struct {
	mu      sync.Mutex
	ceiling float64
	rate    float64
	// cutAt is when the rate was last cut: a refusal of a send that
	// started before it says nothing new (the sends in flight when the
	// provider started refusing are all refused), so it cuts nothing.
	cutAt time.Time
}

func newPace(ceiling float64) *pace {
	return &pace{ceiling: ceiling, rate: ceiling}
}

// refused records that a send started at `started` was refused for
// exceeding the provider's rate, at now. It returns the new rate and
// whether it changed.
func (p *pace) refused(started, now time.Time) (float64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if started.Before(p.cutAt) {
		return p.rate, false
	}
	floor := max(p.ceiling*paceFloor, min(paceMinimum, p.ceiling))
	r := max(floor, p.rate*paceCut)
	p.cutAt = now
	changed := r != p.rate
	p.rate = r
	return r, changed
}

// accepted records that a send was accepted: the rate climbs by
// paceClimb × ceiling per second's worth of sends. It returns the new rate
// and whether it changed.
func (p *pace) accepted() (float64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rate >= p.ceiling {
		return p.rate, false
	}
	p.rate = min(p.ceiling, p.rate+paceClimb*p.ceiling/p.rate)
	return p.rate, true
}

// current returns the rate and whether the provider holds it below the
// ceiling.
func (p *pace) current() (rate float64, limited bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rate, p.rate < p.ceiling
}

// reset starts a new term at the ceiling.
func (p *pace) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rate, p.cutAt = p.ceiling, time.Time{}
}

// pacer spaces sends at one interval: each send takes the next slot, no
// earlier than now, so that no credit builds up while idle (a burst of
// one). Lowering the rate spaces the slots taken from then on; slots
// already taken keep theirs. (golang.org/x/time/rate re-prices the debt of
// the tokens already reserved at the new rate, which after a cut stalls a
// channel for seconds.)
type pacer struct {
	mu       sync.Mutex
	next     time.Time
	interval time.Duration
}

func newPacer(perSecond float64) *pacer {
	p := &pacer{}
	p.setRate(perSecond)
	return p
}

// setRate spaces the slots taken from now on at perSecond.
func (p *pacer) setRate(perSecond float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.interval = time.Duration(float64(time.Second) / perSecond)
}

// wait takes the next slot and waits for it.
func (p *pacer) wait(ctx context.Context) error {
	p.mu.Lock()
	now := time.Now()
	slot := p.next
	if slot.Before(now) {
		slot = now
	}
	p.next = slot.Add(p.interval)
	p.mu.Unlock()
	d := slot.Sub(now)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
