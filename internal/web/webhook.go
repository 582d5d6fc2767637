package web

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/prefecture76/tocsin/internal/activation"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// maxWebhook bounds a webhook body; Twilio's are a few hundred bytes.
const maxWebhook = 64 << 10

// DefaultWebhookTimeout bounds a webhook's handling. Twilio waits 15 s for
// an answer and does not retry: a webhook that cannot be recorded by then
// answers 503 well before, so that Twilio's fallback URL (another replica
// or site) gets its chance; what neither records, reconciliation with
// Twilio's records brings back (internal/reconcile).
const DefaultWebhookTimeout = 5 * time.Second

// DefaultWebhookConcurrency is how many status callbacks and incoming SMS
// a replica handles at once; the others wait for their turn, within their
// deadline. A call's webhooks do not wait.
const DefaultWebhookConcurrency = 256

// webhook verifies X-Twilio-Signature over the raw body before the handler
// sees the form: an unsigned or forged request gets 403 and changes nothing.
// The handler runs under the webhook deadline; store trouble answers 503.
// The observer is told the webhook's kind and result.
func (s *Server) webhook(kind string, h func(w http.ResponseWriter, r *http.Request, form url.Values) error) guarded {
	timeout := s.cfg.WebhookTimeout
	if timeout <= 0 {
		timeout = DefaultWebhookTimeout
	}
	// The kinds that come by the thousand in a large activation wait for
	// their turn; a call in progress, waiting for what to say, does not.
	var slots chan struct{}
	switch kind {
	case KindSMSStatus, KindSMSInbound, KindVoiceStatus:
		slots = s.webhookSlots
	}
	return guarded{guard: "webhook", h: func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		result := s.handleWebhook(w, r, timeout, slots, h)
		s.cfg.Observer.Webhook(kind, result, time.Since(start))
	}}
}

// handleWebhook answers a webhook and says how. With slots, it waits for
// one within its deadline before it is handled.
func (s *Server) handleWebhook(w http.ResponseWriter, r *http.Request, timeout time.Duration, slots chan struct{}, h func(w http.ResponseWriter, r *http.Request, form url.Values) error) WebhookResult {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhook))
	if err != nil {
		http.Error(w, "corps illisible", http.StatusBadRequest)
		return WebhookInvalid
	}
	sig := r.Header.Get("X-Twilio-Signature")
	if sig == "" || !s.cfg.ValidSignature(r.URL.RequestURI(), body, sig) {
		s.log.Warn("webhook refused: bad signature", "path", r.URL.Path, "remote", r.RemoteAddr)
		http.Error(w, "signature Twilio invalide", http.StatusForbidden)
		return WebhookBadSignature
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "formulaire invalide", http.StatusBadRequest)
		return WebhookInvalid
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	// A webhook waits for its turn within its deadline: past so many in
	// progress, more at once would only slow each of them at etcd until
	// they all miss Twilio's timeout.
	if slots != nil {
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
		case <-ctx.Done():
			s.log.Warn("webhook not recorded: too many in progress", "path", r.URL.Path, "sid", webhookSID(form), "in_progress", cap(slots))
			w.Header().Set("Retry-After", "5")
			http.Error(w, "trop de requêtes en cours, réessayez", http.StatusServiceUnavailable)
			return WebhookBusy
		}
	}
	err = h(w, r.WithContext(ctx), form)
	if err == nil {
		return WebhookOK
	}
	switch code := tocsin.ErrorCode(unavailableIfLate(err)); code {
	case tocsin.EInvalid, tocsin.ENotFound:
		// Twilio retries nothing on 4xx; say what was wrong for its debugger.
		s.log.Warn("webhook refused", "path", r.URL.Path, "err", err)
		http.Error(w, tocsin.ErrorMessage(err), http.StatusBadRequest)
		return WebhookInvalid
	case tocsin.EUnavailable:
		// Not recorded: Twilio's fallback URL may be tried, and
		// reconciliation with Twilio's records recovers it later.
		s.log.Warn("webhook not recorded: store unavailable", "path", r.URL.Path, "sid", webhookSID(form), "err", err)
		w.Header().Set("Retry-After", "5")
		http.Error(w, "stockage indisponible, réessayez", http.StatusServiceUnavailable)
		return WebhookUnavailable
	default:
		s.log.Error("webhook failed", "path", r.URL.Path, "err", err)
		http.Error(w, "erreur interne", http.StatusInternalServerError)
		return WebhookError
	}
}

// webhookSID names the message or call a webhook is about, for logs.
func webhookSID(form url.Values) string {
	if sid := form.Get("MessageSid"); sid != "" {
		return sid
	}
	return form.Get("CallSid")
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
	if err := s.cfg.Inbound.RecordStatus(r.Context(), ref, activation.StatusReport{SID: sid, Status: status, ErrorCode: code}); err != nil {
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
	outcome, err := s.cfg.Inbound.Reply(r.Context(), tocsin.Inbound{SID: form.Get("MessageSid"), From: from, Body: form.Get("Body")})
	if err != nil {
		return err
	}
	s.log.Info("sms reply", "outcome", string(outcome), "sid", form.Get("MessageSid"))
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`)
	return nil
}
