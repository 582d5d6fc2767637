package exercise

import (
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// DidNotHappen reports whether a run counts as missed: recorded missed or
// failed, or claimed and never launched (the leader went down in between).
func DidNotHappen(r tocsin.ExerciseRun) bool {
	switch r.Status {
	case tocsin.RunMissed, tocsin.RunFailed, tocsin.RunClaimed:
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
