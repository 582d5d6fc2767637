package web

import (
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/prefecture76/tocsin/internal/activation"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// VoiceTwiML renders what calls say.
type VoiceTwiML interface {
	// Message speaks text and gathers one key, posted to gather. With no
	// key pressed it redirects to again, or, when again is "", says that
	// the message was not confirmed and hangs up.
	Message(text, gather, again string) (string, error)
	// Confirmed thanks the official after the key press and hangs up.
	Confirmed() (string, error)
	// AlreadyInformed says the alert was already acknowledged and hangs up.
	AlreadyInformed() (string, error)
	// NotConfirmed says the message was not confirmed and hangs up.
	NotConfirmed() (string, error)
}

// maxPlays is how many times a call speaks the message: once, and once
// again when no key (or a wrong one) is pressed.
const maxPlays = 2

// attemptRef reads the attempt named in a webhook's URL.
func attemptRef(r *http.Request) (activation.AttemptRef, error) {
	q := r.URL.Query()
	ref := activation.AttemptRef{Activation: q.Get("a"), Official: q.Get("o"), Attempt: q.Get("t")}
	if ref.Activation == "" || ref.Official == "" || ref.Attempt == "" {
		return ref, tocsin.Errorf(tocsin.EInvalid, "URL sans référence de tentative")
	}
	return ref, nil
}

// voiceURL is a webhook path relative to the document Twilio fetched, so
// that it resolves against the public address Twilio used.
func voiceURL(path string, ref activation.AttemptRef, play int) string {
	q := url.Values{"a": {ref.Activation}, "o": {ref.Official}, "t": {ref.Attempt}, "n": {strconv.Itoa(play)}}
	return path + "?" + q.Encode()
}

func play(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("n"))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// voiceTwiML answers the TwiML of a call: the message, a gather for the
// key 1, and one more play when nothing is pressed.
func (s *Server) voiceTwiML(w http.ResponseWriter, r *http.Request, form url.Values) error {
	ref, err := attemptRef(r)
	if err != nil {
		return err
	}
	return s.speak(w, r, ref, form.Get("CallSid"), play(r))
}

func (s *Server) speak(w http.ResponseWriter, r *http.Request, ref activation.AttemptRef, callSID string, n int) error {
	script, err := s.cfg.Activations.Script(r.Context(), ref, callSID)
	if err != nil {
		return err
	}
	var doc string
	if script.AlreadyInformed {
		doc, err = s.cfg.Voice.AlreadyInformed()
	} else {
		again := ""
		if n < maxPlays {
			again = voiceURL("/twilio/voice/twiml", ref, n+1)
		}
		doc, err = s.cfg.Voice.Message(script.Message, voiceURL("/twilio/voice/gather", ref, n), again)
	}
	if err != nil {
		return err
	}
	writeTwiML(w, doc)
	return nil
}

// voiceGather applies the key pressed: 1 informs the official; another key
// plays the message again, once.
func (s *Server) voiceGather(w http.ResponseWriter, r *http.Request, form url.Values) error {
	ref, err := attemptRef(r)
	if err != nil {
		return err
	}
	callSID := form.Get("CallSid")
	if callSID == "" {
		return tocsin.Errorf(tocsin.EInvalid, "CallSid requis")
	}
	ok, err := s.cfg.Activations.KeyPress(r.Context(), ref, callSID, form.Get("Digits"))
	if err != nil {
		return err
	}
	if !ok {
		n := play(r)
		if n >= maxPlays {
			doc, err := s.cfg.Voice.NotConfirmed()
			if err != nil {
				return err
			}
			writeTwiML(w, doc)
			return nil
		}
		return s.speak(w, r, ref, callSID, n+1)
	}
	doc, err := s.cfg.Voice.Confirmed()
	if err != nil {
		return err
	}
	writeTwiML(w, doc)
	return nil
}

// voiceStatus applies a call status callback.
func (s *Server) voiceStatus(w http.ResponseWriter, r *http.Request, form url.Values) error {
	ref, err := attemptRef(r)
	if err != nil {
		return err
	}
	sid := form.Get("CallSid")
	status := tocsin.AttemptStatus(form.Get("CallStatus"))
	if sid == "" || status == "" {
		return tocsin.Errorf(tocsin.EInvalid, "CallSid et CallStatus requis")
	}
	if !tocsin.AttemptCreated.Advances(status) {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	code, _ := strconv.Atoi(form.Get("ErrorCode"))
	if err := s.cfg.Activations.RecordStatus(r.Context(), ref, sid, status, code); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func writeTwiML(w http.ResponseWriter, doc string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	io.WriteString(w, doc)
}
