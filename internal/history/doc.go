// Package history is Tocsin's interchange format for past activations and
// exercises: JSON Lines, one activation a line, documented in
// docs/history.md.
//
// Invariants:
//   - Parse accepts a line only when every field is valid; it reports
//     every error of the file, each naming its line, column and field,
//     and then returns no record. ParseChecked runs an importer's checks
//     on every record, partial ones included, so that format errors and
//     the importer's come in one report.
//   - A record has one canonical line (Encode): fields in a fixed order,
//     times in UTC. Parse(Encode(r)) gives r back, and Digest is the
//     SHA-256 of that line: the same activation written with other
//     offsets or field orders has the same digest.
//   - A record and a closed activation with its recipients convert into
//     one another without loss (Activation, FromActivation), so that
//     exporting what was imported gives the same lines.
package history
