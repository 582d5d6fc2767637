package web

import (
	"context"
	"net/http"
	"net/url"

	"github.com/prefecture76/tocsin/internal/activation"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// KindPublicLine is the webhook of a call to the public line, as
// Observer.Webhook names it.
const KindPublicLine = "public_line"

// PublicCallObserver is told each call to the public line and its
// outcome: "queued", "put_through" (rung at once), "overflow" or
// "closed" as it arrives; then, for a call queued, how it left the queue,
// once: "answered", "abandoned" (the caller hung up while waiting) or
// "unanswered". An Observer that has the method is told.
type PublicCallObserver interface {
	PublicCall(outcome string)
}

// PublicLines runs the public line of the CIP: what it answers, and the
// public message it says.
type PublicLines interface {
	PublicLine(ctx context.Context) (*activation.PublicLine, error)
	PublicMessages(ctx context.Context) ([]tocsin.PublicMessage, error)
	SetPublicMessage(ctx context.Context, by tocsin.User, text string) (*tocsin.PublicMessage, error)
	RecordPublicCall(ctx context.Context, l *activation.PublicLine, sid string) (again bool)
	PublicCallDialed(ctx context.Context, activation, sid, status, seconds string) (bool, error)
	PublicCalls(ctx context.Context, activation string) (tocsin.PublicCalls, error)
}

// publicLineRoutes serves the public line's webhook and its message.
func (s *Server) publicLineRoutes() {
	if s.cfg.PublicLine == nil || s.cfg.PublicLineTwiML == nil || s.cfg.PublicDialedTwiML == nil {
		return
	}
	s.handle("POST /twilio/voice/public", s.webhook(KindPublicLine, s.publicCall))
	s.handle("POST /twilio/voice/public/dialed", s.webhook(KindPublicLine, s.publicDialed))
	s.publicQueueRoutes()
	s.handle("GET /api/v1/cip/message", s.api(anyRole, s.getPublicMessage))
	s.handle("PUT /api/v1/cip/message", s.api(canActivate, s.putPublicMessage))
	c := s.console
	s.handle("POST /cip/message", c.page(canActivate, c.publicMessageForm))
}

// publicCall answers a call to the public line: the greeting, the public
// message, then the operators in position rung at once; the overflow
// message when nobody is in position or answers; the closing message when
// no CIP is open. It reads only: a caller changes nothing.
func (s *Server) publicCall(w http.ResponseWriter, r *http.Request, form url.Values) error {
	l, err := s.cfg.PublicLine.PublicLine(r.Context())
	if err != nil {
		return err
	}
	outcome := "closed"
	switch {
	case l.Open && len(l.Numbers) > 0:
		outcome = "put_through"
	case l.Open:
		outcome = "overflow"
	}
	again := s.cfg.PublicLine.RecordPublicCall(r.Context(), l, form.Get("CallSid"))
	q := "?" + url.Values{"a": {l.Activation}}.Encode()
	urls := PublicLineURLs{DialAction: s.cfg.PublicURL + "/twilio/voice/public/dialed" + q}
	if s.queued() && l.Open && len(l.Numbers) > 0 {
		outcome = "queued"
		urls.Queue = s.cfg.PublicQueue.QueueName(l.Activation)
		urls.WaitURL = s.cfg.PublicURL + "/twilio/voice/public/wait" + q
		urls.LeftURL = s.cfg.PublicURL + "/twilio/voice/public/left" + q
	}
	if err := writeTwiML(w)(s.cfg.PublicLineTwiML(*l, urls)); err != nil {
		return err
	}
	s.log.Info("public line call", "outcome", outcome, "activation", l.Activation, "operators", len(l.Numbers), "sid", form.Get("CallSid"), "again", again)
	if !again {
		s.publicCallOutcome(outcome)
	}
	return nil
}

func (s *Server) publicCallOutcome(outcome string) {
	if o, ok := s.cfg.Observer.(PublicCallObserver); ok {
		o.PublicCall(outcome)
	}
}

// publicDialed answers the end of the operators' ringing: nothing more
// after a conversation, the overflow message when nobody took the call.
func (s *Server) publicDialed(w http.ResponseWriter, r *http.Request, form url.Values) error {
	answered, err := s.cfg.PublicLine.PublicCallDialed(r.Context(), r.URL.Query().Get("a"), form.Get("CallSid"),
		form.Get("DialCallStatus"), form.Get("DialCallDuration"))
	if err != nil {
		return err
	}
	return writeTwiML(w)(s.cfg.PublicDialedTwiML(answered))
}

// publicMessageView is the public message in the API: the one in force
// and every version.
type publicMessageView struct {
	Current  *tocsin.PublicMessage  `json:"current"`
	Versions []tocsin.PublicMessage `json:"versions"`
}

func (s *Server) publicMessages(ctx context.Context) (*publicMessageView, error) {
	ms, err := s.cfg.PublicLine.PublicMessages(ctx)
	if err != nil {
		return nil, err
	}
	v := &publicMessageView{Versions: ms}
	if v.Versions == nil {
		v.Versions = []tocsin.PublicMessage{}
	}
	if len(ms) > 0 {
		v.Current = &ms[len(ms)-1]
	}
	return v, nil
}

func (s *Server) getPublicMessage(w http.ResponseWriter, r *http.Request) error {
	v, err := s.publicMessages(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// putPublicMessage puts a new version in force: {"text": "..."}.
func (s *Server) putPublicMessage(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Text string `json:"text"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	m, err := s.cfg.PublicLine.SetPublicMessage(r.Context(), userFrom(r.Context()), req.Text)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (c *console) publicMessageForm(w http.ResponseWriter, r *http.Request, p *pageData) error {
	if _, err := c.cfg.PublicLine.SetPublicMessage(r.Context(), userFrom(r.Context()), r.PostFormValue("message")); err != nil {
		return err
	}
	http.Redirect(w, r, "/cip?message=1", http.StatusSeeOther)
	return nil
}
