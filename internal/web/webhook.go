package web

import (
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// maxWebhook bounds a webhook body; Twilio's are a few hundred bytes.
const maxWebhook = 64 << 10

// webhook verifies X-Twilio-Signature over the raw body before the handler
// sees the form: an unsigned or forged request gets 403 and changes nothing.
func (s *Server) webhook(h func(w http.ResponseWriter, r *http.Request, form url.Values) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhook))
		if err != nil {
			http.Error(w, "corps illisible", http.StatusBadRequest)
			return
		}
		sig := r.Header.Get("X-Twilio-Signature")
		if sig == "" || !s.cfg.ValidSignature(r.URL.RequestURI(), body, sig) {
			s.log.Warn("webhook refused: bad signature", "path", r.URL.Path, "remote", r.RemoteAddr)
			http.Error(w, "signature Twilio invalide", http.StatusForbidden)
			return
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			http.Error(w, "formulaire invalide", http.StatusBadRequest)
			return
		}
		if err := h(w, r, form); err != nil {
			code := tocsin.ErrorCode(err)
			if code == tocsin.EInvalid || code == tocsin.ENotFound {
				// Twilio retries nothing on 4xx; say what was wrong for its debugger.
				s.log.Warn("webhook refused", "path", r.URL.Path, "err", err)
				http.Error(w, tocsin.ErrorMessage(err), http.StatusBadRequest)
				return
			}
			s.log.Error("webhook failed", "path", r.URL.Path, "err", err)
			http.Error(w, "erreur interne", http.StatusInternalServerError)
		}
	}
}

// smsStatus applies a message status callback.
func (s *Server) smsStatus(w http.ResponseWriter, r *http.Request, form url.Values) error {
	return s.recordStatus(w, r, form.Get("MessageSid"), form.Get("MessageStatus"), form.Get("ErrorCode"))
}

// recordStatus applies a message or call status callback to the attempt
// its URL names (dispatch gave that URL when sending).
func (s *Server) recordStatus(w http.ResponseWriter, r *http.Request, sid, statusText, errorCode string) error {
	ref, err := attemptRef(r)
	if err != nil {
		return err
	}
	status := tocsin.AttemptStatus(statusText)
	if sid == "" || status == "" {
		return tocsin.Errorf(tocsin.EInvalid, "identifiant et statut requis")
	}
	if !tocsin.AttemptCreated.Advances(status) {
		// accepted, scheduled, read…: nothing Tocsin tracks.
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	code, _ := strconv.Atoi(errorCode)
	if err := s.cfg.Activations.RecordStatus(r.Context(), ref, sid, status, code); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// smsInbound applies a reply. It answers empty TwiML: no reply is sent.
func (s *Server) smsInbound(w http.ResponseWriter, r *http.Request, form url.Values) error {
	from := form.Get("From")
	if from == "" {
		return tocsin.Errorf(tocsin.EInvalid, "From requis")
	}
	outcome, err := s.cfg.Activations.Reply(r.Context(), from, form.Get("Body"))
	if err != nil {
		return err
	}
	s.log.Info("sms reply", "outcome", string(outcome), "sid", form.Get("MessageSid"))
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`)
	return nil
}
