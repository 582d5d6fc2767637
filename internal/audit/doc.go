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
//   - Verify walks the chain page by page at one store revision, carrying
//     the previous hash across pages, so memory stays bounded; it names
//     the first entry that does not match: edited (hash), deleted (number
//     missing from the keys), reordered (a key holding another number),
//     re-hashed (the next entry's previous hash).
//   - Recipients' state changes (first delivery, failure, acknowledgement
//     by SMS or key press) are not appended by the replica that received
//     the webhook: Recipients, on the leader, reads them from the store's
//     history after a mark, and appends one entry per activation per
//     flush with the mark moved in the same transaction. None is lost when
//     a replica dies before a flush, none is recorded twice. Intermediate
//     delivery statuses stay in each activation's timeline only, written
//     atomically with the status change. See docs/audit.md.
package audit
