package twiliosim

import (
	"sort"
	"sync"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Clock is the simulator's source of time: tocsin.Clock. Every delay
// (delivery, reply, ringing) is scheduled with AfterFunc, so a test can
// drive them with a ManualClock instead of sleeping.
type Clock = tocsin.Clock

// Timer is a pending AfterFunc.
type Timer = tocsin.Timer

// RealClock is the wall clock; a zero Config uses it.
type RealClock = tocsin.WallClock

// ManualClock is a Clock that moves only when Advance is called. Timers run
// in the goroutine that calls Advance, one after another, in the order they
// fall due; while one runs, Now returns its due time.
type ManualClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers []*manualTimer
}

// NewManualClock returns a ManualClock set at start.
func NewManualClock(start time.Time) *ManualClock {
	return &ManualClock{now: start}
}

type manualTimer struct {
	c    *ManualClock
	at   time.Time
	seq  uint64
	f    func()
	done bool // fired or stopped
}

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f at Now()+d. A timer with d <= 0 runs at the next
// Advance, even Advance(0).
func (c *ManualClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &manualTimer{c: c, at: c.now.Add(max(d, 0)), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

// Stop removes the timer if it has not run yet.
func (t *manualTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.done {
		return false
	}
	t.done = true
	for i, o := range t.c.timers {
		if o == t {
			t.c.timers = append(t.c.timers[:i], t.c.timers[i+1:]...)
			break
		}
	}
	return true
}

// Advance moves the clock forward by d and runs every timer due by then,
// including those scheduled by the timers it runs, before returning.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	target := c.now.Add(max(d, 0))
	c.mu.Unlock()
	for {
		c.mu.Lock()
		sort.Slice(c.timers, func(i, j int) bool {
			a, b := c.timers[i], c.timers[j]
			if !a.at.Equal(b.at) {
				return a.at.Before(b.at)
			}
			return a.seq < b.seq
		})
		if len(c.timers) == 0 || c.timers[0].at.After(target) {
			c.now = target
			c.mu.Unlock()
			return
		}
		t := c.timers[0]
		c.timers = c.timers[1:]
		t.done = true
		if t.at.After(c.now) {
			c.now = t.at
		}
		c.mu.Unlock()
		t.f()
	}
}

// Pending returns how many timers wait to run.
func (c *ManualClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}
