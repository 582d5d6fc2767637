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
// Messages/{Sid}.json, Calls.json (POST, GET), Calls/{Sid}.json (GET, and
// POST to update), and the account itself ({AccountSid}.json, without its
// auth token). Bodies, errors ({"code","message","more_info","status"}),
// dates (RFC 1123, UTC), statuses, SIDs and paging (next_page_uri with a
// PageToken) are Twilio's. Lists are newest first; the DateSent,
// StartTime and EndTime filters are day-granular in UTC (an RFC 3339 value
// counts for its UTC day) and never match a record without the date, such
// as a queued message.
//
// # Virtual officials
//
// A Profile gives each number a Persona: exact Numbers, then the longest
// matching Prefixes, then a share of the Mix picked from a hash of the
// number, then Default. A Persona replies (OK, the code found in the
// message after "code", or a text), stays silent, is an invalid number
// (21211), a landline (21614 for SMS), unsubscribed (21610) or suffers a
// carrier failure (undelivered or failed with 3000x); and its calls (call)
// ring out (no-answer, the default), are busy, fail (the default of an
// invalid number), are answered (answer, the default of a landline) or
// reach a voicemail. Delays are ranges, each number getting its own fixed
// point in them, multiplied by DelayScale. A profile file is YAML or
// JSON:
//
//	delay_scale: 0.1          # every delay ten times shorter
//	delivery: {min: 1s, max: 5s}   # create → delivered (sent half way)
//	dial: 2s                  # call: queued → initiated → ringing, each
//	numbers:
//	  "+33639980001": {behaviour: reply, reply: code, delay: 30s}
//	  "+33639980002": {behaviour: carrier-failure, error_code: 30005}
//	  "+33639980003": {behaviour: silent, call: busy}
//	  "+33639980004": {behaviour: silent, call: answer, answer_after: {min: 5s, max: 20s}}
//	  "+33639980005": {call: answer, press: "2", press_after: 3s}
//	  "+33639980006": {call: answer, press: none, hang_up_after: 4s}
//	  "+33639980007": {call: voicemail, answer_after: 25s}
//	prefixes:
//	  "+331": {behaviour: landline}
//	mix:
//	  - {weight: 90, behaviour: reply, delay: {min: 20s, max: 4m}}
//	  - {weight: 10, behaviour: silent}
//	default: {behaviour: silent}
//
// Unknown fields are errors, and so are call fields that cannot apply
// (press on a number whose calls ring out).
//
// # Calls
//
// A call goes queued → initiated → ringing (Dial each), then:
//   - no-answer after the call's Timeout (60 s by default), also when the
//     persona's answer_after is not shorter than the Timeout;
//   - busy after Dial; an invalid number's call goes initiated → failed;
//   - in-progress when the official or the voicemail picks up, after
//     answer_after. With MachineDetection, Twilio's detection takes 2.5 s
//     (human), 4 s (machine_start) or 12 s (DetectMessageEnd:
//     machine_end_beep) before the TwiML is fetched with AnsweredBy.
//
// The call's Twiml, when given, is played; otherwise its Url is fetched
// with its Method (POST by default), signed like every webhook, with the
// fields of Twilio's voice request (CallSid, AccountSid, From, To, Called,
// Caller, CallStatus in-progress, Direction outbound-api, ApiVersion,
// AnsweredBy with detection). The answer must be 2xx (else error 11200)
// and XML or HTML (12300; plain text is read aloud); a document that is
// not TwiML (malformed, no <Response>, over 64 KiB) is error 12100. An
// error hangs up, and is recorded on the call.
//
// The player follows the verbs: <Say> takes the reading time of its text
// (15 characters a second, times DelayScale, times loop); <Pause length>
// (1 s by default); <Gather> plays its nested <Say> and <Pause>, then
// waits timeout seconds (5) for keys; its keys (numDigits reached,
// finishOnKey "#" pressed, or the timeout after the last key) are sent
// with Digits and FinishedOnKey to its action (default: the document's
// URL) with its method (POST), relative URLs resolved against the
// document's URL, and the answer replaces the document; with no key,
// the document goes on with the verb after the <Gather> (or, with
// actionOnEmptyResult="true", the action is requested without Digits).
// <Redirect> fetches its URL (method POST by default); <Hangup/>,
// <Reject/> and the end of the document hang up. Other verbs are skipped
// (logged at debug level). A call fetches at most 20 documents, so that a
// redirect loop ends; it lasts at most its TimeLimit (4 h by default).
//
// An answering official presses Press ("1" by default) once: when ready —
// once they have heard the first <Say> in full, or press_after after
// picking up — into the <Gather> listening then, or the next one to
// start. A key stops the prompt being said, unless the <Gather> has
// bargeIn="false", in which case the official waits for its end. A
// voicemail listens and never presses. hang_up_after hangs up whoever
// picked up, in the middle of anything.
//
// POST Calls/{Sid}.json updates a call as Twilio does: Status=canceled
// ends a call not yet picked up (canceled) and leaves one in progress
// alone; Status=completed ends either (completed, or canceled if nobody
// picked up); Url (with Method) or Twiml replaces what a call in progress
// plays (21220 for a call not in progress). An ended call stays as it is.
//
// Each call records its fetches (with the keys sent and the document
// received), what was said (Call.Said, Heard, Transcript), the keys
// pressed, who picked up, who hung up, any TwiML error and the duration;
// see Call, OnlyCallTo and /sim/calls.
//
// # Inbound calls and queues
//
// Arrive places an inbound call to a voice line (Direction inbound): its
// URL is posted at once and its TwiML played like any call's; Arrivals
// places count of them, one every interval, each from a number of its own.
// <Enqueue>name</Enqueue> puts the caller in that queue (created on
// demand): its waitUrl is fetched with QueuePosition, QueueSid,
// QueueTime, AvgQueueTime and CurrentQueueSize, played, and fetched again
// each time it ends (these fetches do not count against the limit of 20);
// <Leave/> in it takes the caller out, to the Enqueue's action (or the
// rest of the document). A call that plays <Dial><Queue>name</Queue>
// takes the first caller of the queue, or waits for one until the Dial's
// timeout (then its action, if any, is told DialCallStatus no-answer, or
// the document goes on). Caller and agent talk for the profile's Talk
// (90 s by default), then the caller hangs up and the agent's document
// goes on after the <Dial>. A caller placed with a Patience hangs up that
// long after joining a queue if nobody took them. When a caller leaves a
// queue on the line (<Leave>), the Enqueue's action is fetched with
// QueueResult, QueueSid and QueueTime and its answer played; when they
// hung up (hangup) or their conversation ended (bridged), it is posted
// like a status callback. Each queue keeps its own record (Queue,
// /sim/queues/{name}): callers queued, waiting, bridged, abandoned, left,
// the longest wait and every place told; each caller's call its
// QueueResult, QueueTime and the call it was bridged with.
//
// CallIn, the older way, plays one caller through at once without moving
// the clock: a <Dial> of <Number> nouns rings them at the same time and
// the first persona to answer takes the call.
//
// # Webhooks
//
// Status callbacks and replies are posted asynchronously, form-encoded,
// signed with X-Twilio-Signature (see Signature) over the exact URL they
// are posted to, once each: a failure is logged and counted, never
// retried. Message callbacks report sent, then delivered or undelivered
// (or failed); call callbacks report the events the call asked for with
// StatusCallbackEvent (initiated, ringing, answered as CallStatus
// in-progress, completed with the final status), "completed" alone by
// default, with StatusCallbackMethod (POST, or GET with the fields in the
// query string, signed over the URL); the last one carries CallDuration,
// Duration (billed minutes) and SipResponseCode (200, 486 busy, 487
// no-answer or canceled, 404 failed), and AnsweredBy with detection. A
// Reply official's answer is recorded as an inbound message and posted to
// the SMS URL (Config.SMSURL, SetSMSURL) with the fields of Twilio's
// incoming-message webhook; with no SMS URL it is only recorded. Nobody
// answers an alphanumeric sender.
//
// # Limits and faults
//
// MessagesPerSecond, CallsPerSecond (token buckets holding one second's
// worth) and MaxConcurrentCalls (calls from create until they end,
// ringing or playing TwiML) answer 429 with code 20429 beyond them.
// InjectFault makes the next requests (all, or Messages or Calls only)
// answer 429, 500 or 503, or, with AfterCreate, create the message or call
// and still answer 500 or 503. SetLatency delays every REST request.
//
// # Control endpoints
//
// With the same Basic auth as the REST API:
//
//	GET    /sim/messages[?to=&from=&direction=inbound]  the record, oldest first
//	GET    /sim/calls[?to=]                              with fetches, said, digits
//	GET    /sim/calls/{sid}
//	GET    /sim/stats
//	GET    /sim/faults                                   faults still queued
//	POST   /sim/faults   {"status":500,"count":2,"resource":"Messages","after_create":true}
//	DELETE /sim/faults
//	GET    /sim/latency
//	PUT    /sim/latency  {"latency":"250ms"}
//	PUT    /sim/sms-url  {"url":"http://127.0.0.1:8080/twilio/sms/inbound"}
//	POST   /sim/calls-in {"url":"…/twilio/voice/public","to":"+33…","count":40,"every":"20s","patience":"2m"}
//	GET    /sim/queues/{name}
//
// # Time
//
// Every delay runs on Config.Clock: the wall clock by default (delays of a
// few milliseconds work), or a ManualClock that a test advances. With a
// ManualClock, Advance runs each step of a call in turn, TwiML fetches and
// callbacks included, before it returns; a status change made by an
// update is posted at the next Advance, even Advance(0). Close drops
// pending delays and waits for webhooks and fetches under way.
package twiliosim
