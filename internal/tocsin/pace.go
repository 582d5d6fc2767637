package tocsin

import (
	"fmt"
	"strings"
	"time"
)

// ChannelPace is the rate one channel sends at: the configured rate is a
// ceiling, and the provider's refusals (429) hold it lower.
type ChannelPace struct {
	PerSecond float64 `json:"per_second"`
	Ceiling   float64 `json:"ceiling"`
	// Limited is set while the provider holds the rate below the ceiling.
	Limited bool `json:"limited"`
}

// Pace is the leader's effective rates, as it last published them.
type Pace struct {
	SMS   *ChannelPace `json:"sms,omitempty"`
	Voice *ChannelPace `json:"voice,omitempty"`
	// Route is the provider route sends take: "primary" or "secondary".
	Route string    `json:"route,omitempty"`
	At    time.Time `json:"at"`
}

// PaceFreshFor is how long a published pace holds: past it (a leader that
// stopped publishing), the configured rates are assumed.
const PaceFreshFor = 30 * time.Second

// Fresh reports whether p was published recently enough to go by at now.
func (p *Pace) Fresh(now time.Time) bool {
	return p != nil && !p.At.IsZero() && now.Sub(p.At) < PaceFreshFor
}

// Limited reports whether a channel is held below its ceiling.
func (p *Pace) Limited() bool {
	return p != nil && ((p.SMS != nil && p.SMS.Limited) || (p.Voice != nil && p.Voice.Limited))
}

// Apply returns the rates dispatch actually achieves: r, lowered to the
// published rate of each channel the provider limits.
func (r Rates) Apply(p *Pace) Rates {
	if p == nil {
		return r
	}
	if p.SMS != nil && p.SMS.Limited && p.SMS.PerSecond < r.SMSPerSecond {
		r.SMSPerSecond, r.Observed = p.SMS.PerSecond, true
	}
	if p.Voice != nil && p.Voice.Limited && p.Voice.PerSecond < r.CallsPerSecond {
		r.CallsPerSecond, r.Observed = p.Voice.PerSecond, true
	}
	return r
}

// Notable reports whether the duty officer should know: a channel held
// below its rate, or sends by the secondary route.
func (p *Pace) Notable() bool {
	return p.Limited() || (p != nil && p.Route == SecondaryRoute)
}

// Describe says in French how fast each limited channel goes, and which
// route sends take when it is the secondary: « Débit réel : 19,6 SMS/s,
// limité par Twilio (réglé à 50) ». Empty when nothing is notable.
func (p *Pace) Describe() string {
	if !p.Notable() {
		return ""
	}
	var out []string
	if p.Route == SecondaryRoute {
		out = append(out, "Envois par la route de secours (la route principale a échoué ou a été écartée)")
	}
	if !p.Limited() {
		return out[0] + "."
	}
	var parts []string
	if c := p.SMS; c != nil && c.Limited {
		parts = append(parts, fmt.Sprintf("%s SMS/s, limité par Twilio (réglé à %s)", frenchNumber(c.PerSecond), frenchNumber(c.Ceiling)))
	}
	if c := p.Voice; c != nil && c.Limited {
		parts = append(parts, fmt.Sprintf("%s appel(s)/s, limité par Twilio (réglé à %s)", frenchNumber(c.PerSecond), frenchNumber(c.Ceiling)))
	}
	return strings.Join(append(out, "Débit réel : "+strings.Join(parts, " ; ")), ". ")
}

// frenchNumber writes a rate with one decimal, a decimal comma, and none
// when it is whole: 19,6 — 50.
func frenchNumber(v float64) string {
	s := fmt.Sprintf("%.1f", v)
	s = strings.TrimSuffix(s, ".0")
	return strings.Replace(s, ".", ",", 1)
}
