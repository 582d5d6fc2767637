package tocsin

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func recipients(n int, withLandline bool) []Recipient {
	rs := make([]Recipient, n)
	for i := range rs {
		o := Official{ID: fmt.Sprint(i), Numbers: []Number{{E164: fmt.Sprintf("+3363998%04d", i), Kind: Mobile}}}
		if withLandline {
			o.Numbers = append(o.Numbers, Number{E164: fmt.Sprintf("+3326191%04d", i), Kind: Landline})
		}
		rs[i] = Recipient{Official: o, Deputies: []Contact{{ID: "d", Numbers: []Number{{E164: "+33639989999", Kind: Mobile}}}}}
	}
	return rs
}

func TestForecastMeetsTheHour(t *testing.T) {
	ladder := []Rung{
		{After: 0, Channel: SMS, Targets: []Target{TargetMobile}},
		{After: 10 * time.Minute, Channel: Voice, Targets: []Target{TargetMobile, TargetLandline}},
		{After: 20 * time.Minute, Channel: SMS, Targets: []Target{TargetDeputies}},
	}
	f := ForecastLadder(ladder, recipients(708, true), time.Hour, Rates{SMSPerSecond: 10, CallsPerSecond: 1, MaxCalls: 5, CallDuration: time.Minute})
	if got := f.Rungs[0]; got.Contacts != 708 || got.Done != time.Duration(707*float64(time.Second)/10) {
		t.Errorf("rung 1: %+v; want 708 SMS done at 70.7 s", got)
	}
	// 1416 calls, 5 lines of a minute each: 283 min, far past the hour.
	if got := f.Rungs[1]; got.Contacts != 1416 || got.Done < 4*time.Hour {
		t.Errorf("rung 2: %+v; want 1416 calls done after 4 h", got)
	}
	if f.MeetsDeadline || !strings.Contains(f.Warning, "palier 2") {
		t.Errorf("forecast %+v; want the deadline missed because of rung 2", f)
	}
	// With 100 lines the same ladder holds the hour.
	f = ForecastLadder(ladder, recipients(708, true), time.Hour, Rates{SMSPerSecond: 10, CallsPerSecond: 10, MaxCalls: 100, CallDuration: time.Minute})
	if !f.MeetsDeadline || f.Warning != "" {
		t.Errorf("with 100 lines: %+v; want the hour met", f)
	}
	if f.Rungs[2].Contacts != 708 || f.Rungs[2].Done < 20*time.Minute {
		t.Errorf("deputies rung: %+v; want 708 SMS after T+20", f.Rungs[2])
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		45 * time.Second: "45 s", 12 * time.Minute: "12 min", 65 * time.Minute: "1 h 05", 1<<63 - 1: "jamais",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%s): got %q, want %q", d, got, want)
		}
	}
}
