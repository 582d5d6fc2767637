package tocsin

import "time"

// Clock is the one source of time of everything that waits or stamps:
// dispatch's timers, the timeline, the simulator's virtual officials.
// Tests pass a clock they move by hand instead of sleeping.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has elapsed (a manual
	// clock calls it from the goroutine that moves it). f must not be
	// called synchronously.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc. Stop reports whether it stopped the timer
// before f started.
type Timer interface {
	Stop() bool
}

// WallClock is the real time.
type WallClock struct{}

// Now returns time.Now().
func (WallClock) Now() time.Time { return time.Now() }

// AfterFunc wraps time.AfterFunc.
func (WallClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
