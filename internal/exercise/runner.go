package exercise

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Store keeps the runs. On the leader it is fenced: a deposed leader's
// claim fails with tocsin.ErrNotLeader.
type Store interface {
	ExerciseSince(ctx context.Context, now time.Time) (time.Time, error)
	ExerciseRuns(ctx context.Context) ([]tocsin.ExerciseRun, error)
	// ClaimExerciseRun and UpdateExerciseRun write audit in the same
	// transaction as the run.
	ClaimExerciseRun(ctx context.Context, run tocsin.ExerciseRun, audit ...tocsin.AuditEntry) (bool, error)
	UpdateExerciseRun(ctx context.Context, run tocsin.ExerciseRun, audit ...tocsin.AuditEntry) error
}

// LaunchFunc acts on a due exercise: it launches the exercise playbook and
// returns the activation's id, or tells the duty officer and returns "".
type LaunchFunc func(ctx context.Context, due time.Time) (activation string, err error)

// DefaultGrace is how late a run may still be launched.
const DefaultGrace = 15 * time.Minute

// Runner fires due exercises; only the leader runs it.
type Runner struct {
	Schedule *Schedule
	Launch   LaunchFunc
	Node     string
	// Playbook is the playbook Launch launches, named in the trail; empty
	// when runs are left to the duty officer.
	Playbook string
	// Grace: a run found later than this after its due time is recorded
	// missed. 0 means DefaultGrace.
	Grace time.Duration
	Log   *slog.Logger
	// Observe is told what became of each run this runner acted on
	// (tocsin.RunLaunched, RunNotified, RunFailed, RunMissed), for
	// metrics; nil: nobody is.
	Observe func(status string)
}

// Tick acts on every run due up to now that no replica has recorded yet.
// It returns tocsin.ErrNotLeader once this replica no longer leads.
func (r *Runner) Tick(ctx context.Context, st Store, now time.Time) error {
	grace := r.Grace
	if grace <= 0 {
		grace = DefaultGrace
	}
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	since, err := st.ExerciseSince(ctx, now)
	if err != nil {
		return err
	}
	runs, err := st.ExerciseRuns(ctx)
	if err != nil {
		return err
	}
	// Runs imported from the history say nothing of how far this
	// schedule was kept.
	last := since
	for _, run := range runs {
		if run.Imported == nil && run.Due.After(last) {
			last = run.Due
		}
	}
	for _, due := range r.Schedule.Between(last, now) {
		run := tocsin.ExerciseRun{Due: due, Status: tocsin.RunClaimed, ClaimedAt: now.UTC(), By: r.Node}
		late := now.Sub(due) > grace
		if late {
			run.Status = tocsin.RunMissed
		}
		var entries []tocsin.AuditEntry
		if late {
			entries = append(entries, r.entry(run, now))
		}
		won, err := st.ClaimExerciseRun(ctx, run, entries...)
		if err != nil {
			return err
		}
		if !won || late {
			if late && won {
				log.Warn("exercise missed", "due", due)
				r.observe(run.Status)
			}
			continue
		}
		id, err := r.Launch(ctx, due)
		switch {
		case err != nil:
			run.Status, run.Error = tocsin.RunFailed, tocsin.ErrorMessage(err)
			log.Error("exercise launch failed", "due", due, "err", err)
		case id == "":
			run.Status = tocsin.RunNotified
		default:
			run.Status, run.Activation = tocsin.RunLaunched, id
		}
		r.observe(run.Status)
		if err := st.UpdateExerciseRun(ctx, run, r.entry(run, now)); err != nil {
			return fmt.Errorf("record exercise run: %w", err)
		}
	}
	return nil
}

func (r *Runner) observe(status string) {
	if r.Observe != nil {
		r.Observe(status)
	}
}

// Missed returns the due times of runs in [from, to) that did not happen
// (see DidNotHappen).
func Missed(runs []tocsin.ExerciseRun, from, to time.Time) []time.Time {
	var out []time.Time
	for _, r := range runs {
		if !r.Due.Before(from) && r.Due.Before(to) && DidNotHappen(r) {
			out = append(out, r.Due)
		}
	}
	return out
}

// IsNotLeader reports whether err means this replica no longer leads.
func IsNotLeader(err error) bool { return errors.Is(err, tocsin.ErrNotLeader) }
