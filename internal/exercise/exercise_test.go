package exercise_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/exercise"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

func paris(y int, m time.Month, d, h int) time.Time {
	return time.Date(y, m, d, h, 0, 0, 0, tocsin.Paris())
}

func TestDefaultScheduleHoldsFourExercisesAYearAtParisTime(t *testing.T) {
	s, err := exercise.Parse(exercise.DefaultSpecs)
	if err != nil {
		t.Fatal(err)
	}
	runs := s.Between(paris(2026, 1, 1, 0), paris(2027, 1, 1, 0))
	if len(runs) != 4 {
		t.Fatalf("got %d runs in 2026, want 4: %v", len(runs), runs)
	}
	// 10:00 in Paris is 09:00 UTC in winter and 08:00 UTC in summer.
	want := []time.Time{paris(2026, 1, 10, 10), paris(2026, 4, 10, 10), paris(2026, 7, 10, 10), paris(2026, 10, 10, 10)}
	for i := range want {
		if !runs[i].Equal(want[i]) || runs[i].Location() != time.UTC {
			t.Errorf("run %d at %v, want %v in UTC", i, runs[i], want[i].UTC())
		}
	}
	if next := s.Next(paris(2026, 11, 28, 0), 2); len(next) != 2 || !next[0].Equal(paris(2027, 1, 10, 10)) {
		t.Errorf("next runs %v", next)
	}
}

func TestBadSpecsAreRefusedWithoutPanic(t *testing.T) {
	for _, spec := range []string{"30 2 * * 0", "CRON_TZ=Europe/Paris", "CRON_TZ=Europe/Paris 0 10 * * *", "", "pas un calendrier", "0 10 32 1 *"} {
		if _, err := exercise.Parse([]string{spec}); err == nil {
			t.Errorf("spec %q accepted", spec)
		}
	}
}

// runner counts its launches.
func runner(launches *atomic.Int32) *exercise.Runner {
	s, _ := exercise.Parse(exercise.DefaultSpecs)
	return &exercise.Runner{Schedule: s, Node: "test", Launch: func(ctx context.Context, due time.Time) (string, error) {
		launches.Add(1)
		return "act-" + due.Format("20060102"), nil
	}}
}

func TestDueExerciseFiresOnceWhenTheLeaderFailsOver(t *testing.T) {
	st := testingutil.MustStore(t)
	ctx := context.Background()
	var launches atomic.Int32
	r := runner(&launches)

	a, err := st.Campaign(ctx, "a", 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Tick(ctx, a.Store, paris(2026, 1, 1, 0)); err != nil {
		t.Fatal(err)
	}
	// At the due time, A fires and fails over at once; B, the new leader,
	// looks at the same moment: the run is recorded, B does nothing.
	due := paris(2026, 1, 10, 10)
	if err := r.Tick(ctx, a.Store, due.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	a.Resign(ctx)
	b, err := st.Campaign(ctx, "b", 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Tick(ctx, b.Store, due.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := launches.Load(); n != 1 {
		t.Fatalf("the January exercise was launched %d times, want once", n)
	}
	// The deposed leader wakes up at the next run: its claim is fenced off,
	// and the new leader launches it once.
	next := paris(2026, 4, 10, 10).Add(time.Second)
	if err := r.Tick(ctx, a.Store, next); !exercise.IsNotLeader(err) {
		t.Fatalf("deposed leader's tick: %v, want ErrNotLeader", err)
	}
	if err := r.Tick(ctx, b.Store, next); err != nil {
		t.Fatal(err)
	}
	if err := r.Tick(ctx, b.Store, next); err != nil {
		t.Fatal(err)
	}
	if n := launches.Load(); n != 2 {
		t.Fatalf("%d launches for two due exercises, want 2", n)
	}
	runs, _ := st.ExerciseRuns(ctx)
	if len(runs) != 2 || runs[0].Status != tocsin.RunLaunched || runs[0].Activation != "act-20260110" || runs[1].Status != tocsin.RunLaunched {
		t.Errorf("runs %+v", runs)
	}
}

func TestMissedExerciseIsReported(t *testing.T) {
	st := testingutil.MustStore(t)
	ctx := context.Background()
	var launches atomic.Int32
	r := runner(&launches)
	if err := r.Tick(ctx, st, paris(2026, 1, 1, 0)); err != nil {
		t.Fatal(err)
	}
	// No leader acted from 1 January to 20 April: both exercises due in
	// between are found and recorded missed, not launched late.
	if err := r.Tick(ctx, st, paris(2026, 4, 20, 0)); err != nil {
		t.Fatal(err)
	}
	if n := launches.Load(); n != 0 {
		t.Errorf("%d late launches, want none", n)
	}
	runs, _ := st.ExerciseRuns(ctx)
	missed := exercise.Missed(runs, paris(2026, 1, 1, 0), paris(2026, 5, 1, 0))
	if len(missed) != 2 || !missed[0].Equal(paris(2026, 1, 10, 10)) || !missed[1].Equal(paris(2026, 4, 10, 10)) {
		t.Fatalf("missed %v, want 10 January and 10 April", missed)
	}
	// The next one, on time, is launched.
	if err := r.Tick(ctx, st, paris(2026, 7, 10, 10).Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := launches.Load(); n != 1 {
		t.Errorf("%d launches, want the July exercise once", n)
	}
}

// A prefecture installs Tocsin in September, its schedule said to start on
// 1 January: the runs of January and July, which nothing records, did not
// happen as far as Tocsin knows; April's is recorded and stays as it is.
func TestRunsBeforeTocsinKeptTheScheduleAreUnrecorded(t *testing.T) {
	s, err := exercise.Parse(exercise.DefaultSpecs)
	if err != nil {
		t.Fatal(err)
	}
	april := tocsin.ExerciseRun{Due: paris(2026, 4, 10, 10).UTC(), Status: tocsin.RunNotHeld}
	for _, c := range []struct {
		name         string
		since, until time.Time
		want         []time.Time
	}{
		{"since 1 January", paris(2026, 1, 1, 0), paris(2026, 9, 15, 0), []time.Time{paris(2026, 1, 10, 10), paris(2026, 7, 10, 10)}},
		{"since the due instant itself", paris(2026, 1, 10, 10), paris(2026, 9, 15, 0), []time.Time{paris(2026, 1, 10, 10), paris(2026, 7, 10, 10)}},
		{"up to the due instant itself", paris(2026, 1, 1, 0), paris(2026, 7, 10, 10), []time.Time{paris(2026, 1, 10, 10), paris(2026, 7, 10, 10)}},
		{"no start given", time.Time{}, paris(2026, 9, 15, 0), nil},
		{"a start after Tocsin's", paris(2026, 10, 1, 0), paris(2026, 9, 15, 0), nil},
	} {
		got := s.Unrecorded(c.since, c.until, []tocsin.ExerciseRun{april})
		if len(got) != len(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
			continue
		}
		for i := range got {
			if !got[i].Due.Equal(c.want[i]) || got[i].Status != tocsin.RunUnrecorded || !exercise.DidNotHappen(got[i]) {
				t.Errorf("%s: run %d %+v, want %v unrecorded", c.name, i, got[i], c.want[i])
			}
		}
	}
}
