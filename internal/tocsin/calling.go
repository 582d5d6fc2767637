package tocsin

import (
	"fmt"
	"time"
)

// DefaultClaimFor is how long a duty officer holds an official they call
// by hand (« J'appelle ») before the claim lapses and another officer may
// take them.
const DefaultClaimFor = 10 * time.Minute

// Claim says that a duty officer is calling an official by hand, so that
// two officers do not call the same mayor. It lapses at Until.
type Claim struct {
	By    string    `json:"by"`
	At    time.Time `json:"at"`
	Until time.Time `json:"until"`
}

// Held reports whether c still holds at now; a nil claim holds nothing.
func (c *Claim) Held(now time.Time) bool { return c != nil && now.Before(c.Until) }

// CallOutcome is how a call made by hand failed.
type CallOutcome string

// Call outcomes. A call that reaches the official is a confirmation, not
// a ManualCall.
const (
	CallNoAnswer    CallOutcome = "no-answer"    // pas de réponse
	CallVoicemail   CallOutcome = "voicemail"    // messagerie
	CallWrongNumber CallOutcome = "wrong-number" // faux numéro
	CallOther       CallOutcome = "other"        // autre : la note dit quoi
)

// callOutcomeLabels name the outcomes in French, as the duty officer
// chooses them.
var callOutcomeLabels = map[CallOutcome]string{
	CallNoAnswer: "pas de réponse", CallVoicemail: "messagerie", CallWrongNumber: "faux numéro", CallOther: "autre",
}

// CallOutcomes lists the outcomes in the order the console offers them.
var CallOutcomes = []CallOutcome{CallNoAnswer, CallVoicemail, CallWrongNumber, CallOther}

// Label names the outcome in French; an unknown outcome is returned as is.
func (o CallOutcome) Label() string {
	if l, ok := callOutcomeLabels[o]; ok {
		return l
	}
	return string(o)
}

// Valid reports whether o is one of CallOutcomes.
func (o CallOutcome) Valid() bool {
	_, ok := callOutcomeLabels[o]
	return ok
}

// ManualCall is a call a duty officer made by hand that did not inform
// the official. It is kept with the recipient, beside the attempts
// dispatch made, and changes neither its status nor the ladder.
type ManualCall struct {
	At      time.Time   `json:"at"`
	By      string      `json:"by"`
	Number  string      `json:"number,omitempty"` // E.164, when the officer said which
	Outcome CallOutcome `json:"outcome"`
	Note    string      `json:"note,omitempty"`
}

// Describe words a manual call for the timeline: « pas de réponse au
// +33639980001 (appel à la main par Paul) — note ».
func (c *ManualCall) Describe() string {
	s := c.Outcome.Label()
	if c.Number != "" {
		s += " au " + c.Number
	}
	s = fmt.Sprintf("%s (appel à la main par %s)", s, c.By)
	if c.Note != "" {
		s += " — " + c.Note
	}
	return s
}

// Rush is a duty officer's « Relancer maintenant »: the official's next
// rung starts At instead of at its time in the ladder.
type Rush struct {
	At time.Time `json:"at"`
	By string    `json:"by"`
}

// Event kinds of the calls made by hand.
const (
	EventRushed   = "rushed"   // a duty officer brought the next rung forward
	EventClaimed  = "claimed"  // a duty officer takes an official to call
	EventReleased = "released" // they let them go
	EventCalled   = "called"   // a call by hand that did not inform
)

// Audit actions of the calls made by hand.
const (
	AuditClaimed  = "recipient.claimed"
	AuditReleased = "recipient.released"
	AuditCalled   = "recipient.called"
	AuditRushed   = "recipient.rushed"
)
