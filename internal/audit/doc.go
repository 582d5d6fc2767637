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
//   - Verify recomputes the chain and names the first entry that does not
//     match: edited (hash), deleted (gap), reordered (number out of place,
//     previous hash wrong).
package audit
