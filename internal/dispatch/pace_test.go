package dispatch

import (
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

var t0 = time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)

// The refusals of sends in flight when the provider started refusing cut
// the rate once; a refusal of a send started after the cut cuts again.
func TestPaceCutsOncePerRefusalOfANewSend(t *testing.T) {
	p := newPace(50)
	r, changed := p.refused(t0, t0.Add(10*time.Millisecond))
	if !changed || r != 40 {
		t.Fatalf("first refusal: rate %v (changed %v), want 40", r, changed)
	}
	// Sent before the cut, refused after it: nothing new.
	if r, changed = p.refused(t0.Add(5*time.Millisecond), t0.Add(20*time.Millisecond)); changed || r != 40 {
		t.Errorf("refusal of a send in flight at the cut: rate %v (changed %v), want 40 unchanged", r, changed)
	}
	if r, _ = p.refused(t0.Add(30*time.Millisecond), t0.Add(40*time.Millisecond)); r != 32 {
		t.Errorf("refusal of a send started after the cut: rate %v, want 32", r)
	}
	if _, limited := p.current(); !limited {
		t.Error("rate below the ceiling: want limited")
	}
}

// Sends accepted raise the rate additively, by a tenth of the ceiling per
// second's worth, up to the ceiling and never past it.
func TestPaceClimbsBackToTheCeilingAndNoFurther(t *testing.T) {
	p := newPace(50)
	p.rate = 25
	// A second's worth of sends at 25/s: +5/s.
	for range 25 {
		p.accepted()
	}
	if r, _ := p.current(); r < 29.5 || r > 30.5 {
		t.Errorf("after a second's worth of sends at 25/s: %v, want about 30", r)
	}
	for range 1000 {
		p.accepted()
	}
	if r, limited := p.current(); r != 50 || limited {
		t.Errorf("after many sends: rate %v (limited %v), want the ceiling 50, not limited", r, limited)
	}
}

// A provider that refuses everything brings the rate down to its floor,
// never to zero: it is still asked, slowly.
func TestPaceNeverStops(t *testing.T) {
	p := newPace(50)
	at := t0
	for range 100 {
		at = at.Add(time.Second)
		p.refused(at, at)
	}
	if r, _ := p.current(); r != 0.5 {
		t.Errorf("after 100 refusals: %v, want the floor 0.5 (1 %% of 50)", r)
	}
	small := newPace(0.1)
	small.refused(t0, t0)
	if r, _ := small.current(); r != 0.1 {
		t.Errorf("ceiling 0.1: cut to %v, want it kept at 0.1 (the floor is never above the ceiling)", r)
	}
}

// The watch reports a recipient at each change: a queue overflow seen
// again with a later change slows the channel once.
func TestQueueOverflowSeenTwiceCutsOnce(t *testing.T) {
	c := &channel{kind: "sms", pace: newPace(50), pacer: newPacer(50)}
	r := &run{d: &Dispatcher{channels: map[tocsin.Channel]*channel{tocsin.SMS: c}}, overflowed: map[string]bool{}}
	rc := &tocsin.Recipient{Official: tocsin.Official{ID: "o1"}, Attempts: []tocsin.Attempt{
		{ID: "r0-1", Channel: tocsin.SMS, Status: tocsin.AttemptUndelivered, ErrorCode: 30001, CreatedAt: time.Now()},
		{ID: "r0-2", Channel: tocsin.SMS, Status: tocsin.AttemptUndelivered, ErrorCode: 30003, CreatedAt: time.Now()},
	}}
	r.overflows("a1", rc)
	r.overflows("a1", rc)
	if got, _ := c.pace.current(); got != 40 {
		t.Errorf("one overflow seen twice: rate %v, want 40 (one cut)", got)
	}
}
