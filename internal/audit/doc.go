// Package audit keeps the append-only audit trail.
//
// Invariants:
//   - Entries are numbered 1, 2, 3… without gaps, in the order they were
//     appended, and each holds the hash of the one before.
//   - An entry's hash is SHA-256 over its canonical form: the JSON of its
//     fields in a fixed order, Hash left out.
//   - The store keeps a head (number and hash of the last entry) that
//     changes in the same transaction as the append, by compare-and-swap:
//     replicas appending at once retry, and no two entries share a number.
//     The head also reveals a deleted last entry.
//   - No change without its entry: a store write that records a change
//     puts the entry, unsealed, in an outbox in the same transaction, so
//     both commit or neither does. Drain moves outbox records into the
//     chain in commit order, a batch per transaction that compares the
//     head and every record it deletes: two replicas draining at once
//     never chain a record twice. Entries keep the time of their change.
//     The request path drains after its change (best effort); the leader
//     drains at takeover and every few seconds, so a record whose drain
//     failed is chained later, never lost.
//   - An action that changes nothing but the trail (an export) is
//     appended directly before it is carried out, and refused when the
//     append fails.
//   - Verify walks the chain page by page at one store revision, carrying
//     the previous hash across pages, so memory stays bounded; it names
//     the first entry that does not match: edited (hash), deleted (number
//     missing from the keys), reordered (a key holding another number),
//     re-hashed (the next entry's previous hash); and from etcd's own
//     record of the keys, an entry rewritten after its creation, or
//     deleted and created again, even with every hash recomputed. Then it checks the
//     store at that revision against the trail: every activation has its
//     creation's entry (or its import's), every informed recipient an
//     entry saying so; what is missing is named and fails verify, what
//     waits in the outbox or for the recipients' recorder is pending.
//     Memory: one set of official ids per activation.
//   - Checkpoints anchor the chain outside the store: a replica with a
//     signing key signs (Ed25519) the head's number and hash, with the
//     time and the key's id, into an append-only file of its own, synced
//     before it counts; exports carry one. Verify checks the entries the
//     checkpoints name against the hashes they signed, and that the trail
//     reaches the highest: a rewrite with every hash recomputed, or a cut
//     with the head moved back, is named; lines not signed by a known key
//     fail it. Memory: one record per distinct head checkpointed.
//   - Recipients' state changes (first delivery, failure, acknowledgement
//     by SMS or key press) are not appended by the replica that received
//     the webhook: Recipients, on the leader, reads them from the store's
//     history after a mark, and appends one entry per activation per
//     flush with the mark moved in the same transaction. None is lost when
//     a replica dies before a flush, none is recorded twice. Intermediate
//     delivery statuses stay in each activation's timeline only, written
//     atomically with the status change. See docs/audit.md.
package audit
