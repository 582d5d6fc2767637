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
//   - At most one duty officer holds an official to call by hand at a
//     time: the claim is written with the recipient's compare-and-swap,
//     lapses at its end, and is released only by its holder (calling.go).
//   - Calls by hand and rushes are kept with the recipient; like every
//     change, each is written with its timeline event and audit entry.
//   - A call to the public line is recorded once by its CallSid, and how
//     it left the queue once (compare-and-swap): a webhook told twice
//     counts once. An operator is called for the queue only after their
//     desk was claimed by compare-and-swap, and is free again when that
//     call's status callback, carrying the claim, says it ended (or after
//     tocsin.RingHold if they never picked up, tocsin.DeskHold if they
//     did) (public_queue.go).
package activation
