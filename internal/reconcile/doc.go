// Package reconcile brings back from the provider's records what Tocsin
// could not record when it happened: SMS replies whose webhook was lost
// (store unavailable, every replica down, Twilio's 15 s passed) and
// delivery or call statuses whose callbacks were lost. Twilio is the
// source of truth for what arrived.
//
// Invariants:
//   - Only the leader reconciles, while an activation is open: at
//     takeover, after the store comes back from an outage, and every
//     interval.
//   - A reply is applied once, whoever brings it (webhook or
//     reconciliation): recipients keep the ids (MessageSid) of the replies
//     applied to them, and applying checks them in the same
//     compare-and-swap. Its time is the provider's (date_sent), not the
//     time it was recovered.
//   - A reply or status younger than the grace period is left to its
//     webhook, which may still be on its way.
//   - A status only moves an attempt forward (tocsin.AttemptStatus.Advances).
//   - A key press during a call exists only in its webhook: it cannot be
//     recovered, and the ladder goes on for that official.
package reconcile
