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
	mode := RouteAuto
	r := newRouter(true, 10*time.Second, func() RouteMode { return mode }, func(from, to, why string) { changes = append(changes, from+"→"+to+" : "+why) })
	down := &tocsin.SendError{Outcome: tocsin.Unknown, Reason: tocsin.ReasonServerError}
	refused := &tocsin.SendError{Outcome: tocsin.NotSentPermanent, Reason: tocsin.ReasonInvalidNumber}

	// Failures for less than the delay, or a success between: no change.
	r.result(Primary, down, t0)
	r.result(Primary, down, t0.Add(5*time.Second))
	r.result(Primary, nil, t0.Add(6*time.Second))
	r.result(Primary, down, t0.Add(7*time.Second))
	r.result(Primary, refused, t0.Add(8*time.Second)) // this number's fault, not the route's: the streak ends
	r.result(Primary, down, t0.Add(9*time.Second))
	r.result(Primary, down, t0.Add(18*time.Second))
	if got := r.pick(); got != Primary || len(changes) != 0 {
		t.Fatalf("after broken streaks: route %s, changes %v; want the primary still", got, changes)
	}
	// Three failures spanning the delay: the secondary.
	r.result(Primary, down, t0.Add(20*time.Second))
	if got := r.pick(); got != Secondary || len(changes) != 1 {
		t.Fatalf("after 10 s of failures: route %s, changes %v; want the secondary", got, changes)
	}
	// A late failure of a send that went by the primary changes nothing.
	r.result(Primary, down, t0.Add(21*time.Second))
	// The primary does not answer yet, then it does.
	r.probe(context.Background(), func(context.Context) error { return errors.New("refused") })
	if r.current() != Secondary {
		t.Fatal("probe failed: want the secondary still")
	}
	r.probe(context.Background(), func(context.Context) error { return nil })
	if r.current() != Primary || len(changes) != 2 {
		t.Fatalf("probe answered: route %s, changes %v; want back on the primary", r.current(), changes)
	}
	// The duty officer forces the secondary: it holds whatever happens.
	mode = RouteSecondary
	if got := r.pick(); got != Secondary {
		t.Fatalf("forced: %s, want the secondary", got)
	}
	r.probe(context.Background(), func(context.Context) error { return nil })
	if r.current() != Secondary || len(changes) != 3 {
		t.Errorf("forced then probed: %s, changes %v; want the secondary kept", r.current(), changes)
	}
	t.Log(changes)
}

func TestWithoutASecondaryEverythingGoesByThePrimary(t *testing.T) {
	r := newRouter(false, time.Second, nil, nil)
	for i := range 10 {
		r.result(Primary, &tocsin.SendError{Outcome: tocsin.Unknown, Reason: tocsin.ReasonTimeout}, t0.Add(time.Duration(i)*time.Second))
	}
	if r.pick() != Primary {
		t.Error("no secondary: want the primary")
	}
}
