// Package dispatch is the leader's engine: it hands every attempt the
// escalation ladder calls for to the provider, paced, and settles those
// whose outcome is unknown.
//
// Invariants:
//   - An attempt is written (status created, Tries incremented) before the
//     provider call, and its outcome after. A created attempt with Tries > 0
//     and no SID has an unknown outcome: it is settled by its status callback
//     or by listing the provider's messages to that number since the attempt;
//     only an attempt proven not sent is sent again.
//   - Notices (tocsin.Recipient.Notices: the confirmation of an
//     acknowledgement, how to confirm, the activation's follow-up
//     messages) are handed over the same way, after the ladder's attempts
//     and to informed recipients too; each has an id that says what it is
//     for, so it is recorded once, and it never informs nor counts as an
//     attempt. A follow-up message is recorded in a recipient only by
//     dispatch, just before its send, from the activation's Messages.
//   - One recipient is worked on by one goroutine at a time.
//   - Every write goes through the leader's fenced store: a deposed leader
//     stops at its next write.
//   - Sends wait on one token bucket, so the provider's rate is the only
//     limit and the provider never has to answer 429 in normal operation.
package dispatch
