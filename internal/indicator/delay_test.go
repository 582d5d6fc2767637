package indicator_test

import (
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/indicator"
)

func TestDelaysNearTheTargetShowTheirSeconds(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{45 * time.Second, "45 s"},
		{12 * time.Minute, "12 min"},
		{57*time.Minute + 59*time.Second, "57 min"},
		{58 * time.Minute, "58 min 00 s"},
		{59*time.Minute + 59*time.Second + 900*time.Millisecond, "59 min 59 s"},
		{time.Hour, "1 h 00 min 00 s"},
		// Over the target by a fraction of a second: never « 1 h 00 min 00 s ».
		{time.Hour + time.Millisecond, "1 h 00 min 01 s"},
		{time.Hour + 59*time.Second, "1 h 00 min 59 s"},
		{time.Hour + 2*time.Minute, "1 h 02 min 00 s"},
		{time.Hour + 2*time.Minute + time.Second, "1 h 02"},
		{3*time.Hour + 4*time.Minute, "3 h 04"},
	} {
		if got := indicator.FormatDelay(c.d); got != c.want {
			t.Errorf("FormatDelay(%s) = %q, want %q", c.d, got, c.want)
		}
	}
}
