package activation

import (
	"context"
	"testing"

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
