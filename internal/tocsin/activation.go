package tocsin

import (
	"time"
)

// ActivationState is open while Tocsin works to inform, closed after.
type ActivationState string

const (
	Open   ActivationState = "open"
	Closed ActivationState = "closed"
)

// Activation is one activation of the emergency communication cell, real or
// exercise. Its recipients are resolved from the directory when it is
// created and frozen with it: a later change to the directory does not
// change whom an activation informs.
type Activation struct {
	ID          string          `json:"id"`
	Playbook    string          `json:"playbook"`
	Title       string          `json:"title"`
	Exercise    bool            `json:"exercise"`
	Note        string          `json:"note,omitempty"`
	Code        string          `json:"code"` // the short code an official may reply instead of OK
	State       ActivationState `json:"state"`
	ActivatedAt time.Time       `json:"activated_at"`
	Deadline    time.Time       `json:"deadline"` // ActivatedAt + the playbook's deadline
	Ladder      []Rung          `json:"ladder"`
	CreatedBy   string          `json:"created_by"`
	Targeted    int             `json:"targeted"`
	ClosedAt    *time.Time      `json:"closed_at,omitempty"`
	ClosedBy    string          `json:"closed_by,omitempty"`
	// CIP is set once the public information cell was activated.
	CIP *CIP `json:"cip,omitempty"`
	// CIPFor is set on the call-out of a CIP's operators: an activation
	// of its own, worked by the same dispatch, that names the activation
	// whose CIP it staffs. It is not an activation of the cell: lists,
	// indicators and exports leave it out.
	CIPFor string `json:"cip_for,omitempty"`
	// ExerciseDue is the due instant (UTC) of the scheduled exercise this
	// exercise fulfils, if any.
	ExerciseDue *time.Time `json:"exercise_due,omitempty"`
	// Imported is set on an activation read from a history file: it was
	// run before or outside Tocsin, is closed, and takes no action.
	Imported *Import `json:"imported,omitempty"`
	// Messages are the follow-up messages sent to the activation's
	// audience after its alert (« fin d'alerte »), oldest first.
	Messages []FollowUp `json:"messages,omitempty"`
}

// CIP records the activation of the cellule d'information du public, the
// public information line, against its announced delay.
type CIP struct {
	ActivatedAt time.Time `json:"activated_at"`
	By          string    `json:"by"`
	// AnnouncedSeconds is the delay announced for the CIP (one hour by
	// default), kept with the record: a later change of the setting does
	// not change past figures.
	AnnouncedSeconds float64 `json:"announced_seconds"`
	// DelaySeconds is ActivatedAt - the activation's ActivatedAt.
	DelaySeconds float64 `json:"delay_seconds"`
	// WithinDelay reports whether DelaySeconds <= AnnouncedSeconds.
	WithinDelay bool   `json:"within_delay"`
	Note        string `json:"note,omitempty"`
	// Staffed is set when Tocsin stamped the CIP itself: its cell was
	// open with the playbook's minimum of operators in position, this
	// many. Unset, the CIP was recorded by hand, opened outside Tocsin.
	Staffed int `json:"staffed,omitempty"`
}

// DefaultCIPDelay is the CIP's announced delay.
const DefaultCIPDelay = time.Hour

// NewCIP records a CIP activated at `at` by `by` for a, against announced.
func (a *Activation) NewCIP(at time.Time, by string, announced time.Duration, note string) *CIP {
	d := at.Sub(a.ActivatedAt)
	return &CIP{ActivatedAt: at, By: by, AnnouncedSeconds: announced.Seconds(), DelaySeconds: d.Seconds(),
		WithinDelay: d <= announced, Note: note}
}

// RecipientStatus is where an official stands in an activation.
type RecipientStatus string

const (
	StatusPending   RecipientStatus = "pending"   // nothing handed to the provider yet
	StatusSending   RecipientStatus = "sending"   // an attempt is being handed over, or will be retried
	StatusSent      RecipientStatus = "sent"      // the provider accepted an attempt
	StatusDelivered RecipientStatus = "delivered" // the carrier confirmed delivery: not yet informed
	StatusFailed    RecipientStatus = "failed"    // every attempt failed and the ladder has nothing left
	StatusInformed  RecipientStatus = "informed"  // acknowledged: replied, pressed 1, or confirmed by hand
)

// Recipient is one official targeted by an activation, with every attempt
// made to reach them.
type Recipient struct {
	Official Official `json:"official"`
	// Deputies are the officials who stand in, frozen with the activation
	// like the official.
	Deputies []Contact `json:"deputies,omitempty"`
	Message  string    `json:"message"`  // the rendered text sent to this official
	Segments int       `json:"segments"` // SMS segments of Message
	Encoding Encoding  `json:"encoding"` // GSM-7, or UCS-2 (70 characters a segment)
	Speech   string    `json:"speech"`   // what a call says: the message without the SMS reply line
	// DeputyMessage and DeputySpeech are what the official's deputies get:
	// the message, said to stand in for the official, for the commune.
	// Empty in activations made before deputies had their own.
	DeputyMessage string          `json:"deputy_message,omitempty"`
	DeputySpeech  string          `json:"deputy_speech,omitempty"`
	Status        RecipientStatus `json:"status"`
	Attempts      []Attempt       `json:"attempts"`
	InformedAt    *time.Time      `json:"informed_at,omitempty"`
	InformedHow   string          `json:"informed_how,omitempty"`  // sms, voice, manual
	InformedFrom  string          `json:"informed_from,omitempty"` // the number that answered, or the user who confirmed
	// Confirmation is set when the duty officer confirmed by hand.
	Confirmation *Confirmation `json:"confirmation,omitempty"`
	// Replies holds the provider's ids (MessageSid) of the SMS replies
	// applied to this recipient, so that a reply seen twice — by its
	// webhook and by reconciliation with the provider — counts once.
	Replies []string `json:"replies,omitempty"`
	// External marks an official of an imported activation who is not (or
	// no longer) in the directory.
	External bool `json:"external,omitempty"`
	// Claim is set while a duty officer calls the official by hand.
	Claim *Claim `json:"claim,omitempty"`
	// Calls are the calls made by hand that did not inform, oldest first.
	Calls []ManualCall `json:"calls,omitempty"`
	// Rushes are the duty officers' « Relancer maintenant », oldest
	// first: each brought the next rung forward (Activation.RushNext).
	Rushes []Rush `json:"rushes,omitempty"`
	// Fixes are the corrections of the official's numbers, or of a
	// deputy's, made during the activation, oldest first.
	Fixes []Fix `json:"fixes,omitempty"`
	// Notices are the SMS sent outside the ladder (notice.go): they are
	// not attempts and never inform.
	Notices []Attempt `json:"notices,omitempty"`
}

// Contact is someone an activation may call on behalf of an official.
type Contact struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Role    string   `json:"role"`
	Numbers []Number `json:"numbers"`
}

// Confirmation records that the duty officer reached an official another
// way (a call from their own phone, a gendarmerie patrol, in person).
type Confirmation struct {
	By      string `json:"by"`      // the user who confirms
	Reached string `json:"reached"` // who was reached: the official, a deputy, the town hall's secretary
	How     string `json:"how"`     // telephone, en personne, radio, gendarmerie…
	Note    string `json:"note,omitempty"`
}

// AttemptStatus follows Twilio's message and call statuses, with three of
// Tocsin's own for what happens before the provider has the attempt.
type AttemptStatus string

const (
	// AttemptCreated is written before the provider call. Without a SID its
	// outcome is unknown: it must be reconciled with the provider before any
	// new send to that number.
	AttemptCreated AttemptStatus = "created"
	// AttemptRetry means the provider refused for a passing reason (429,
	// proven not sent); send again at NextTry.
	AttemptRetry AttemptStatus = "retry"
	// AttemptRejected means the provider refused for good (invalid number,
	// landline for SMS, unsubscribed).
	AttemptRejected AttemptStatus = "rejected"

	// Messages.
	AttemptQueued      AttemptStatus = "queued"
	AttemptSending     AttemptStatus = "sending"
	AttemptSent        AttemptStatus = "sent"
	AttemptDelivered   AttemptStatus = "delivered"
	AttemptUndelivered AttemptStatus = "undelivered"
	AttemptFailed      AttemptStatus = "failed"

	// Calls (queued and failed are shared with messages).
	AttemptInitiated  AttemptStatus = "initiated"
	AttemptRinging    AttemptStatus = "ringing"
	AttemptInProgress AttemptStatus = "in-progress" // answered
	AttemptCompleted  AttemptStatus = "completed"   // ended after an answer: a person or a voicemail
	AttemptBusy       AttemptStatus = "busy"
	AttemptNoAnswer   AttemptStatus = "no-answer"
	AttemptCanceled   AttemptStatus = "canceled"
)

// finalRank is the rank of statuses that change no more.
const finalRank = 5

// attemptRank orders statuses so that a late or repeated status callback
// never moves an attempt backwards.
var attemptRank = map[AttemptStatus]int{
	AttemptCreated: 0, AttemptRetry: 0,
	AttemptQueued:  1,
	AttemptSending: 2, AttemptInitiated: 2,
	AttemptSent: 3, AttemptRinging: 3,
	AttemptInProgress: 4,
	AttemptDelivered:  finalRank, AttemptUndelivered: finalRank, AttemptFailed: finalRank, AttemptRejected: finalRank,
	AttemptCompleted: finalRank, AttemptBusy: finalRank, AttemptNoAnswer: finalRank, AttemptCanceled: finalRank,
}

// Final reports whether s can change no more.
func (s AttemptStatus) Final() bool { return attemptRank[s] == finalRank }

// Accepted reports whether the provider took the attempt and did not report
// a failure (yet): a message on its way or delivered, a call placed.
func (s AttemptStatus) Accepted() bool {
	switch s {
	case AttemptQueued, AttemptSending, AttemptSent, AttemptDelivered,
		AttemptInitiated, AttemptRinging, AttemptInProgress, AttemptCompleted:
		return true
	}
	return false
}

// Reached reports whether the attempt got to the phone: an SMS delivered,
// a call answered (by a person or a voicemail: only a key press informs).
func (s AttemptStatus) Reached() bool {
	return s == AttemptDelivered || s == AttemptInProgress || s == AttemptCompleted
}

// Failed reports whether the attempt ended without reaching the phone.
func (s AttemptStatus) Failed() bool {
	switch s {
	case AttemptUndelivered, AttemptFailed, AttemptRejected, AttemptBusy, AttemptNoAnswer, AttemptCanceled:
		return true
	}
	return false
}

// Unsettled reports whether the attempt is still Tocsin's to hand over.
func (s AttemptStatus) Unsettled() bool { return s == AttemptCreated || s == AttemptRetry }

// Advances reports whether moving from s to next goes forward.
func (s AttemptStatus) Advances(next AttemptStatus) bool {
	r, ok := attemptRank[next]
	return ok && r > attemptRank[s]
}

// Attempt is one message (or call) to one number.
type Attempt struct {
	ID      string        `json:"id"` // unique within the recipient: "r<rung>-<n>"
	Rung    int           `json:"rung"`
	Channel Channel       `json:"channel"`
	To      string        `json:"to"`
	Status  AttemptStatus `json:"status"`
	Tries   int           `json:"tries"` // provider calls made for this attempt
	SID     string        `json:"sid,omitempty"`
	// Route is the provider route the attempt went by: "secondary", or
	// empty for the primary.
	Route     string     `json:"route,omitempty"`
	ErrorCode int        `json:"error_code,omitempty"`
	Error     string     `json:"error,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	NextTry   *time.Time `json:"next_try,omitempty"`
	// Notice is set on a notice (Recipient.Notices), with its Body.
	Notice NoticeKind `json:"notice,omitempty"`
	Body   string     `json:"body,omitempty"`
}

// NumberCount is how many numbers may answer for r: the official's own
// and their deputies'.
func (r *Recipient) NumberCount() int {
	n := len(r.Official.Numbers)
	for _, d := range r.Deputies {
		n += len(d.Numbers)
	}
	return n
}

// forDeputy reports whether number is one of r's deputies' and not the
// official's own.
func (r *Recipient) forDeputy(number string) bool {
	for _, n := range r.Official.Numbers {
		if n.E164 == number {
			return false
		}
	}
	for _, d := range r.Deputies {
		for _, n := range d.Numbers {
			if n.E164 == number {
				return true
			}
		}
	}
	return false
}

// MessageFor returns the SMS text for a number of r: the deputies' own
// text for a deputy's number, the official's message otherwise.
func (r *Recipient) MessageFor(number string) string {
	if r.DeputyMessage != "" && r.forDeputy(number) {
		return r.DeputyMessage
	}
	return r.Message
}

// SpeechFor returns what a call to a number of r says, as MessageFor.
func (r *Recipient) SpeechFor(number string) string {
	if r.DeputySpeech != "" && r.forDeputy(number) {
		return r.DeputySpeech
	}
	if r.Speech == "" {
		return r.Message
	}
	return r.Speech
}

// Attempt returns the attempt with id, or nil.
func (r *Recipient) Attempt(id string) *Attempt { return byID(r.Attempts, id) }

// byID returns the attempt (or notice) of ats with id, or nil.
func byID(ats []Attempt, id string) *Attempt {
	for i := range ats {
		if ats[i].ID == id {
			return &ats[i]
		}
	}
	return nil
}

// Refresh recomputes r.Status from its attempts and the ladder.
func (a *Activation) Refresh(r *Recipient, now time.Time) {
	switch {
	case r.InformedAt != nil:
		r.Status = StatusInformed
		return
	}
	best := -1
	for _, at := range r.Attempts {
		var rank int
		switch {
		case at.Status.Reached():
			rank = 3
		case at.Status.Accepted():
			rank = 2
		case at.Status.Unsettled():
			rank = 1
		default:
			rank = 0
		}
		best = max(best, rank)
	}
	switch best {
	case 3:
		r.Status = StatusDelivered
	case 2:
		r.Status = StatusSent
	case 1:
		r.Status = StatusSending
	default:
		if due, next := a.Plan(r, now); len(due) > 0 || !next.IsZero() {
			r.Status = StatusPending
		} else {
			r.Status = StatusFailed
		}
	}
}

// Summary is what the duty officer watches: counters over the recipients and
// how the activation stands against its deadline.
type Summary struct {
	Targeted  int `json:"targeted"`
	Sent      int `json:"sent"`      // the provider accepted at least one attempt
	Delivered int `json:"delivered"` // the carrier confirmed at least one delivery
	Informed  int `json:"informed"`
	Failed    int `json:"failed"`
	// NotInformed is Targeted - Informed: who is still to reach.
	NotInformed int `json:"not_informed"`
	// ToCall is how many are on the duty officer's "à appeler" list.
	ToCall int `json:"to_call"`
	// TimeLeft is the time until the deadline, in seconds; negative past it.
	TimeLeft float64 `json:"time_left_seconds"`
	// LastInformedAt is when the last targeted official was informed; nil
	// until all are.
	LastInformedAt *time.Time `json:"last_informed_at,omitempty"`
	// InformDelay is LastInformedAt - ActivatedAt ("délai d'information des
	// élus"), in seconds; nil until all are informed.
	InformDelay *float64 `json:"inform_delay_seconds,omitempty"`
	// WithinDeadline is set once all are informed, or once the deadline has
	// passed with someone not informed (then false).
	WithinDeadline *bool `json:"within_deadline,omitempty"`
}

// Summarize computes the summary of a over its recipients at now.
func (a *Activation) Summarize(rs []Recipient, now time.Time) Summary {
	// While a large activation is being created, rs are the recipients
	// written so far: those still to come count as targeted and not
	// informed.
	s := Summary{Targeted: max(len(rs), a.Targeted)}
	var last time.Time
	for i := range rs {
		r := &rs[i]
		for _, at := range r.Attempts {
			if at.Status.Accepted() || at.Status == AttemptUndelivered || (at.SID != "" && at.Status.Failed()) {
				s.Sent++
				break
			}
		}
		for _, at := range r.Attempts {
			if at.Status.Reached() {
				s.Delivered++
				break
			}
		}
		switch r.Status {
		case StatusInformed:
			s.Informed++
			if r.InformedAt.After(last) {
				last = *r.InformedAt
			}
		case StatusFailed:
			s.Failed++
		}
		if a.OnManualList(r, now) {
			s.ToCall++
		}
	}
	s.NotInformed = s.Targeted - s.Informed
	s.TimeLeft = a.Deadline.Sub(now).Seconds()
	if s.Targeted > 0 && s.Informed == s.Targeted {
		s.LastInformedAt = &last
		d := last.Sub(a.ActivatedAt).Seconds()
		s.InformDelay = &d
		ok := !last.After(a.Deadline)
		s.WithinDeadline = &ok
	} else if now.After(a.Deadline) || a.State == Closed {
		missed := false
		s.WithinDeadline = &missed
	}
	return s
}

// Event is one timestamped step of an activation's timeline.
type Event struct {
	Activation string    `json:"activation"`
	Seq        string    `json:"seq"` // sortable key within the activation, set by the store
	At         time.Time `json:"at"`  // server time, UTC
	Kind       string    `json:"kind"`
	Official   string    `json:"official,omitempty"`
	Attempt    string    `json:"attempt,omitempty"`
	Channel    Channel   `json:"channel,omitempty"`
	Detail     string    `json:"detail,omitempty"` // in French, for the timeline
	// Text is the body of a reply that did not acknowledge, for the duty
	// officer's inbox (truncated).
	Text string `json:"text,omitempty"`
	// Recovered marks a step Tocsin learnt from the provider's records
	// rather than from its webhook (lost while the store was unavailable,
	// or never delivered): At is still the provider's time of the step.
	Recovered bool `json:"recovered,omitempty"`
}

// Event kinds.
const (
	EventActivated = "activated"
	EventAttempt   = "attempt"   // an attempt was written, before the provider call
	EventAccepted  = "accepted"  // the provider took it
	EventRetry     = "retry"     // the provider refused for now
	EventRejected  = "rejected"  // the provider refused for good
	EventStatus    = "status"    // a delivery status callback
	EventInformed  = "informed"  // acknowledged
	EventReply     = "reply"     // an SMS reply that is not an acknowledgement
	EventRecovered = "recovered" // an unknown outcome settled with the provider
	EventClosed    = "closed"
	EventCIP       = "cip"      // the public information cell was activated
	EventCIPCell   = "cip.cell" // the CIP's cell opened, an operator's state changed, the cell closed
	EventImported  = "imported" // the activation was read from a history file
)

// Creation is an activation whose recipients are still being written. A
// large activation is recorded with its first recipients, so that the
// first messages leave at once, and the rest follow in parts, in the order
// of the officials' ids; whichever replica finds the writing stalled
// finishes it from this record, which says where the audience comes from
// and where the writing stands.
type Creation struct {
	// Directory is the version of the directory the audience was drawn
	// from; Playbook the playbook as it was at activation (audience and
	// messages).
	Directory string   `json:"directory"`
	Playbook  Playbook `json:"playbook"`
	// Written counts the recipients written; Last is the id of the last
	// one: the next part starts after it.
	Written int    `json:"written"`
	Last    string `json:"last"`
	// Indexed tells that the activation's number index answers for the
	// recipients still to write too: it is completed before the second
	// part is written.
	Indexed bool `json:"indexed,omitempty"`
}
