// Package directory knows who Tocsin informs and where they are: the
// reference of Seine-Maritime's communes (embedded, see data/SOURCES.md),
// the reading of French phone numbers, the CSV format administrators
// import and export the officials in, and a fictional demo directory.
//
// Invariants:
//   - Every number that leaves this package is E.164 and classed mobile or
//     landline; special, short and premium numbers never get in. ARCEP's
//     fiction ranges are accepted by name, since the phone number metadata
//     wrongly refuses the mobile one.
//   - An import is all or nothing: ParseCSV returns either every official
//     of the file or none, with every error (line, column, message in
//     French) in one *tocsin.ListError.
//   - The demo directory uses fiction numbers only, so it can never wake a
//     real person.
package directory
