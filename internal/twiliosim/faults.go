package twiliosim

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Resources a Fault can be limited to.
const (
	ResourceMessages = "Messages"
	ResourceCalls    = "Calls"
)

// Fault makes the next Count REST requests fail with Status.
type Fault struct {
	// Status is the HTTP status served: 429 (code 20429), 500 (20500) or
	// 503 (20503).
	Status int `json:"status"`
	// Count is how many requests get it; 0 means 1.
	Count int `json:"count,omitempty"`
	// Resource limits the fault to requests on ResourceMessages or
	// ResourceCalls; empty means any REST request.
	Resource string `json:"resource,omitempty"`
	// AfterCreate serves the fault to create requests only, once the
	// message or call has been created and recorded: it goes out and its
	// callbacks come, but the client sees a 500 or 503 and cannot know.
	AfterCreate bool `json:"after_create,omitempty"`
}

func (f Fault) validate() error {
	switch f.Status {
	case http.StatusTooManyRequests:
		if f.AfterCreate {
			return fmt.Errorf("fault: after_create needs status 500 or 503")
		}
	case http.StatusInternalServerError, http.StatusServiceUnavailable:
	default:
		return fmt.Errorf("fault: status %d is not 429, 500 or 503", f.Status)
	}
	if f.Count < 0 {
		return fmt.Errorf("fault: negative count")
	}
	if f.Resource != "" && f.Resource != ResourceMessages && f.Resource != ResourceCalls {
		return fmt.Errorf("fault: resource %q is not %s or %s", f.Resource, ResourceMessages, ResourceCalls)
	}
	return nil
}

func (f Fault) kind() string {
	k := strconv.Itoa(f.Status)
	if f.AfterCreate {
		k += "-after-create"
	}
	return k
}

// InjectFault queues f behind the faults already queued: each request is
// served by the first queued fault that applies to it.
func (s *Simulator) InjectFault(f Fault) error {
	if err := f.validate(); err != nil {
		return err
	}
	f.Count = max(f.Count, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
	return nil
}

// ClearFaults drops every queued fault.
func (s *Simulator) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Faults returns the queued faults, with the count each has left.
func (s *Simulator) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Fault{}, s.faults...)
}

// SetLatency delays every REST request by d before it is handled, on the
// wall clock whatever the Clock, to make clients time out; 0 removes it.
// A request whose client gave up is still handled: a message created that
// way went out though the client never learnt it.
func (s *Simulator) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = max(d, 0)
}

// Latency returns the delay added to every REST request.
func (s *Simulator) Latency() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latency
}

// takeFault consumes and returns the first queued fault that applies to a
// request on resource, if any. afterCreate selects the faults served after
// a successful create instead of those served before handling.
func (s *Simulator) takeFault(resource string, afterCreate bool) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.faults {
		f := &s.faults[i]
		if f.AfterCreate != afterCreate || (f.Resource != "" && f.Resource != resource) {
			continue
		}
		served := *f
		f.Count--
		if f.Count <= 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		s.stats.Faults[served.kind()]++
		return served, true
	}
	return Fault{}, false
}

// bucket is a token bucket holding up to one second's worth of requests,
// refilled at rate per second. A client that paces itself at rate never
// meets it, even with some jitter; a burst beyond one second's worth, or a
// sustained rate above, does.
type bucket struct {
	rate   float64 // per second; 0 is unlimited
	tokens float64
	last   time.Time
	primed bool
}

// take consumes one token at now, or reports false when there is none.
func (b *bucket) take(now time.Time) bool {
	if b.rate <= 0 {
		return true
	}
	if !b.primed {
		b.tokens, b.last, b.primed = b.rate, now, true
	}
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(b.rate, b.tokens+dt*b.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// LoseWebhooks makes the simulator drop every webhook it would post —
// status callbacks and replies — while on, as when no replica of Tocsin
// can be reached: the messages and calls stay in its records, as Twilio's
// do, for Tocsin to reconcile. TwiML fetches of calls are not affected.
func (s *Simulator) LoseWebhooks(on bool) {
	s.mu.Lock()
	s.lose = on
	s.mu.Unlock()
}

// SetRateLimits changes, from now on, how many messages and calls a second
// the account accepts (0: unlimited), as a provider whose limit changes
// under load: creates beyond get 429 with code 20429.
func (s *Simulator) SetRateLimits(messagesPerSecond, callsPerSecond float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgLimit.setRate(messagesPerSecond)
	s.callLimit.setRate(callsPerSecond)
}

// setRate changes the bucket's rate, keeping at most one second's worth of
// tokens at the new rate.
func (b *bucket) setRate(r float64) {
	b.rate = max(0, r)
	b.tokens = min(b.tokens, b.rate)
}
