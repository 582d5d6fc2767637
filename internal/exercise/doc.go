// Package exercise keeps the exercise schedule and fires due exercises.
//
// Invariants:
//   - Specs are cron expressions in Europe/Paris; a spec whose runs fall
//     between 02:00 and 03:00 local time is refused, since the
//     daylight-saving changes skip or double that hour.
//   - Each run is keyed by its due instant in UTC and claimed by a create
//     that succeeds once, fenced by the leader key: whatever replica leads
//     and however often leadership changes, a run is acted on at most once.
//   - Runs are computed with Schedule.Next from the last recorded one (or
//     from when the schedule started to be kept), so that runs due while
//     no leader acted are found: past the grace delay they are recorded as
//     missed rather than launched late.
package exercise
