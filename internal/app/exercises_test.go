package app_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/exercise"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

func parisAt(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, tocsin.Paris())
}

// runsUntil polls the recorded exercise runs, in real time, until cond holds.
func runsUntil(t *testing.T, a *app.App, what string, cond func([]tocsin.ExerciseRun) bool) []tocsin.ExerciseRun {
	t.Helper()
	return testingutil.Await(t, 10*time.Second, what, func() ([]tocsin.ExerciseRun, bool) {
		runs, err := a.Store().ExerciseRuns(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return runs, cond(runs)
	})
}

// exerciseActivations counts the stored exercise activations.
func exerciseActivations(t *testing.T, a *app.App) []tocsin.Activation {
	t.Helper()
	acts, err := a.Store().Activations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []tocsin.Activation
	for _, act := range acts {
		if act.Exercise {
			out = append(out, act)
		}
	}
	return out
}

func TestScheduledExerciseIsLaunchedOnceThenAMissedOneIsReported(t *testing.T) {
	t.Parallel()
	clock := twiliosim.NewManualClock(parisAt(2026, 1, 10, 9, 50))
	m := fictionMobile(40)
	profile := twiliosim.Profile{Numbers: map[string]twiliosim.Persona{
		m: {Behaviour: twiliosim.Reply, Delay: twiliosim.Fixed(30 * time.Second)},
	}, Delivery: twiliosim.Fixed(2 * time.Second)}
	cfg := app.Config{Clock: clock, SimulatorProfile: &profile, DataDir: t.TempDir(), PlaybooksDir: t.TempDir(),
		ExercisePlaybook: "test-tous"}
	writeFile(t, filepath.Join(cfg.PlaybooksDir, "test.yaml"), testPlaybook)

	t.Run("the leader launches the due exercise once", func(t *testing.T) {
		a := mustRunApp(t, cfg)
		if err := a.Store().ReplaceOfficials(t.Context(), []tocsin.Official{mayorOf("dieppe", mobile(m))}); err != nil {
			t.Fatal(err)
		}
		if next := a.NextExercises(2); len(next) != 2 || !next[0].Equal(parisAt(2026, 1, 10, 10, 0)) || !next[1].Equal(parisAt(2026, 4, 10, 10, 0)) {
			t.Fatalf("next exercises %v", next)
		}
		testingutil.Eventually(t, 10*time.Second, "a leader", a.IsLeader)
		for range 20 {
			clock.Advance(time.Minute)
			time.Sleep(10 * time.Millisecond)
		}
		runs := runsUntil(t, a, "the January exercise launched", func(runs []tocsin.ExerciseRun) bool {
			return len(runs) == 1 && runs[0].Status == tocsin.RunLaunched
		})
		if !runs[0].Due.Equal(parisAt(2026, 1, 10, 10, 0)) {
			t.Errorf("run due %v", runs[0].Due)
		}
		acts := exerciseActivations(t, a)
		if len(acts) != 1 || acts[0].ID != runs[0].Activation || acts[0].Playbook != "test-tous" || acts[0].CreatedBy != app.ExerciseUser ||
			acts[0].ExerciseDue == nil || !acts[0].ExerciseDue.Equal(runs[0].Due) {
			t.Fatalf("exercise activations %+v for run %+v", acts, runs[0])
		}
		for range 30 {
			clock.Advance(time.Minute)
			time.Sleep(2 * time.Millisecond)
		}
		if acts := exerciseActivations(t, a); len(acts) != 1 {
			t.Fatalf("%d exercise activations, want 1", len(acts))
		}
	})

	// No replica runs over the April exercise: the next leader reports it
	// missed and does not launch it late.
	clock.Advance(parisAt(2026, 4, 10, 12, 0).Sub(clock.Now()))
	t.Run("the next leader reports the missed one", func(t *testing.T) {
		a := mustRunApp(t, cfg)
		testingutil.Eventually(t, 10*time.Second, "a leader", a.IsLeader)
		// The new leader looks a minute after taking the lead.
		for range 3 {
			clock.Advance(time.Minute)
			time.Sleep(10 * time.Millisecond)
		}
		runs := runsUntil(t, a, "the April exercise recorded", func(runs []tocsin.ExerciseRun) bool { return len(runs) == 2 })
		if runs[1].Status != tocsin.RunMissed {
			t.Errorf("April run %+v, want missed", runs[1])
		}
		missed := exercise.Missed(runs, parisAt(2026, 1, 1, 0, 0), parisAt(2027, 1, 1, 0, 0))
		if len(missed) != 1 || !missed[0].Equal(parisAt(2026, 4, 10, 10, 0)) {
			t.Errorf("missed %v, want 10 April", missed)
		}
		if acts := exerciseActivations(t, a); len(acts) != 1 {
			t.Errorf("%d exercise activations, want the January one only", len(acts))
		}
		if next := a.NextExercises(1); len(next) != 1 || !next[0].Equal(parisAt(2026, 7, 10, 10, 0)) {
			t.Errorf("next exercise %v, want 10 July", next)
		}
	})
}
