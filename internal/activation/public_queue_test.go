package activation

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// downLine is a public line and a queue whose store does not answer.
type downLine struct {
	PublicLineStore
	QueueStore
}

var errDown = tocsin.Errorf(tocsin.EUnavailable, "le stockage (etcd) ne répond pas")

func (downLine) LineCell(context.Context) (*tocsin.CIPCell, error) { return nil, errDown }
func (downLine) UpdatePublicCall(context.Context, string, string, func(*tocsin.PublicCall) *tocsin.PublicCall) (bool, error) {
	return false, errDown
}

// While etcd does not answer, a caller waiting in the queue keeps their
// place (an error would take them out of Twilio's queue), and one who
// leaves it is not counted but hears what follows, not an error.
func TestCallersInTheQueueRideOutAStoreThatDoesNotAnswer(t *testing.T) {
	s := New(Config{PublicLine: downLine{}, Queue: downLine{},
		CallOperator: func(context.Context, string, string, string, string) (string, error) { return "", nil }})
	const activation, sid = "20261207-030000-abcd", "CA0123456789abcdef0123456789abcdef"
	if stay, err := s.PublicCallWaiting(t.Context(), activation, sid); !stay || err != nil {
		t.Errorf("waiting with the store down: stay %t, %v; want to stay, no error", stay, err)
	}
	if counted, err := s.PublicCallLeft(t.Context(), activation, sid, tocsin.QueueHangup, "42"); counted || err != nil {
		t.Errorf("leaving with the store down: counted %t, %v; want not counted, no error", counted, err)
	}
}

// desks is a queue's desks in memory.
type desks struct {
	QueueStore
	d map[string]*tocsin.Desk
}

func (q *desks) UpdateDesk(_ context.Context, _, operator string, fn func(d *tocsin.Desk) bool) (bool, error) {
	d := q.d[operator]
	if d == nil {
		d = &tocsin.Desk{Operator: operator}
		q.d[operator] = d
	}
	return fn(d), nil
}

// An operator whose call Twilio refused is free again at once; one whose
// call may have gone (Twilio 5xx, a timeout) stays claimed, so that the
// queue does not call someone whose phone may ring: until the call's
// status callback, or tocsin.RingHold.
func TestAnOperatorCallOfUnknownOutcomeKeepsTheClaim(t *testing.T) {
	now := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name   string
		err    error
		called bool
		busy   bool
	}{
		{"placed", nil, true, true},
		{"refused", &tocsin.SendError{Outcome: tocsin.NotSentPermanent, Err: errors.New("21215")}, false, false},
		{"unknown", &tocsin.SendError{Outcome: tocsin.Unknown, Err: errors.New("503")}, true, true},
	} {
		q := &desks{d: map[string]*tocsin.Desk{}}
		s := New(Config{Queue: q, Now: func() time.Time { return now },
			CallOperator: func(context.Context, string, string, string, string) (string, error) { return "CA1", c.err }})
		op := tocsin.CIPOperator{Operator: tocsin.Operator{ID: "cip-01", Numbers: []tocsin.Number{{E164: "+33639980101", Kind: tocsin.Mobile}}}}
		if got := s.callOperator(t.Context(), "20261207-030000-abcd", op, now); got != c.called {
			t.Errorf("%s: called %t, want %t", c.name, got, c.called)
		}
		if got := q.d["cip-01"].Busy(now.Add(time.Second)); got != c.busy {
			t.Errorf("%s: operator busy %t, want %t", c.name, got, c.busy)
		}
		if got := q.d["cip-01"].Busy(now.Add(tocsin.RingHold)); got {
			t.Errorf("%s: operator still busy after RingHold", c.name)
		}
	}
}
