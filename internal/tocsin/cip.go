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
	// PutThrough is set when the operators in position were rung; unset,
	// the caller heard the overflow message.
	PutThrough bool `json:"put_through"`
	// DialStatus is how the ringing ended, as Twilio says it (completed:
	// an operator answered; no-answer, busy, failed, canceled); empty
	// until then.
	DialStatus  string `json:"dial_status,omitempty"`
	DialSeconds int    `json:"dial_seconds,omitempty"`
}

// Answered reports whether an operator took the call.
func (c *PublicCall) Answered() bool {
	return c.DialStatus == "completed" || c.DialStatus == "answered"
}

// PublicCalls sums up the calls to the public line of one CIP.
type PublicCalls struct {
	Total      int `json:"total"`
	PutThrough int `json:"put_through"` // the operators were rung
	Answered   int `json:"answered"`    // an operator took the call
	Unanswered int `json:"unanswered"`  // rung, nobody took it: the caller heard the overflow message
	Overflow   int `json:"overflow"`    // nobody in position: the overflow message at once
}

// Add counts c.
func (s *PublicCalls) Add(c *PublicCall) {
	s.Total++
	switch {
	case !c.PutThrough:
		s.Overflow++
	case c.Answered():
		s.PutThrough++
		s.Answered++
	case c.DialStatus != "":
		s.PutThrough++
		s.Unanswered++
	default:
		s.PutThrough++
	}
}
