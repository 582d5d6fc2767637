package web

import "testing"

func TestWaitDurationIsSaidToTheSecond(t *testing.T) {
	for seconds, want := range map[int]string{0: "0 s", 45: "45 s", 84: "1 min 24 s", 600: "10 min 00 s", 3720: "1 h 02 min", -3: "0 s"} {
		if got := waitDuration(seconds); got != want {
			t.Errorf("waitDuration(%d) = %q, want %q", seconds, got, want)
		}
	}
}
