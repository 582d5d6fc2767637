package dispatch

import (
	"context"
	"sync"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Route is one way to the provider: an account, or another region or edge
// of it, with its own sender number.
type Route struct {
	SMS   SMS
	Voice Voice
	// Ping checks that the route answers and takes its credentials,
	// without sending anything; it tells when a failed primary is back.
	Ping func(ctx context.Context) error
}

// RouteMode is how the route is chosen: tocsin.RouteMode.
type RouteMode = tocsin.RouteMode

// DefaultFailoverAfter is how long the primary must fail every send (5xx,
// timeouts, connections refused, credentials refused) before the
// secondary takes over, and how often a failed primary is tried again.
const DefaultFailoverAfter = 15 * time.Second

// minFailures is how many failed sends in a row, at least, make a route
// failing: one timeout is not an outage.
const minFailures = 3

// router picks the route of each send. Without a secondary it always
// answers the primary.
type router struct {
	hasSecondary bool
	after        time.Duration
	mode         func() RouteMode
	changed      func(from, to, why string)

	mu       sync.Mutex
	active   string
	since    time.Time // first failure of the active route's current streak
	failures int
	reason   tocsin.Reason // of the streak's last failure
}

func newRouter(hasSecondary bool, after time.Duration, mode func() RouteMode, changed func(from, to, why string)) *router {
	if after <= 0 {
		after = DefaultFailoverAfter
	}
	if mode == nil {
		mode = func() RouteMode { return tocsin.RouteAuto }
	}
	if changed == nil {
		changed = func(string, string, string) {}
	}
	return &router{hasSecondary: hasSecondary, after: after, mode: mode, changed: changed, active: tocsin.PrimaryRoute}
}

// pick returns the route the next send takes, or how long to wait first:
// while the primary fails every send, sends wait for the failover instead
// of piling up attempts whose outcome is unknown on it.
func (r *router) pick(now time.Time) (string, time.Duration) {
	if !r.hasSecondary {
		return tocsin.PrimaryRoute, 0
	}
	switch r.mode() {
	case tocsin.RoutePrimary:
		r.switchTo(tocsin.PrimaryRoute, "route principale imposée par l'officier de permanence")
		return tocsin.PrimaryRoute, 0
	case tocsin.RouteSecondary:
		r.switchTo(tocsin.SecondaryRoute, "route de secours imposée par l'officier de permanence")
		return tocsin.SecondaryRoute, 0
	}
	r.mu.Lock()
	if r.active != tocsin.PrimaryRoute || r.failures < minFailures {
		defer r.mu.Unlock()
		return r.active, 0
	}
	if wait := r.since.Add(r.after).Sub(now); wait > 0 {
		r.mu.Unlock()
		return tocsin.PrimaryRoute, wait
	}
	// Nothing succeeded on the primary for the whole delay: the secondary.
	failing, reason := now.Sub(r.since), r.reason
	r.mu.Unlock()
	r.switchTo(tocsin.SecondaryRoute, "la route principale échoue depuis "+tocsin.FormatDuration(failing)+" ("+reason.String()+")")
	return r.current(), 0
}

// current returns the active route.
func (r *router) current() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.active
}

// switchTo makes route the active one, telling why when it changes.
func (r *router) switchTo(route, why string) {
	r.mu.Lock()
	from := r.active
	if from == route {
		r.mu.Unlock()
		return
	}
	r.active, r.failures, r.since = route, 0, time.Time{}
	r.mu.Unlock()
	r.changed(from, route, why)
}

// outage reports whether a send's error says the route itself fails, as
// opposed to this number or the provider's pace.
func outage(se *tocsin.SendError) bool {
	switch se.Reason {
	case tocsin.ReasonServerError, tocsin.ReasonTimeout, tocsin.ReasonNetwork, tocsin.ReasonAuth, tocsin.ReasonBadResponse:
		return true
	}
	return false
}

// result records how a send on route went, at now. In automatic mode, the
// primary failing every send for the failover delay (and at least
// minFailures times) hands over to the secondary.
func (r *router) result(route string, se *tocsin.SendError, now time.Time) {
	if !r.hasSecondary {
		return
	}
	r.mu.Lock()
	if route != r.active {
		r.mu.Unlock()
		return // a send that started before a switch
	}
	if se == nil || !outage(se) {
		r.failures, r.since = 0, time.Time{}
		r.mu.Unlock()
		return
	}
	if r.failures == 0 {
		r.since = now
	}
	r.failures++
	r.reason = se.Reason
	failing := now.Sub(r.since)
	down := route == tocsin.PrimaryRoute && r.failures >= minFailures && failing >= r.after-time.Millisecond
	r.mu.Unlock()
	if down && r.mode() == tocsin.RouteAuto {
		r.switchTo(tocsin.SecondaryRoute, "la route principale échoue depuis "+tocsin.FormatDuration(failing)+" ("+se.Reason.String()+")")
	}
}

// probe tries a failed primary again: back to it when it answers.
func (r *router) probe(ctx context.Context, ping func(context.Context) error) {
	if !r.hasSecondary || ping == nil || r.mode() != tocsin.RouteAuto || r.current() != tocsin.SecondaryRoute {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if ping(pctx) == nil {
		r.switchTo(tocsin.PrimaryRoute, "la route principale répond de nouveau")
	}
}
