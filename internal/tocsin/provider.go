package tocsin

import (
	"fmt"
	"time"
)

// SendError is how a provider says why it did not take a message or call, so
// that dispatch knows what to do next without knowing the provider.
type SendError struct {
	// Outcome says whether the message may have gone out.
	Outcome SendOutcome
	// Code is the provider's error code (Twilio: 21211, 20429, …), 0 if none.
	Code int
	// Reason says why, for dispatch's decisions, logs and metrics.
	Reason Reason
	// RetryAfter is the provider's hint, 0 when it gave none.
	RetryAfter time.Duration
	Err        error
}

// SendOutcome classifies a failed send.
type SendOutcome int

const (
	// NotSentRetry: the provider refused for now (429, bad credentials,
	// 4xx that a configuration fix cures); nothing went out; try again later.
	NotSentRetry SendOutcome = iota
	// NotSentPermanent: the provider refused this number for good (invalid,
	// landline for SMS, unsubscribed); do not try it again on this channel.
	NotSentPermanent
	// Unknown: the request may have reached the provider (5xx, timeout, a
	// connection cut after the request was written). Reconcile with the
	// provider's records before sending again.
	Unknown
)

func (o SendOutcome) String() string {
	switch o {
	case NotSentRetry:
		return "not-sent-retry"
	case NotSentPermanent:
		return "not-sent-permanent"
	default:
		return "unknown"
	}
}

// Reason is why a provider did not take a message or call. Its String is
// the label logs and metrics carry.
type Reason int

// Reasons.
const (
	ReasonUnknown          Reason = iota // an error the provider did not explain
	ReasonRateLimited                    // 429, or a queue overflow: the provider asks to slow down
	ReasonInvalidNumber                  // the number does not exist or is malformed
	ReasonNotMobile                      // a landline, or a number that cannot receive SMS
	ReasonUnsubscribed                   // the recipient replied STOP
	ReasonCannotRoute                    // the provider cannot route to that number
	ReasonRegionNotEnabled               // the account may not reach that country
	ReasonCallBlocked                    // the account may not call that number
	ReasonAuth                           // credentials refused
	ReasonServerError                    // 5xx
	ReasonClientError                    // another 4xx
	ReasonBadResponse                    // an answer that could not be read
	ReasonTimeout                        // no answer in time
	ReasonNetwork                        // the connection failed
	ReasonCanceled                       // the caller gave up
	ReasonNoCallerID                     // no number to call from
)

var reasonNames = [...]string{
	ReasonUnknown:          "error",
	ReasonRateLimited:      "rate_limited",
	ReasonInvalidNumber:    "invalid_number",
	ReasonNotMobile:        "not_mobile",
	ReasonUnsubscribed:     "unsubscribed",
	ReasonCannotRoute:      "cannot_route",
	ReasonRegionNotEnabled: "region_not_enabled",
	ReasonCallBlocked:      "call_blocked",
	ReasonAuth:             "auth",
	ReasonServerError:      "server_error",
	ReasonClientError:      "client_error",
	ReasonBadResponse:      "bad_response",
	ReasonTimeout:          "timeout",
	ReasonNetwork:          "network",
	ReasonCanceled:         "canceled",
	ReasonNoCallerID:       "no_caller_id",
}

// String returns the reason's label: "rate_limited", "invalid_number"…
func (r Reason) String() string {
	if r < 0 || int(r) >= len(reasonNames) {
		return "error"
	}
	return reasonNames[r]
}

// Reasons returns every reason, for metrics that list them all.
func Reasons() []Reason {
	out := make([]Reason, len(reasonNames))
	for i := range out {
		out[i] = Reason(i)
	}
	return out
}

func (e *SendError) Error() string {
	return fmt.Sprintf("send %s (%s, code %d): %v", e.Outcome, e.Reason, e.Code, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// ProviderMessage is a message or a call as the provider's records show it,
// used to settle an attempt whose outcome is unknown or whose status
// callbacks were lost. A call has no Body.
type ProviderMessage struct {
	SID       string
	To        string
	Body      string
	Status    AttemptStatus
	CreatedAt time.Time
	// ErrorCode is the provider's delivery error (30003, 30005…), 0 if none.
	ErrorCode int
}

// Inbound is an SMS an official sent to Tocsin's number: from its webhook,
// or found in the provider's records when the webhook was lost.
type Inbound struct {
	// SID is the provider's id of the message (MessageSid); a reply with
	// the same SID is applied once.
	SID  string
	From string
	Body string
	// At is when the provider received it; zero means now.
	At time.Time
	// Recovered is set when it was found in the provider's records rather
	// than received by its webhook.
	Recovered bool
}
