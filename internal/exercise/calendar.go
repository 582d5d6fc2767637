package exercise

import (
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// DidNotHappen reports whether a run counts as missed: recorded missed or
// failed, claimed and never launched (the leader went down in between),
// imported as not held, or due before Tocsin kept the schedule with
// nothing to show it was held.
func DidNotHappen(r tocsin.ExerciseRun) bool {
	switch r.Status {
	case tocsin.RunMissed, tocsin.RunFailed, tocsin.RunClaimed, tocsin.RunNotHeld, tocsin.RunUnrecorded:
		return true
	}
	return false
}

// AwaitingLaunch returns the runs left to the duty officer ("notified")
// that no exercise launched at or after their due time answers yet, oldest
// first. launched holds when the exercise activations were launched.
func AwaitingLaunch(runs []tocsin.ExerciseRun, launched []time.Time) []tocsin.ExerciseRun {
	var out []tocsin.ExerciseRun
	for _, r := range runs {
		if r.Status != tocsin.RunNotified {
			continue
		}
		answered := false
		for _, t := range launched {
			if !t.Before(r.Due) {
				answered = true
				break
			}
		}
		if !answered {
			out = append(out, r)
		}
	}
	return out
}

// Unrecorded returns, as tocsin.RunUnrecorded, the runs the schedule held
// from since to until, both included, that runs does not record: those
// due after the start the schedule was given (the first exercises of the
// year, say) and before Tocsin kept it (until, its first start). Oldest
// first; none when since is zero or not before until.
func (s *Schedule) Unrecorded(since, until time.Time, runs []tocsin.ExerciseRun) []tocsin.ExerciseRun {
	if since.IsZero() || !since.Before(until) {
		return nil
	}
	recorded := make(map[time.Time]bool, len(runs))
	for _, r := range runs {
		recorded[r.Due.UTC()] = true
	}
	var out []tocsin.ExerciseRun
	for t := s.next(since.Add(-time.Nanosecond)); !t.IsZero() && !t.After(until) && len(out) < maxUnrecorded; t = s.next(t) {
		if !recorded[t] {
			out = append(out, tocsin.ExerciseRun{Due: t, Status: tocsin.RunUnrecorded})
		}
	}
	return out
}

// maxUnrecorded bounds the runs Unrecorded finds: ten years of a weekly
// schedule.
const maxUnrecorded = 520
