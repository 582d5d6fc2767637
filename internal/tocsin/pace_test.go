package tocsin

import (
	"strings"
	"testing"
	"time"
)

func TestPaceSaysHowFastInFrenchAndLowersTheForecastRates(t *testing.T) {
	now := time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)
	p := &Pace{SMS: &ChannelPace{PerSecond: 19.62, Ceiling: 50, Limited: true}, Voice: &ChannelPace{PerSecond: 1, Ceiling: 1}, At: now}
	if got, want := p.Describe(), "Débit réel : 19,6 SMS/s, limité par Twilio (réglé à 50)"; got != want {
		t.Errorf("Describe() = %q, want %q", got, want)
	}
	r := Rates{SMSPerSecond: 50, CallsPerSecond: 1, MaxCalls: 5}.Apply(p)
	if r.SMSPerSecond != 19.62 || r.CallsPerSecond != 1 || r.MaxCalls != 5 || !r.Observed {
		t.Errorf("rates with the pace: %+v, want SMS at 19.62, the rest unchanged", r)
	}
	if !p.Fresh(now.Add(PaceFreshFor-time.Second)) || p.Fresh(now.Add(PaceFreshFor)) {
		t.Error("a pace holds for PaceFreshFor, no longer")
	}
	calm := &Pace{SMS: &ChannelPace{PerSecond: 50, Ceiling: 50}, At: now}
	if calm.Describe() != "" || calm.Limited() {
		t.Errorf("a pace at its ceiling: %q, want nothing to say", calm.Describe())
	}
	if (*Pace)(nil).Describe() != "" || (Rates{SMSPerSecond: 10}).Apply(nil).SMSPerSecond != 10 {
		t.Error("no pace: nothing to say, rates unchanged")
	}
}

// The forecast at the rates the provider allows says so, and may miss the
// hour where the configured rates would not.
func TestForecastAtObservedRatesSaysSo(t *testing.T) {
	rs := make([]Recipient, 3000)
	for i := range rs {
		rs[i].Official.Numbers = []Number{{E164: "+33639980001", Kind: Mobile}}
	}
	configured := Rates{SMSPerSecond: 50, CallsPerSecond: 1, MaxCalls: 5}
	if f := ForecastLadder(DefaultLadder, rs, time.Hour, configured); !f.MeetsDeadline {
		t.Fatalf("3,000 SMS at 50/s: %+v, want the hour met", f)
	}
	slow := configured.Apply(&Pace{SMS: &ChannelPace{PerSecond: 0.5, Ceiling: 50, Limited: true}})
	f := ForecastLadder(DefaultLadder, rs, time.Hour, slow)
	if f.MeetsDeadline || !strings.Contains(f.Warning, "débits réels, limités par l'opérateur (0.5 SMS/s") {
		t.Errorf("3,000 SMS at 0.5/s: %+v, want the hour missed, at the real rates", f)
	}
}

func TestPaceSaysWhenSendsGoByTheSecondaryRoute(t *testing.T) {
	p := &Pace{Route: SecondaryRoute, SMS: &ChannelPace{PerSecond: 10, Ceiling: 10}}
	if !p.Notable() || !strings.Contains(p.Describe(), "route de secours") || strings.Contains(p.Describe(), "Débit réel") {
		t.Errorf("secondary route, rates at their ceiling: %q", p.Describe())
	}
	p.SMS = &ChannelPace{PerSecond: 4, Ceiling: 10, Limited: true}
	if d := p.Describe(); !strings.Contains(d, "route de secours") || !strings.Contains(d, "Débit réel : 4 SMS/s") {
		t.Errorf("secondary route, limited: %q", d)
	}
}
