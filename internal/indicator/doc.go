// Package indicator computes the module 7 indicators of the Qual-e-pref
// label from activations and their recipients, month by month in
// Europe/Paris local time, exactly as the design defines them:
//
//   - a period is a calendar month in Paris time, so that a month starts
//     and ends at local midnight whatever the daylight-saving changes;
//   - real activations and exercises are counted apart;
//   - an official is informed at the first acknowledgement; an activation
//     with someone never informed has no finite delay and misses the target;
//   - "Sans objet" where there is nothing to measure.
//
// The package computes only: it reads nothing and imports only the domain.
package indicator
