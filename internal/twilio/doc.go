// Package twilio is Tocsin's Twilio provider: it sends SMS and places voice
// calls through the twilio-go SDK, lists them back to settle attempts whose
// outcome is unknown, writes the TwiML a call says, and checks and parses
// the webhooks Twilio sends (status callbacks, incoming SMS, key presses).
//
// What a caller can rely on:
//
//   - Every failed send returns a *tocsin.SendError whose Outcome says
//     whether the message may have gone out. Unknown is returned whenever the
//     request may have reached Twilio (a 5xx, a timeout or a connection cut
//     after the request headers were written); such an attempt must be
//     reconciled with ListSMS (or ListCalls) before anything is sent
//     again. NotSentRetry is returned only when Twilio refused the request
//     or nothing was written. A rejected token is NotSentRetry with reason "auth": it is the
//     operator's to fix, not the official's number that is wrong.
//   - twilio-go always talks to https://api.twilio.com and takes no context.
//     Each call gets its own SDK client whose transport sends to the
//     configured API URL (scheme, host and path prefix, next pages
//     included), bounds the call by the caller's context and the configured
//     timeout, and reads the whole response before returning, so no
//     goroutine or connection outlives the call.
//   - The auth token never appears in a log line, an error or the printed
//     form of any value of this package.
//   - Webhook signatures are checked against the public URL from
//     configuration, never against the request's Host header.
//   - A call says the alert at most MaxPlays times, and only a key press
//     acknowledges it: a call answered by a voicemail ends completed like
//     one answered by a person.
//
// Files: provider.go (configuration and the SDK client), transport.go,
// classify.go (errors), sms.go (Messages API), calls.go (Calls API),
// listing.go (paging shared by both), twiml.go (what a call says),
// webhook.go.
package twilio
