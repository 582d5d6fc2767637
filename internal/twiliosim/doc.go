// Package twiliosim simulates the part of Twilio that Tocsin uses, closely
// enough that a twilio-go client pointed at it (through a RoundTripper that
// rewrites https://api.twilio.com) cannot tell the difference. It serves
// the demo, trainings, exercises that must not wake real people, and the
// tests.
//
// # REST
//
// Under /2010-04-01/Accounts/{AccountSid}/, with HTTP Basic auth (account
// SID, auth token; otherwise 401, code 20003; another account in the path
// gives 404, code 20404): Messages.json (POST create, GET list),
// Messages/{Sid}.json, Calls.json (POST, GET), Calls/{Sid}.json, and the
// account itself ({AccountSid}.json, without its auth token). Bodies,
// errors ({"code","message","more_info","status"}), dates (RFC 1123, UTC),
// statuses, SIDs and paging (next_page_uri with a PageToken) are Twilio's.
// Lists are newest first; the DateSent, StartTime and EndTime filters are
// day-granular in UTC (an RFC 3339 value counts for its UTC day) and never
// match a record without the date, such as a queued message.
//
// # Virtual officials
//
// A Profile gives each number a Persona: exact Numbers, then the longest
// matching Prefixes, then a share of the Mix picked from a hash of the
// number, then Default. A Persona replies (OK, the code found in the
// message after "code", or a text), stays silent, is an invalid number
// (21211), a landline (21614 for SMS), unsubscribed (21610) or suffers a
// carrier failure (undelivered or failed with 3000x). Delays are ranges,
// each number getting its own fixed point in them, multiplied by
// DelayScale. A profile file is YAML or JSON:
//
//	delay_scale: 0.1          # every delay ten times shorter
//	delivery: {min: 1s, max: 5s}   # create → delivered (sent half way)
//	dial: 2s                  # call: queued → initiated → ringing, each
//	numbers:
//	  "+33639980001": {behaviour: reply, reply: code, delay: 30s}
//	  "+33639980002": {behaviour: carrier-failure, error_code: 30005}
//	  "+33639980003": {behaviour: silent, call: busy}
//	prefixes:
//	  "+331": {behaviour: landline}
//	mix:
//	  - {weight: 90, behaviour: reply, delay: {min: 20s, max: 4m}}
//	  - {weight: 10, behaviour: silent}
//	default: {behaviour: silent}
//
// Unknown fields are errors. Calls are accepted and go queued → initiated
// → ringing → no-answer (after the call's Timeout, 60 s by default), or
// busy; an invalid number's call goes initiated → failed without ringing.
// Nobody answers yet: fetching TwiML and pressing keys are left for later;
// calls.go marks where they plug in.
//
// # Webhooks
//
// Status callbacks and replies are posted asynchronously, form-encoded,
// signed with X-Twilio-Signature (see Signature) over the exact URL they
// are posted to, once each: a failure is logged and counted, never
// retried. Message callbacks report sent, then delivered or undelivered
// (or failed); call callbacks report the events the call asked for with
// StatusCallbackEvent, "completed" alone by default. A Reply official's
// answer is recorded as an inbound message and posted to the SMS URL
// (Config.SMSURL, SetSMSURL) with the fields of Twilio's incoming-message
// webhook; with no SMS URL it is only recorded. Nobody answers an
// alphanumeric sender.
//
// # Limits and faults
//
// MessagesPerSecond, CallsPerSecond (token buckets holding one second's
// worth) and MaxConcurrentCalls answer 429 with code 20429 beyond them.
// InjectFault makes the next requests (all, or Messages or Calls only)
// answer 429, 500 or 503, or, with AfterCreate, create the message or call
// and still answer 500 or 503. SetLatency delays every REST request.
//
// # Control endpoints
//
// With the same Basic auth as the REST API:
//
//	GET    /sim/messages[?to=&from=&direction=inbound]  the record, oldest first
//	GET    /sim/calls[?to=]
//	GET    /sim/stats
//	GET    /sim/faults                                   faults still queued
//	POST   /sim/faults   {"status":500,"count":2,"resource":"Messages","after_create":true}
//	DELETE /sim/faults
//	GET    /sim/latency
//	PUT    /sim/latency  {"latency":"250ms"}
//	PUT    /sim/sms-url  {"url":"http://127.0.0.1:8080/webhooks/twilio/sms"}
//
// # Time
//
// Every delay runs on Config.Clock: the wall clock by default (delays of a
// few milliseconds work), or a ManualClock that a test advances. Close
// drops pending delays and waits for webhooks being posted.
package twiliosim
