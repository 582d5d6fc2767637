package web

import (
	"io"
	"net/http"
	"net/url"

	"github.com/prefecture76/tocsin/internal/activation"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// VoiceTwiML renders what calls say. twimlURL and gatherURL are absolute;
// the renderer adds which playing (1 or 2) each request follows.
type VoiceTwiML interface {
	// Message says the play-th playing of text and gathers one key.
	Message(text, twimlURL, gatherURL string, play int) (string, error)
	// WrongKey answers a key other than 1: the next playing, or goodbye.
	WrongKey(text, twimlURL, gatherURL string, play int) (string, error)
	// Confirmed thanks the official after the key press and hangs up.
	Confirmed() (string, error)
	// AlreadyInformed says the alert was already acknowledged and hangs up.
	AlreadyInformed() (string, error)
	// Play reads which playing a request follows from its query.
	Play(query url.Values) (int, error)
}

// attemptRef reads the attempt named in a webhook's URL.
func attemptRef(r *http.Request) (activation.AttemptRef, error) {
	q := r.URL.Query()
	ref := activation.AttemptRef{Activation: q.Get("a"), Official: q.Get("o"), Attempt: q.Get("t")}
	if ref.Activation == "" || ref.Official == "" || ref.Attempt == "" {
		return ref, tocsin.Errorf(tocsin.EInvalid, "URL sans référence de tentative")
	}
	return ref, nil
}

// voiceURLs are the absolute TwiML and gather URLs of an attempt.
func (s *Server) voiceURLs(ref activation.AttemptRef) (twimlURL, gatherURL string) {
	q := url.Values{"a": {ref.Activation}, "o": {ref.Official}, "t": {ref.Attempt}}.Encode()
	return s.cfg.PublicURL + "/twilio/voice/twiml?" + q, s.cfg.PublicURL + "/twilio/voice/gather?" + q
}

// voiceRequest reads the attempt and the playing a TwiML or gather
// request is about.
func (s *Server) voiceRequest(r *http.Request) (activation.AttemptRef, int, error) {
	ref, err := attemptRef(r)
	if err != nil {
		return ref, 0, err
	}
	play, err := s.cfg.Voice.Play(r.URL.Query())
	if err != nil {
		return ref, 0, tocsin.Errorf(tocsin.EInvalid, "lecture invalide")
	}
	return ref, play, nil
}

// voiceTwiML answers the TwiML of a call: the message and a gather for the
// key 1, played twice at most; or, when the official was informed
// meanwhile, a short goodbye.
func (s *Server) voiceTwiML(w http.ResponseWriter, r *http.Request, form url.Values) error {
	ref, play, err := s.voiceRequest(r)
	if err != nil {
		return err
	}
	return s.speak(w, r, ref, form.Get("CallSid"), play, s.cfg.Voice.Message)
}

// voiceGather applies the key pressed: 1 informs the official; another key
// plays the message again, once.
func (s *Server) voiceGather(w http.ResponseWriter, r *http.Request, form url.Values) error {
	ref, play, err := s.voiceRequest(r)
	if err != nil {
		return err
	}
	callSID := form.Get("CallSid")
	if callSID == "" {
		return tocsin.Errorf(tocsin.EInvalid, "CallSid requis")
	}
	ok, err := s.cfg.Inbound.KeyPress(r.Context(), ref, callSID, form.Get("Digits"))
	if err != nil {
		return err
	}
	if ok {
		return writeTwiML(w)(s.cfg.Voice.Confirmed())
	}
	return s.speak(w, r, ref, callSID, play, s.cfg.Voice.WrongKey)
}

// speak answers with the attempt's message rendered by say — or, when the
// official was informed meanwhile (an SMS reply during the call), that the
// alert is already confirmed.
func (s *Server) speak(w http.ResponseWriter, r *http.Request, ref activation.AttemptRef, callSID string, play int,
	say func(text, twimlURL, gatherURL string, play int) (string, error)) error {
	script, err := s.cfg.Inbound.Script(r.Context(), ref, callSID)
	if err != nil {
		return err
	}
	if script.AlreadyInformed {
		return writeTwiML(w)(s.cfg.Voice.AlreadyInformed())
	}
	twimlURL, gatherURL := s.voiceURLs(ref)
	return writeTwiML(w)(say(script.Message, twimlURL, gatherURL, play))
}

// voiceStatus applies a call status callback.
func (s *Server) voiceStatus(w http.ResponseWriter, r *http.Request, form url.Values) error {
	return s.recordStatus(w, r, form.Get("CallSid"), form.Get("CallStatus"), form.Get("ErrorCode"))
}

// writeTwiML returns what writes a rendered TwiML document, or passes on
// the rendering's error.
func writeTwiML(w http.ResponseWriter) func(doc string, err error) error {
	return func(doc string, err error) error {
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		io.WriteString(w, doc)
		return nil
	}
}
