package prometheus

import (
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// NoReason is the reason label of an accepted send.
const NoReason = "none"

// Sent counts one message or call handed to the provider on a route: its
// result ("accepted", "rate_limited", "refused", "retry", "unknown"), the
// reason of a failure (tocsin.Reason's String; NoReason when accepted) and
// how long the provider took.
func (m *Metrics) Sent(channel tocsin.Channel, route, result, reason string, took time.Duration) {
	m.providerRequests.WithLabelValues(string(channel), route, result, reason).Inc()
	m.providerDuration.WithLabelValues(string(channel), route).Observe(took.Seconds())
}

// Settled counts a send of unknown outcome settled from the provider's
// records: found (it went out) or proven not sent.
func (m *Metrics) Settled(channel tocsin.Channel, route string, found bool) {
	outcome := "not_sent"
	if found {
		outcome = "sent"
	}
	m.settled.WithLabelValues(string(channel), route, outcome).Inc()
}

// Pace records a channel's effective rate, its ceiling and whether the
// provider holds it below the ceiling.
func (m *Metrics) Pace(channel tocsin.Channel, perSecond, ceiling float64, limited bool) {
	m.rate.WithLabelValues(string(channel)).Set(perSecond)
	m.rateCeiling.WithLabelValues(string(channel)).Set(ceiling)
	v := 0.0
	if limited {
		v = 1
	}
	m.rateLimited.WithLabelValues(string(channel)).Set(v)
}
