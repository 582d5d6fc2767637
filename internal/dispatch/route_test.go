package dispatch

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

func TestRouterFailsOverAfterTheDelayAndComesBack(t *testing.T) {
	var changes []string
	mode := tocsin.RouteAuto
	r := newRouter(true, 10*time.Second, func() RouteMode { return mode }, func(from, to, why string) { changes = append(changes, from+"→"+to+" : "+why) })
	down := &tocsin.SendError{Outcome: tocsin.Unknown, Reason: tocsin.ReasonServerError}
	refused := &tocsin.SendError{Outcome: tocsin.NotSentPermanent, Reason: tocsin.ReasonInvalidNumber}

	// Failures for less than the delay, or a success between: no change.
	r.result(tocsin.PrimaryRoute, down, t0)
	r.result(tocsin.PrimaryRoute, down, t0.Add(5*time.Second))
	r.result(tocsin.PrimaryRoute, nil, t0.Add(6*time.Second))
	r.result(tocsin.PrimaryRoute, down, t0.Add(7*time.Second))
	r.result(tocsin.PrimaryRoute, refused, t0.Add(8*time.Second)) // this number's fault, not the route's: the streak ends
	r.result(tocsin.PrimaryRoute, down, t0.Add(9*time.Second))
	r.result(tocsin.PrimaryRoute, down, t0.Add(18*time.Second))
	if got := r.pickNow(t0.Add(30 * time.Second)); got != tocsin.PrimaryRoute || len(changes) != 0 {
		t.Fatalf("after broken streaks: route %s, changes %v; want the primary still", got, changes)
	}
	// Three failures spanning the delay: the secondary.
	r.result(tocsin.PrimaryRoute, down, t0.Add(20*time.Second))
	if got := r.pickNow(t0.Add(30 * time.Second)); got != tocsin.SecondaryRoute || len(changes) != 1 {
		t.Fatalf("after 10 s of failures: route %s, changes %v; want the secondary", got, changes)
	}
	// A late failure of a send that went by the primary changes nothing.
	r.result(tocsin.PrimaryRoute, down, t0.Add(21*time.Second))
	// The primary does not answer yet, then it does.
	r.probe(context.Background(), func(context.Context) error { return errors.New("refused") })
	if r.current() != tocsin.SecondaryRoute {
		t.Fatal("probe failed: want the secondary still")
	}
	r.probe(context.Background(), func(context.Context) error { return nil })
	if r.current() != tocsin.PrimaryRoute || len(changes) != 2 {
		t.Fatalf("probe answered: route %s, changes %v; want back on the primary", r.current(), changes)
	}
	// The duty officer forces the secondary: it holds whatever happens.
	mode = tocsin.RouteSecondary
	if got := r.pickNow(t0.Add(30 * time.Second)); got != tocsin.SecondaryRoute {
		t.Fatalf("forced: %s, want the secondary", got)
	}
	r.probe(context.Background(), func(context.Context) error { return nil })
	if r.current() != tocsin.SecondaryRoute || len(changes) != 3 {
		t.Errorf("forced then probed: %s, changes %v; want the secondary kept", r.current(), changes)
	}
	t.Log(changes)
}

func TestWithoutASecondaryEverythingGoesByThePrimary(t *testing.T) {
	r := newRouter(false, time.Second, nil, nil)
	for i := range 10 {
		r.result(tocsin.PrimaryRoute, &tocsin.SendError{Outcome: tocsin.Unknown, Reason: tocsin.ReasonTimeout}, t0.Add(time.Duration(i)*time.Second))
	}
	if r.pickNow(t0.Add(30*time.Second)) != tocsin.PrimaryRoute {
		t.Error("no secondary: want the primary")
	}
}

func (r *router) pickNow(now time.Time) string {
	route, _ := r.pick(now)
	return route
}

// While the primary fails every send, sends wait for the failover instead
// of piling up attempts of unknown outcome on it.
func TestSendsWaitWhileThePrimaryIsFailing(t *testing.T) {
	r := newRouter(true, 10*time.Second, nil, nil)
	down := &tocsin.SendError{Outcome: tocsin.Unknown, Reason: tocsin.ReasonServerError}
	for i := range minFailures {
		r.result(tocsin.PrimaryRoute, down, t0.Add(time.Duration(i)*time.Second))
	}
	if route, wait := r.pick(t0.Add(3 * time.Second)); route != tocsin.PrimaryRoute || wait != 7*time.Second {
		t.Errorf("failing for 3 s: %s, wait %v; want to wait 7 s more", route, wait)
	}
	// Past the delay with nothing accepted: the waiting sends go by the
	// secondary, none by the primary.
	if route, wait := r.pick(t0.Add(11 * time.Second)); route != tocsin.SecondaryRoute || wait != 0 {
		t.Errorf("past the delay: %s, wait %v; want the secondary", route, wait)
	}
}

// A new term resumes on the secondary the previous leader used; without a
// secondary there is nothing to resume on.
func TestResumeOnTheSecondary(t *testing.T) {
	d := &Dispatcher{router: newRouter(true, time.Second, nil, nil)}
	d.ResumeOn(tocsin.SecondaryRoute)
	if d.Route() != tocsin.SecondaryRoute {
		t.Errorf("route %s after resuming on the secondary", d.Route())
	}
	lone := &Dispatcher{router: newRouter(false, time.Second, nil, nil)}
	lone.ResumeOn(tocsin.SecondaryRoute)
	if lone.Route() != tocsin.PrimaryRoute {
		t.Errorf("no secondary: route %s, want the primary", lone.Route())
	}
}

// A primary that answers its checks but fails every send is taken back by
// a check, fails again, and is left again: each time it does, more checks
// are let pass before it is tried again (1, then 3…), so that sends do not
// wait the failover delay at every check. A send that goes through on the
// primary ends it.
func TestAFlappingPrimaryIsCheckedLessAndLessOften(t *testing.T) {
	r := newRouter(true, 10*time.Second, nil, nil)
	down := &tocsin.SendError{Outcome: tocsin.Unknown, Reason: tocsin.ReasonServerError}
	answers := func(context.Context) error { return nil }
	at := t0
	fail := func() {
		t.Helper()
		for range minFailures {
			r.result(tocsin.PrimaryRoute, down, at)
			at = at.Add(5 * time.Second)
		}
		if r.current() != tocsin.SecondaryRoute {
			t.Fatalf("the primary failing: %s, want the secondary", r.current())
		}
	}
	// checks probes until the primary is taken back, and says how many it
	// took.
	checks := func() int {
		t.Helper()
		for n := 1; n <= 100; n++ {
			r.probe(context.Background(), answers)
			if r.current() == tocsin.PrimaryRoute {
				return n
			}
		}
		t.Fatal("the primary never taken back")
		return 0
	}
	fail()
	if n := checks(); n != 1 {
		t.Errorf("first failover: taken back at check %d, want 1", n)
	}
	fail() // it fails again right away: it flapped
	if n := checks(); n != 2 {
		t.Errorf("after one flap: taken back at check %d, want 2", n)
	}
	fail()
	if n := checks(); n != 4 {
		t.Errorf("after two flaps: taken back at check %d, want 4", n)
	}
	// It sends again: the next failure is a first one.
	r.result(tocsin.PrimaryRoute, nil, at)
	fail()
	if n := checks(); n != 1 {
		t.Errorf("after a send that went through: taken back at check %d, want 1", n)
	}
}
