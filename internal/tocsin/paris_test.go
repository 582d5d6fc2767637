package tocsin

import (
	"testing"
	"time"
)

func TestParisTimeAcrossDaylightSaving(t *testing.T) {
	cases := []struct {
		utc  time.Time
		want string
	}{
		{time.Date(2026, 3, 29, 0, 59, 59, 0, time.UTC), "29/03/2026 01:59:59"}, // winter time, UTC+1
		{time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC), "29/03/2026 03:00:00"},   // summer time starts: 02:00 never happens
		{time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), "25/10/2026 02:30:00"}, // first 02:30, UTC+2
		{time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC), "25/10/2026 02:30:00"}, // second 02:30, UTC+1
		{time.Time{}, ""},
	}
	for _, c := range cases {
		if got := ParisTime(c.utc); got != c.want {
			t.Errorf("ParisTime(%s): got %q, want %q", c.utc, got, c.want)
		}
	}
}
