// Package activation starts, reads and closes activations, and applies
// what Twilio's webhooks report: delivery statuses and replies. Any replica
// runs it; only the leader's dispatch sends.
//
// Invariants:
//   - Recipients are resolved from the directory and their messages
//     rendered when the activation is created, then frozen with it.
//   - An official is informed once, at the first acknowledgement; later
//     ones add to the timeline and change nothing else.
//   - A status callback never moves an attempt backwards, and is applied
//     only to the attempt its URL names and its SID matches.
package activation
