package dispatch

import "github.com/prefecture76/tocsin/internal/tocsin"

// Clock gives the time and runs timers: tocsin.Clock. Tests move a manual
// one by hand.
type Clock = tocsin.Clock

// RealClock is the wall clock.
type RealClock = tocsin.WallClock
