package web

import "time"

// Observer is told what the server does, for metrics; its methods must
// not block. Config.Observer nil observes nothing.
type Observer interface {
	// Webhook reports a Twilio webhook of a kind (WebhookKind) answered
	// with a result, and how long it took.
	Webhook(kind string, result WebhookResult, took time.Duration)
	// Login reports a console login's result.
	Login(result LoginResult)
	// LiveDropped reports a websocket client the server disconnected:
	// "too_slow", "reload" (its history was compacted) or "session" (its
	// session ended).
	LiveDropped(reason string)
}

// WebhookResult is how a webhook was answered.
type WebhookResult string

// Webhook results.
const (
	WebhookOK           WebhookResult = "ok"            // recorded (2xx)
	WebhookBadSignature WebhookResult = "bad_signature" // unsigned or forged: 403, nothing changed
	WebhookInvalid      WebhookResult = "invalid"       // unreadable, or names nothing Tocsin knows: 400
	WebhookUnavailable  WebhookResult = "unavailable"   // the store could not record it in time: 503
	WebhookBusy         WebhookResult = "busy"          // too many webhooks in progress to take it in time: 503
	WebhookError        WebhookResult = "error"         // anything else: 500
)

// LoginResult is what became of a console login.
type LoginResult string

// Login results.
const (
	LoginSuccess LoginResult = "success"
	LoginFailure LoginResult = "failure" // wrong name or password
	// LoginLockout is a failure that locked the name (from that address)
	// or the address out.
	LoginLockout LoginResult = "lockout"
	// LoginLocked is a login refused, whatever the password, while locked out.
	LoginLocked LoginResult = "locked"
)

// The webhooks' kinds, as Observer.Webhook names them.
const (
	KindSMSStatus   = "sms_status"
	KindSMSInbound  = "sms_inbound"
	KindVoiceTwiML  = "voice_twiml"
	KindVoiceGather = "voice_gather"
	KindVoiceStatus = "voice_status"
)

// label names a close reason for metrics; "" for a normal close.
func (r closeReason) label() string {
	switch r {
	case closeTooSlow:
		return "too_slow"
	case closeReload:
		return "reload"
	case closeSession:
		return "session"
	}
	return ""
}

// nopObserver observes nothing.
type nopObserver struct{}

func (nopObserver) Webhook(string, WebhookResult, time.Duration) {}
func (nopObserver) Login(LoginResult)                            {}
func (nopObserver) LiveDropped(string)                           {}
