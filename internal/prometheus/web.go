package prometheus

import "time"

// Webhook counts a Twilio webhook of a kind (sms_status, sms_inbound, voice_twiml, voice_gather, voice_status, public_line) and its result
// ("ok", "bad_signature", "invalid", "unavailable", "error"), and how long
// it took to answer.
func (m *Metrics) Webhook(kind, result string, took time.Duration) {
	m.webhooks.WithLabelValues(kind, result).Inc()
	m.webhookDuration.WithLabelValues(kind).Observe(took.Seconds())
}

// PublicCall counts a call to the CIP's public line by outcome: as it
// arrives, "queued", "put_through", "overflow" or "closed"; once a call
// queued left the queue, "answered", "abandoned" or "unanswered".
func (m *Metrics) PublicCall(outcome string) {
	m.publicCalls.WithLabelValues(outcome).Inc()
}

// Login counts a console login by result: "success", "failure",
// "lockout" (a failure that locked a name or an address out), "locked"
// (refused while locked out).
func (m *Metrics) Login(result string) {
	m.logins.WithLabelValues(result).Inc()
}

// LiveDropped counts a websocket client the replica disconnected, by
// reason ("too_slow", "reload", "session").
func (m *Metrics) LiveDropped(reason string) {
	m.liveDrops.WithLabelValues(reason).Inc()
}
