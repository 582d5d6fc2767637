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

	// A primary that answers its checks but fails its sends would be taken
	// back at every check and left again after the failover delay, sends
	// waiting each time. onProbation is set while a primary taken back by
	// a check has not yet sent anything; flaps counts the failovers that
	// followed such returns in a row, and skip the checks to let pass
	// before the next one: 1, 3, 7… up to maxSkippedProbes.
	onProbation bool
	flaps, skip int
}

// maxSkippedProbes bounds how many checks of a flapping primary are let
// pass: ten minutes at the default failover delay.
const maxSkippedProbes = 40

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
	r.failOver("la route principale échoue depuis " + tocsin.FormatDuration(failing) + " (" + reason.String() + ")")
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
		if route == tocsin.PrimaryRoute {
			r.onProbation, r.flaps = false, 0 // the primary sends again
		}
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
		r.failOver("la route principale échoue depuis " + tocsin.FormatDuration(failing) + " (" + se.Reason.String() + ")")
	}
}

// failOver hands the sends to the secondary. A primary that fails again
// right after a check took it back is checked less and less often.
func (r *router) failOver(why string) {
	r.mu.Lock()
	if r.active == tocsin.PrimaryRoute {
		if r.onProbation {
			r.flaps++
		}
		r.onProbation = false
		r.skip = min(1<<min(r.flaps, 6)-1, maxSkippedProbes)
	}
	r.mu.Unlock()
	r.switchTo(tocsin.SecondaryRoute, why)
}

// probe tries a failed primary again: back to it when it answers.
func (r *router) probe(ctx context.Context, ping func(context.Context) error) {
	if !r.hasSecondary || ping == nil || r.mode() != tocsin.RouteAuto || r.current() != tocsin.SecondaryRoute {
		return
	}
	r.mu.Lock()
	if r.skip > 0 {
		r.skip-- // a primary that flapped: this check is let pass
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if ping(pctx) == nil {
		r.switchTo(tocsin.PrimaryRoute, "la route principale répond de nouveau")
		r.mu.Lock()
		r.onProbation = r.active == tocsin.PrimaryRoute
		r.mu.Unlock()
	}
}
