package twiliosim

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Who picked up a call (Call.Answerer).
const (
	AnswererHuman     = "human"
	AnswererVoicemail = "voicemail"
)

// Who ended a call (Call.HungUpBy).
const (
	HungUpByTwiML     = "twiml"      // <Hangup/>, <Reject/> or the end of the document
	HungUpByCallee    = "callee"     // the persona's HangUpAfter
	HungUpByAPI       = "api"        // an update with Status=completed or canceled
	HungUpByError     = "error"      // the TwiML could not be fetched or read (see Call.Error)
	HungUpByTimeLimit = "time-limit" // the call's TimeLimit ran out
)

// Call is one outbound call as the simulator records it: what it was
// asked to do, how it went, and what the official heard and pressed.
type Call struct {
	SID        string `json:"sid"`
	AccountSID string `json:"account_sid"`
	Direction  string `json:"direction"`
	From       string `json:"from"`
	To         string `json:"to"`
	Status     string `json:"status"`
	// URL and Method are where the call's TwiML is fetched on answer;
	// TwiML, when given, is played instead.
	URL                  string   `json:"url,omitempty"`
	Method               string   `json:"method,omitempty"`
	TwiML                string   `json:"twiml,omitempty"`
	StatusCallback       string   `json:"status_callback,omitempty"`
	StatusCallbackMethod string   `json:"status_callback_method,omitempty"`
	StatusCallbackEvents []string `json:"status_callback_events,omitempty"`
	// MachineDetection is the create parameter: "", "Enable" or
	// "DetectMessageEnd".
	MachineDetection string      `json:"machine_detection,omitempty"`
	Timeout          int         `json:"timeout"`
	TimeLimit        int         `json:"time_limit"`
	Behaviour        Behaviour   `json:"behaviour"`
	Outcome          CallOutcome `json:"outcome"`
	// FaultServed is the HTTP status an injected after-create fault
	// answered the create request with, 0 when the client got its 201.
	FaultServed int `json:"fault_served,omitempty"`
	// Answerer is who picked up: AnswererHuman, AnswererVoicemail, or ""
	// when nobody did. AnsweredBy is what Twilio reports to the
	// application, only when MachineDetection was asked for: "human",
	// "machine_start" or "machine_end_beep".
	Answerer   string `json:"answerer,omitempty"`
	AnsweredBy string `json:"answered_by,omitempty"`
	// Fetches are the TwiML documents the call played or tried to, in
	// order; inline TwiML counts as a fetch without URL.
	Fetches []Fetch `json:"fetches,omitempty"`
	// Said is every <Say> played to whoever picked up, in order, one
	// entry per repetition of a looping <Say>.
	Said []Speech `json:"said,omitempty"`
	// Digits is every key the official pressed, in order.
	Digits string `json:"digits,omitempty"`
	// HungUpBy tells who ended the call (HungUpByTwiML, …), empty when it
	// ended by itself (no-answer, busy, failed); ErrorCode and Error say
	// what went wrong with its TwiML: 11100
	// invalid URL, 11200 HTTP retrieval failure, 12100 document parse
	// failure, 12300 invalid Content-Type, or 0 with "fetch limit" when a
	// call asked for more than 20 documents.
	HungUpBy  string `json:"hung_up_by,omitempty"`
	ErrorCode int    `json:"error_code,omitempty"`
	Error     string `json:"error,omitempty"`
	// Duration is Twilio's CallDuration: whole seconds from pick-up to
	// the end, rounded up; 0 for a call nobody picked up.
	Duration int `json:"duration"`
	// QueueResult and QueueTime say how a caller left a queue (Twilio's
	// QueueResult, and whole seconds waited); BridgedWith is the other
	// call of a conversation through a queue.
	QueueResult string    `json:"queue_result,omitempty"`
	QueueTime   int       `json:"queue_time,omitempty"`
	BridgedWith string    `json:"bridged_with,omitempty"`
	DateCreated time.Time `json:"date_created"`
	DateUpdated time.Time `json:"date_updated"`
	StartTime   time.Time `json:"start_time,omitzero"`
	AnsweredAt  time.Time `json:"answered_at,omitzero"`
	EndTime     time.Time `json:"end_time,omitzero"`
	seq         int
	callbacks   int      // status callbacks sent, for SequenceNumber
	run         *callRun // the call's progress; nil in copies
}

// Speech is one <Say> played during a call.
type Speech struct {
	Text     string    `json:"text"`
	Language string    `json:"language,omitempty"`
	Voice    string    `json:"voice,omitempty"`
	At       time.Time `json:"at"`
	// Interrupted is set when the <Say> was cut short: by a key press
	// (barge-in), a hang-up, or an update of the call.
	Interrupted bool `json:"interrupted,omitempty"`
}

// Fetch is one TwiML document a call asked for.
type Fetch struct {
	// Reason is why: "answer" (the call's Url or Twiml), "gather" (a
	// <Gather>'s action), "redirect" (a <Redirect>) or "update" (the
	// call was updated with a Url or Twiml).
	Reason string `json:"reason"`
	Method string `json:"method,omitempty"`
	// URL is empty for inline TwiML.
	URL string `json:"url,omitempty"`
	// Digits are the keys sent to a <Gather>'s action.
	Digits string `json:"digits,omitempty"`
	// Status is the HTTP status answered, 0 for inline TwiML or when no
	// answer came.
	Status int `json:"status,omitempty"`
	// TwiML is the document received (its first 64 KiB).
	TwiML string    `json:"twiml,omitempty"`
	Error string    `json:"error,omitempty"`
	At    time.Time `json:"at"`
}

// Fetch reasons.
const (
	fetchAnswer   = "answer"
	fetchGather   = "gather"
	fetchRedirect = "redirect"
	fetchUpdate   = "update"
)

func (c *Call) clone() Call {
	out := *c
	out.StatusCallbackEvents = slices.Clone(c.StatusCallbackEvents)
	out.Fetches = slices.Clone(c.Fetches)
	out.Said = slices.Clone(c.Said)
	out.run = nil
	return out
}

// Ended reports whether the call has reached a final status.
func (c Call) Ended() bool { return callEnded(c.Status) }

// Heard reports whether a <Say> whose text contains text was played in
// full during the call (a <Say> cut short does not count).
func (c Call) Heard(text string) bool {
	for _, sp := range c.Said {
		if !sp.Interrupted && strings.Contains(sp.Text, text) {
			return true
		}
	}
	return false
}

// Transcript returns the texts said during the call, one a line, those
// cut short marked with "…", for test failure messages.
func (c Call) Transcript() string {
	var b strings.Builder
	for i, sp := range c.Said {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(sp.Text)
		if sp.Interrupted {
			b.WriteString(" …")
		}
	}
	return b.String()
}

// callEnded reports whether status is final.
func callEnded(status string) bool {
	switch status {
	case statusCompleted, statusBusy, statusNoAnswer, statusFailed, statusCanceled:
		return true
	}
	return false
}

// OnlyCallTo returns the one call placed to number, or an error that
// says how many there were, for tests that mean "exactly one call".
func (s *Simulator) OnlyCallTo(number string) (Call, error) {
	calls := s.CallsTo(number)
	if len(calls) != 1 {
		return Call{}, fmt.Errorf("%s got %d calls, want exactly one", number, len(calls))
	}
	return calls[0], nil
}
