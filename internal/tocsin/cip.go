package tocsin

import (
	"slices"
	"time"
)

// Operator is one member of the CIP's roster: an agent of the préfecture
// or a volunteer who staffs the public information line. The roster is
// kept apart from the directory of officials: operators are not informed
// of an activation, they are called out to staff the line.
type Operator struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Numbers []Number `json:"numbers"` // at least one
	// Available is false for an operator on leave or off the rota: a
	// call-out of the CIP skips them.
	Available bool `json:"available"`
}

// MaxOperators bounds the CIP's roster: it is written in one store
// operation.
const MaxOperators = 500

// AuditCIPRoster records an import of the CIP's roster.
const AuditCIPRoster = "cip.roster"

// PlaybookCIP is what a playbook says of the CIP: how many operators in
// position make it activated, and the delay announced for it.
type PlaybookCIP struct {
	MinOperators   int           `json:"min_operators"`   // DefaultCIPMinOperators when the file gives none
	AnnouncedDelay time.Duration `json:"announced_delay"` // 0: the service's default (--cip-delay)
}

// DefaultCIPMinOperators is how many operators in position activate a CIP
// whose playbook says nothing.
const DefaultCIPMinOperators = 1

// OperatorState is where an operator of an open CIP stands.
type OperatorState string

const (
	OperatorCalled      OperatorState = "called"      // called out, no answer yet
	OperatorComing      OperatorState = "coming"      // « j'arrive »
	OperatorUnavailable OperatorState = "unavailable" // « indisponible »
	OperatorInPosition  OperatorState = "in_position" // « en poste »
)

// Valid reports whether s is one of the states.
func (s OperatorState) Valid() bool {
	switch s {
	case OperatorCalled, OperatorComing, OperatorUnavailable, OperatorInPosition:
		return true
	}
	return false
}

// Label is the state in French.
func (s OperatorState) Label() string {
	switch s {
	case OperatorCalled:
		return "appelé·e"
	case OperatorComing:
		return "arrive"
	case OperatorUnavailable:
		return "indisponible"
	case OperatorInPosition:
		return "en poste"
	}
	return string(s)
}

// CIPOperator is one operator of an open CIP: the roster's entry frozen
// when the CIP was opened, and where they stand.
type CIPOperator struct {
	Operator
	State OperatorState `json:"state"`
	// At is when the operator reached State; By who recorded it.
	At time.Time `json:"at"`
	By string    `json:"by,omitempty"`
}

// OperatorAnswer reads an operator's SMS answer to a call-out: « 1 » or
// « j'arrive » (coming), « 2 » or « indisponible » (unavailable), « en
// poste » (in position). ok is false for anything else.
func OperatorAnswer(body string) (state OperatorState, ok bool) {
	words := foldWords(body)
	has := func(w ...string) bool {
		return slices.ContainsFunc(words, func(x string) bool { return slices.Contains(w, x) })
	}
	switch {
	case has("poste"):
		return OperatorInPosition, true
	case has("2", "indisponible", "indispo", "empeche"):
		return OperatorUnavailable, true
	case has("1", "arrive", "jarrive", "viens", "ok", "oui"):
		return OperatorComing, true
	}
	return "", false
}

// CIPCell is the CIP of one activation as Tocsin runs it: opened by the
// duty officer with the available operators of the roster; activated (the
// activation's CIP stamped) when MinOperators of them are in position.
type CIPCell struct {
	Activation       string        `json:"activation"`
	OpenedAt         time.Time     `json:"opened_at"`
	OpenedBy         string        `json:"opened_by"`
	MinOperators     int           `json:"min_operators"`
	AnnouncedSeconds float64       `json:"announced_seconds"`
	Operators        []CIPOperator `json:"operators"`
	// CallOut is the id of the activation that calls the operators out.
	CallOut  string     `json:"call_out,omitempty"`
	ClosedAt *time.Time `json:"closed_at,omitempty"`
	ClosedBy string     `json:"closed_by,omitempty"`
}

// Operator returns the cell's operator with that id, or nil.
func (c *CIPCell) Operator(id string) *CIPOperator {
	for i := range c.Operators {
		if c.Operators[i].ID == id {
			return &c.Operators[i]
		}
	}
	return nil
}

// Count returns how many of the cell's operators are in state s.
func (c *CIPCell) Count(s OperatorState) int {
	n := 0
	for _, o := range c.Operators {
		if o.State == s {
			n++
		}
	}
	return n
}

// Staffed reports whether the cell is open with its minimum of operators
// in position.
func (c *CIPCell) Staffed() bool {
	return c.ClosedAt == nil && c.Count(OperatorInPosition) >= c.MinOperators
}

// Audit actions of the CIP.
const (
	AuditCIPOpened   = "cip.opened"
	AuditCIPOperator = "cip.operator"
	AuditCIPClosed   = "cip.closed"
)

// PublicMessage is one version of what the public line says after its
// greeting, written by the duty officer.
type PublicMessage struct {
	Version int       `json:"version"` // from 1
	Text    string    `json:"text"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
}

// MaxPublicMessage bounds the public message, in characters: about two
// minutes said.
const MaxPublicMessage = 1000

// AuditCIPMessage records a new version of the public message.
const AuditCIPMessage = "cip.message"

// PublicCall is one call to the public line while a CIP was open.
type PublicCall struct {
	SID string    `json:"sid"`
	At  time.Time `json:"at"`
	// PutThrough is set when the caller was sent to the operators in
	// position (rung at once, or queued for them); unset, the caller heard
	// the overflow message.
	PutThrough bool `json:"put_through"`
	// DialStatus is how the ringing ended, as Twilio says it (completed:
	// an operator answered; no-answer, busy, failed, canceled); empty
	// until then.
	DialStatus  string `json:"dial_status,omitempty"`
	DialSeconds int    `json:"dial_seconds,omitempty"`
	// Queued is set when the caller was put in the CIP's queue (TwiML
	// <Enqueue>). QueueResult is how they left it, as Twilio says it
	// (QueueBridged, QueueHangup, …), "" while they wait; QueueSeconds
	// how long they waited (Twilio's QueueTime).
	Queued       bool   `json:"queued,omitempty"`
	QueueResult  string `json:"queue_result,omitempty"`
	QueueSeconds int    `json:"queue_seconds,omitempty"`
	// SeenAt is when the caller was last known waiting (their call, then
	// Twilio asking the queue's wait URL, noted at most every
	// SeenEvery): a caller not seen for LostAfter left without Twilio
	// telling it, and no longer counts as waiting.
	SeenAt time.Time `json:"seen_at,omitzero"`
}

// How often a caller waiting is noted as seen, and after how long unseen
// they count as gone. Twilio asks the wait URL again each time its
// document ends (about every half-minute for Tocsin's).
const (
	SeenEvery = time.Minute
	LostAfter = 3 * time.Minute
)

// How a caller left the queue: Twilio's QueueResult values that Tocsin
// tells apart. Any other (leave, redirected, queue-full, error,
// system-error) counts as unanswered.
const (
	QueueBridged = "bridged" // an operator took the call
	QueueHangup  = "hangup"  // the caller hung up while waiting
)

// Answered reports whether an operator took the call.
func (c *PublicCall) Answered() bool {
	return c.DialStatus == "completed" || c.DialStatus == "answered" || c.QueueResult == QueueBridged
}

// Waiting reports whether the caller waits in the queue, as far as Twilio
// told.
func (c *PublicCall) Waiting() bool { return c.Queued && c.QueueResult == "" }

// Lost reports whether the caller, waiting as far as Twilio told, was not
// seen since lostBefore: their leaving was never told.
func (c *PublicCall) Lost(lostBefore time.Time) bool {
	return c.Waiting() && c.SeenAt.Before(lostBefore)
}

// Abandoned reports whether the caller hung up while waiting.
func (c *PublicCall) Abandoned() bool { return c.Queued && c.QueueResult == QueueHangup }

// PublicCalls sums up the calls to the public line of one CIP.
type PublicCalls struct {
	Total      int `json:"total"`
	PutThrough int `json:"put_through"` // sent to the operators: rung or queued
	Answered   int `json:"answered"`    // an operator took the call
	Unanswered int `json:"unanswered"`  // rung or queued, nobody took it, the caller did not hang up while waiting (sent away, or lost from sight)
	Overflow   int `json:"overflow"`    // nobody in position: the overflow message at once
	Queued     int `json:"queued"`      // put in the queue
	Waiting    int `json:"waiting"`     // in the queue now
	Abandoned  int `json:"abandoned"`   // hung up while waiting
	// LongestWaitSeconds is the longest time a caller spent in the queue,
	// as Twilio measured it when they left it (answered or not).
	LongestWaitSeconds int `json:"longest_wait_seconds"`
}

// Add counts c; a caller waiting unseen since lostBefore counts as
// unanswered.
func (s *PublicCalls) Add(c *PublicCall, lostBefore time.Time) {
	s.Total++
	if !c.PutThrough {
		s.Overflow++
		return
	}
	s.PutThrough++
	if c.Queued {
		s.Queued++
		s.LongestWaitSeconds = max(s.LongestWaitSeconds, c.QueueSeconds)
	}
	switch {
	case c.Answered():
		s.Answered++
	case c.Lost(lostBefore):
		s.Unanswered++
	case c.Waiting():
		s.Waiting++
	case c.Abandoned():
		s.Abandoned++
	case c.DialStatus != "" || c.Queued:
		s.Unanswered++
	}
}

// Desk is an operator in position as the public line's queue sees them:
// free, or busy with a call Tocsin placed to them to take the next caller
// of the queue (TwiML <Dial><Queue>). One record per operator, changed by
// compare-and-swap, so that two replicas never call the same operator for
// two callers.
type Desk struct {
	Operator string `json:"operator"`
	// Claim is set while the operator is called for the queue, "" when
	// free: a token the call's status callback carries, so that the end
	// of an older call does not free the operator from a newer one.
	// Since is when the call was placed, and Talking is set once the
	// operator picked up.
	Claim   string    `json:"claim,omitempty"`
	Since   time.Time `json:"since,omitzero"`
	Talking bool      `json:"talking,omitempty"`
	// Calls counts the calls placed to the operator; MissedAt is when
	// they last did not pick up: the queue calls first the operator who
	// missed least recently.
	Calls    int       `json:"calls"`
	MissedAt time.Time `json:"missed_at,omitzero"`
}

// Busy reports whether the operator is on a call of the queue at now: a
// call placed more than DeskHold ago, or RingHold ago and not picked up,
// counts as over, in case its end was never told (a status callback
// lost, a replica gone between the claim and the call).
func (d *Desk) Busy(now time.Time) bool {
	hold := DeskHold
	if !d.Talking {
		hold = RingHold
	}
	return d.Claim != "" && now.Sub(d.Since) < hold
}

// Ringing reports whether the operator is called for the queue and has
// not picked up yet.
func (d *Desk) Ringing(now time.Time) bool { return d.Busy(now) && !d.Talking }

// DeskHold bounds how long an operator counts as busy with one call of
// the queue when its end is not told (a status callback lost): a
// conversation longer than that may see a second call placed to them.
const DeskHold = 30 * time.Minute

// OperatorRing is how long an operator's phone rings for the queue before
// the next operator free is called.
const OperatorRing = 20 * time.Second

// RingHold bounds how long an operator called for the queue and not
// picking up counts as ringing when the call's end is not told: its ring,
// and time for its status callback. Past it, they may be called again.
const RingHold = OperatorRing + 100*time.Second
