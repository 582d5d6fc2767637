package app

import (
	"context"
	"slices"
	"time"

	"github.com/prefecture76/tocsin/internal/activation"
	"github.com/prefecture76/tocsin/internal/etcd"
	"github.com/prefecture76/tocsin/internal/exercise"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/web"
)

// ExerciseUser is the name scheduled exercises are launched under.
const ExerciseUser = exercise.User

// exerciseRetry is how soon the runner looks again after a failed look.
const exerciseRetry = time.Minute

// exerciseFirstLook is how long after taking the lead the runner first
// looks, on the app's clock: dispatch resumes the open activations first.
// It is well within exercise.DefaultGrace.
const exerciseFirstLook = time.Minute

// newExerciseRunner builds the runner from the configuration.
func (a *App) newExerciseRunner() (*exercise.Runner, error) {
	specs := a.cfg.ExerciseSchedule
	if len(specs) == 0 {
		specs = exercise.DefaultSpecs
	}
	s, err := exercise.Parse(specs)
	if err != nil {
		return nil, err
	}
	return &exercise.Runner{Schedule: s, Node: a.cfg.NodeID, Log: a.log.With("component", "exercise"), Launch: a.launchExercise,
		Playbook: a.cfg.ExercisePlaybook, Observe: a.metrics.ExerciseRun}, nil
}

// launchExercise launches the exercise playbook in exercise mode, or, when
// none is configured, leaves the run for the duty officer to launch. The
// runner records the outcome in the trail with the run.
func (a *App) launchExercise(ctx context.Context, due time.Time) (string, error) {
	if a.cfg.ExercisePlaybook == "" {
		return "", nil
	}
	dueParis := due.In(tocsin.Paris()).Format("02/01/2006 15:04")
	act, err := a.service.Create(ctx, tocsin.User{Name: ExerciseUser, Role: tocsin.RoleOfficer}, activation.Request{
		Playbook: a.cfg.ExercisePlaybook, Exercise: true, Note: "Exercice programmé du " + dueParis, ExerciseDue: &due,
	})
	if err != nil {
		return "", err
	}
	return act.ID, nil
}

// runExercises acts on due exercises while ctx lasts (this replica
// leads). Each look costs a few reads; between looks it sleeps on the
// app's clock until the next run is due, woken by one timer.
func (a *App) runExercises(ctx context.Context, st *etcd.Store) {
	wake := make(chan struct{}, 1)
	signal := func() {
		// The timer only signals: it never blocks the clock that fires it.
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	timer := a.cfg.Clock.AfterFunc(exerciseFirstLook, signal)
	defer func() { timer.Stop() }()
	select {
	case <-wake:
	case <-ctx.Done():
		return
	}
	for ctx.Err() == nil {
		now := a.cfg.Clock.Now()
		wait := exerciseRetry
		err := a.exercises.Tick(ctx, st, now)
		a.drainOnce(ctx) // the runs' entries show at once
		if err != nil {
			if exercise.IsNotLeader(err) || ctx.Err() != nil {
				return
			}
			a.log.Warn("exercise schedule", "err", err)
		} else if next := a.exercises.Schedule.Next(now, 1); len(next) == 1 {
			wait = next[0].Sub(now)
		} else {
			return // the schedule has no run left
		}
		timer = a.cfg.Clock.AfterFunc(wait, signal)
		select {
		case <-wake:
		case <-ctx.Done():
			return
		}
	}
}

// NextExercises returns the next n scheduled exercises, in UTC.
func (a *App) NextExercises(n int) []time.Time {
	return a.exercises.Schedule.Next(a.cfg.Clock.Now(), n)
}

// scheduledRuns returns the runs of the schedule, oldest first: those
// recorded (by the leader, or imported from the history as not held) and,
// when the schedule was given a start before Tocsin kept it, the runs due
// in between that nothing records (tocsin.RunUnrecorded).
func (a *App) scheduledRuns(ctx context.Context) ([]tocsin.ExerciseRun, error) {
	runs, err := a.store.ExerciseRuns(ctx)
	if err != nil {
		return nil, err
	}
	if a.cfg.ExerciseScheduleSince.IsZero() {
		return runs, nil
	}
	started, ok, err := a.store.ExerciseStarted(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		started = a.cfg.Clock.Now() // no leader kept it yet: every run so far
	}
	runs = append(runs, a.exercises.Schedule.Unrecorded(a.cfg.ExerciseScheduleSince, started, runs)...)
	slices.SortFunc(runs, func(x, y tocsin.ExerciseRun) int { return x.Due.Compare(y.Due) })
	return runs, nil
}

// notHeld returns the scheduled exercises that did not happen and that no
// exercise held another way fulfils, oldest first, for the indicators and
// the history export.
func (a *App) notHeld(ctx context.Context) ([]tocsin.ExerciseRun, error) {
	runs, err := a.scheduledRuns(ctx)
	if err != nil {
		return nil, err
	}
	acts, err := a.store.Activations(ctx)
	if err != nil {
		return nil, err
	}
	fulfilled := exercise.Fulfilled(acts)
	return slices.DeleteFunc(runs, func(r tocsin.ExerciseRun) bool {
		_, ok := fulfilled[r.Due.UTC()]
		return ok || !exercise.DidNotHappen(r)
	}), nil
}

// missedExercises returns the scheduled exercises in [from, to) that did
// not run, and that no exercise held another way (imported from the
// history) fulfils, for the indicators.
func (a *App) missedExercises(ctx context.Context, from, to time.Time) ([]time.Time, error) {
	runs, err := a.notHeld(ctx)
	if err != nil {
		return nil, err
	}
	return exercise.Missed(runs, from, to), nil
}

// exerciseCalendar returns the next scheduled exercises and the recorded
// runs, for the console.
func (a *App) exerciseCalendar(ctx context.Context) (web.ExerciseCalendar, error) {
	runs, err := a.scheduledRuns(ctx)
	if err != nil {
		return web.ExerciseCalendar{}, err
	}
	acts, err := a.store.Activations(ctx)
	if err != nil {
		return web.ExerciseCalendar{}, err
	}
	runs = exercise.MarkFulfilled(runs, exercise.Fulfilled(acts))
	var launched []time.Time
	for _, act := range acts {
		if act.Exercise {
			launched = append(launched, act.ActivatedAt)
		}
	}
	return web.ExerciseCalendar{Next: a.NextExercises(4), Runs: runs, Playbook: a.cfg.ExercisePlaybook,
		Awaiting: exercise.AwaitingLaunch(runs, launched)}, nil
}
