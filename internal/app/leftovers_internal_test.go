package app

import (
	"testing"
	"time"
)

// The collector is given the newest revision read at least the grace ago:
// none in the first minutes of a leadership, then the revisions in turn.
func TestRevisionsOlderThanTheGrace(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC)
	var r revisions
	r.add(100, t0)
	if got := r.before(t0.Add(9*time.Minute), 10*time.Minute); got != 0 {
		t.Errorf("9 min after takeover: revision %d; want none yet", got)
	}
	r.add(150, t0.Add(5*time.Minute))
	r.add(200, t0.Add(10*time.Minute))
	for _, c := range []struct {
		after time.Duration
		want  int64
	}{{10 * time.Minute, 100}, {14 * time.Minute, 100}, {15 * time.Minute, 150}, {20 * time.Minute, 200}, {40 * time.Minute, 200}} {
		if got := r.before(t0.Add(c.after), 10*time.Minute); got != c.want {
			t.Errorf("%s after takeover: revision %d; want %d", c.after, got, c.want)
		}
	}
}
