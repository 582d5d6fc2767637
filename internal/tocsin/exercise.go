package tocsin

import "time"

// ExerciseRun is one scheduled exercise: when it was due and what became
// of it. It is keyed by its due instant in UTC, so that a run is claimed
// once whatever replica leads and whatever the daylight-saving changes.
type ExerciseRun struct {
	Due       time.Time `json:"due"` // UTC
	Status    string    `json:"status"`
	ClaimedAt time.Time `json:"claimed_at"`
	By        string    `json:"by"` // the replica that claimed it
	// Activation is the exercise's activation, once launched.
	Activation string `json:"activation,omitempty"`
	Error      string `json:"error,omitempty"`

	// ID, Title, Note and Imported are those of a run imported from the
	// history (RunNotHeld): its record's id and text, and where it comes
	// from.
	ID       string  `json:"id,omitempty"`
	Title    string  `json:"title,omitempty"`
	Note     string  `json:"note,omitempty"`
	Imported *Import `json:"imported,omitempty"`
}

// Exercise run statuses.
const (
	RunClaimed  = "claimed"  // the leader took it and is launching it
	RunLaunched = "launched" // the exercise activation exists
	RunNotified = "notified" // the duty officer was told to launch it
	RunMissed   = "missed"   // its time passed with no leader to act
	RunFailed   = "failed"   // the launch failed; Error says why

	// RunNotHeld is a scheduled exercise that was not held, imported from
	// the history: held before Tocsin, or outside it.
	RunNotHeld = "not_held"

	// RunFulfilled is never stored: it is how a run that did not happen
	// reads once an exercise held another way (imported from the history)
	// fulfils it.
	RunFulfilled = "fulfilled"
	// RunUnrecorded is never stored: a run due after the schedule's
	// configured start but before Tocsin kept the schedule, that nothing
	// records. It did not happen, as far as Tocsin knows.
	RunUnrecorded = "unrecorded"
)
