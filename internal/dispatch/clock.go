package dispatch

import "time"

// Clock gives the time and runs timers; tests move it by hand.
type Clock interface {
	Now() time.Time
	// AfterFunc runs f in its own goroutine after d. The returned func
	// stops the timer.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// AfterFunc wraps time.AfterFunc.
func (RealClock) AfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
