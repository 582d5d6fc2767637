package exercise

import (
	"slices"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// A scheduled run that did not happen is fulfilled by an exercise that
// names its due instant (tocsin.Activation.ExerciseDue): one launched by
// the schedule, or one held another way and imported from the history.

// Fulfilled returns the due instants the exercise activations fulfil.
func Fulfilled(acts []tocsin.Activation) map[time.Time]string {
	out := map[time.Time]string{}
	for _, a := range acts {
		if a.Exercise && a.ExerciseDue != nil {
			out[a.ExerciseDue.UTC()] = a.ID
		}
	}
	return out
}

// Unfulfilled returns the missed due instants no exercise fulfils.
func Unfulfilled(missed []time.Time, fulfilled map[time.Time]string) []time.Time {
	return slices.DeleteFunc(slices.Clone(missed), func(t time.Time) bool {
		_, ok := fulfilled[t.UTC()]
		return ok
	})
}

// MarkFulfilled returns runs with those that did not happen but are
// fulfilled shown as tocsin.RunFulfilled, with the fulfilling exercise.
func MarkFulfilled(runs []tocsin.ExerciseRun, fulfilled map[time.Time]string) []tocsin.ExerciseRun {
	out := slices.Clone(runs)
	for i := range out {
		switch out[i].Status {
		case tocsin.RunMissed, tocsin.RunFailed, tocsin.RunClaimed, tocsin.RunUnrecorded:
			if id, ok := fulfilled[out[i].Due.UTC()]; ok {
				out[i].Status, out[i].Activation, out[i].Error = tocsin.RunFulfilled, id, ""
			}
		}
	}
	return out
}
