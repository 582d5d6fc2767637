package tocsin

import (
	"fmt"
	"iter"
	"time"
)

// Rates are the provider account's limits that dispatch keeps to.
type Rates struct {
	SMSPerSecond   float64
	CallsPerSecond float64
	MaxCalls       int           // calls in progress at once
	CallDuration   time.Duration // how long a call holds a line on average; 0 means 60 s
	// Observed is set when a rate is what the provider allows, below the
	// configured one (Rates.Apply).
	Observed bool
}

// DefaultRates are a Twilio account's usual limits, the rates assumed when
// none are set: 10 SMS and 1 call a second, 5 calls in progress.
var DefaultRates = Rates{SMSPerSecond: 10, CallsPerSecond: 1, MaxCalls: 5}

// RungForecast is when a rung of the ladder can at best be done.
type RungForecast struct {
	Rung     int           `json:"rung"`
	Channel  Channel       `json:"channel"`
	After    time.Duration `json:"after"`
	Contacts int           `json:"contacts"` // messages or calls, if nobody had acknowledged before
	// Done is, from the activation, when the last of them can at best be
	// handed over at the configured rates.
	Done time.Duration `json:"done"`
}

// Forecast says, at activation, whether the ladder can reach everyone in
// time at the configured rates.
type Forecast struct {
	Rungs         []RungForecast `json:"rungs"`
	Deadline      time.Duration  `json:"deadline"`
	MeetsDeadline bool           `json:"meets_deadline"`
	// Warning explains, in French, why the deadline cannot be met.
	Warning string `json:"warning,omitempty"`
}

// ForecastLadder computes, for every rung due before the deadline, when
// its messages or calls can at best all be handed over, counting every
// recipient as not yet informed (the worst case). Rungs on one channel
// queue behind each other; SMS and calls run side by side.
func ForecastLadder(ladder []Rung, rs []Recipient, deadline time.Duration, rates Rates) Forecast {
	return ForecastLadderOf(ladder, func(yield func(*Recipient) bool) {
		for i := range rs {
			if !yield(&rs[i]) {
				return
			}
		}
	}, deadline, rates)
}

// ForecastLadderOf is ForecastLadder over recipients as a sequence, which
// it goes through once for each rung: an audience of 35,000 need not be
// made whole to be forecast.
func ForecastLadderOf(ladder []Rung, rs iter.Seq[*Recipient], deadline time.Duration, rates Rates) Forecast {
	f := Forecast{Deadline: deadline, MeetsDeadline: true}
	callDuration := rates.CallDuration
	if callDuration <= 0 {
		callDuration = 60 * time.Second
	}
	free := map[Channel]time.Duration{}
	for i, rung := range ladder {
		n := 0
		for r := range rs {
			n += len(rungNumbers(rung, r))
		}
		var took time.Duration
		switch rung.Channel {
		case SMS:
			took = perSecond(n, rates.SMSPerSecond)
		case Voice:
			took = perSecond(n, rates.CallsPerSecond)
			if rates.MaxCalls > 0 {
				took = max(took, time.Duration(float64(n)/float64(rates.MaxCalls)*float64(callDuration)))
			}
		}
		start := max(rung.After, free[rung.Channel])
		done := start + took
		free[rung.Channel] = done
		f.Rungs = append(f.Rungs, RungForecast{Rung: i, Channel: rung.Channel, After: rung.After, Contacts: n, Done: done})
		if rung.After < deadline && done > deadline && f.MeetsDeadline {
			f.MeetsDeadline = false
			which := "configurés"
			if rates.Observed {
				which = "réels, limités par l'opérateur"
			}
			f.Warning = fmt.Sprintf("aux débits %s (%.4g SMS/s, %.4g appel(s)/s, %d appels simultanés), le palier %d (%s, %d contacts) ne serait achevé qu'à T+%s, au-delà du délai de %s",
				which, rates.SMSPerSecond, rates.CallsPerSecond, rates.MaxCalls, i+1, rung.Channel, n, FormatDuration(done), FormatDuration(deadline))
		}
	}
	return f
}

func perSecond(n int, rate float64) time.Duration {
	if n == 0 {
		return 0
	}
	if rate <= 0 {
		return 1<<63 - 1
	}
	// The token bucket lets the first one go at once.
	return time.Duration(float64(n-1) / rate * float64(time.Second))
}

// FormatDuration writes a duration the French way: "1 h 05", "12 min", "45 s".
func FormatDuration(d time.Duration) string {
	switch {
	case d >= 1<<62:
		return "jamais"
	case d >= time.Hour:
		return fmt.Sprintf("%d h %02d", int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	default:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	}
}
