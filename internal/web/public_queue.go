package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// The public line's queue. A caller put through waits in the activation's
// Twilio queue (<Enqueue>): Twilio asks the wait URL for what to play,
// again each time it ends, with the caller's QueuePosition; each time,
// Tocsin calls operators in position who are free, as many as callers
// wait who no operator is being called for. An operator who picks up
// hears a word, then takes the first caller of the queue (<Dial><Queue>).
// Twilio posts the Enqueue's action when the caller leaves the queue, with
// QueueResult (bridged, hangup, …) and QueueTime: that is what is counted,
// once per call. The operator's call reports its progress to a status
// callback that frees them.

// PublicLineURLs are the URLs the public line's TwiML points Twilio to:
// the Dial's action when the operators are rung at once; the queue's
// name, wait URL and action (LeftURL) when callers are queued.
type PublicLineURLs struct {
	DialAction              string
	Queue, WaitURL, LeftURL string
}

// PublicQueue runs the public line's queue.
type PublicQueue interface {
	// Queued reports whether the queue can serve callers (it can call
	// the operators): callers are queued only then.
	Queued() bool
	QueueName(activation string) string
	PublicCallWaiting(ctx context.Context, activation, sid string) (stay bool, err error)
	PublicCallLeft(ctx context.Context, activation, sid, result, seconds string) (counted bool, err error)
	OperatorCallStatus(ctx context.Context, activation, operator, claim, status string) error
}

// QueueTwiML renders what the queue says: to a caller waiting (their
// place), to a caller who left it (closed: because the CIP was closed),
// to an operator who picked up.
type QueueTwiML interface {
	Wait(position int, stay bool) (string, error)
	Left(result string, closed bool) (string, error)
	Operator(queue string) (string, error)
}

func (s *Server) queued() bool {
	return s.cfg.PublicQueue != nil && s.cfg.QueueTwiML != nil && s.cfg.PublicQueue.Queued()
}

func (s *Server) publicQueueRoutes() {
	if !s.queued() {
		return
	}
	s.handle("POST /twilio/voice/public/wait", s.webhook(KindPublicLine, s.publicWait))
	s.handle("POST /twilio/voice/public/left", s.webhook(KindPublicLine, s.publicLeft))
	s.handle("POST /twilio/voice/public/operator", s.webhook(KindPublicLine, s.operatorAnswered))
	s.handle("POST /twilio/voice/public/operator/status", s.webhook(KindPublicLine, s.operatorStatus))
}

// publicWait answers the queue's wait URL: the caller's place and the
// hold message; <Leave> when the CIP closed or nobody is in position.
func (s *Server) publicWait(w http.ResponseWriter, r *http.Request, form url.Values) error {
	stay, err := s.cfg.PublicQueue.PublicCallWaiting(r.Context(), r.URL.Query().Get("a"), form.Get("CallSid"))
	if err != nil {
		return err
	}
	position, _ := strconv.Atoi(form.Get("QueuePosition"))
	return writeTwiML(w)(s.cfg.QueueTwiML.Wait(position, stay))
}

// publicLeft answers the Enqueue's action: the caller left the queue.
func (s *Server) publicLeft(w http.ResponseWriter, r *http.Request, form url.Values) error {
	result := form.Get("QueueResult")
	counted, err := s.cfg.PublicQueue.PublicCallLeft(r.Context(), r.URL.Query().Get("a"), form.Get("CallSid"), result, form.Get("QueueTime"))
	if err != nil {
		return err
	}
	if counted {
		switch result {
		case tocsin.QueueBridged:
			s.publicCallOutcome("answered")
		case tocsin.QueueHangup:
			s.publicCallOutcome("abandoned")
		default:
			s.publicCallOutcome("unanswered")
		}
	}
	closed := false
	if result != tocsin.QueueBridged && result != tocsin.QueueHangup {
		// A line it cannot read says the overflow message, not an error.
		if l, err := s.cfg.PublicLine.PublicLine(r.Context()); err == nil {
			closed = !l.Open || l.Activation != r.URL.Query().Get("a")
		}
	}
	return writeTwiML(w)(s.cfg.QueueTwiML.Left(result, closed))
}

// operatorAnswered answers an operator called for the queue who picked
// up: the next caller of the activation's queue.
func (s *Server) operatorAnswered(w http.ResponseWriter, r *http.Request, form url.Values) error {
	a := r.URL.Query().Get("a")
	if !tocsin.ValidID(a) {
		return tocsin.Errorf(tocsin.EInvalid, "activation %q inconnue", a)
	}
	return writeTwiML(w)(s.cfg.QueueTwiML.Operator(s.cfg.PublicQueue.QueueName(a)))
}

// operatorStatus records the progress of an operator's call for the
// queue.
func (s *Server) operatorStatus(w http.ResponseWriter, r *http.Request, form url.Values) error {
	q := r.URL.Query()
	if err := s.cfg.PublicQueue.OperatorCallStatus(r.Context(), q.Get("a"), q.Get("o"), q.Get("k"), form.Get("CallStatus")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
