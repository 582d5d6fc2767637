package dispatch

import (
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Result is what became of one provider call, as metrics count it.
type Result string

// Results.
const (
	Accepted    Result = "accepted"     // the provider took it
	RateLimited Result = "rate_limited" // refused for now: slow down (429, queue overflow)
	Refused     Result = "refused"      // refused for good for this number (invalid, landline, STOP…)
	Retry       Result = "retry"        // refused for now for another reason (auth, 4xx): not sent
	Unknown     Result = "unknown"      // may have gone out: settled with the provider before any resend
)

// Observer is told what dispatch does, for metrics; its methods must not
// block. Config.Observer nil observes nothing.
type Observer interface {
	// Sent reports one provider call on a route ("primary", "secondary"):
	// its result, the reason of a failure (tocsin.ReasonUnknown when it
	// was accepted) and how long the provider took to answer.
	Sent(channel tocsin.Channel, route string, result Result, reason tocsin.Reason, took time.Duration)
	// Settled reports an attempt of unknown outcome settled with the
	// provider's records: found (it went out) or proven not sent.
	Settled(channel tocsin.Channel, route string, found bool)
	// Pace reports a channel's effective rate, per second, its ceiling
	// (the configured rate) and whether the provider is what holds it
	// below the ceiling.
	Pace(channel tocsin.Channel, perSecond, ceiling float64, limited bool)
}

// nopObserver observes nothing.
type nopObserver struct{}

func (nopObserver) Sent(tocsin.Channel, string, Result, tocsin.Reason, time.Duration) {}
func (nopObserver) Settled(tocsin.Channel, string, bool)                              {}
func (nopObserver) Pace(tocsin.Channel, float64, float64, bool)                       {}

// resultOf classifies a send's error.
func resultOf(se *tocsin.SendError) Result {
	switch {
	case se == nil:
		return Accepted
	case se.Reason == tocsin.ReasonRateLimited:
		return RateLimited
	case se.Outcome == tocsin.NotSentPermanent:
		return Refused
	case se.Outcome == tocsin.NotSentRetry:
		return Retry
	default:
		return Unknown
	}
}
