package tocsin

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A notice is an SMS sent to an official outside the escalation ladder:
// the confirmation of their acknowledgement, once how to confirm after a
// reply not understood, or a follow-up message of the activation (« fin
// d'alerte »). Dispatch hands it over as it does an attempt — written
// before the provider call, settled after, reconciled with the provider
// when its outcome is unknown, paced by the same token bucket — but it
// never informs, never counts among the attempts, and leaves the
// recipient's status and the indicators as they are.
//
// A notice's id says what it is for, so that it is recorded once whoever
// records it and however often: "confirmation", "guidance", "m<n>" for
// the activation's n-th follow-up message.

// NoticeKind says what a notice is for.
type NoticeKind string

// Notice kinds.
const (
	NoticeConfirmation NoticeKind = "confirmation" // the acknowledgement was recorded
	NoticeGuidance     NoticeKind = "guidance"     // how to confirm, after a reply not understood
	NoticeMessage      NoticeKind = "message"      // a follow-up message of the activation
)

// ExercisePrefix starts every message of an exercise, notices included.
const ExercisePrefix = "EXERCICE - "

// The texts of the notices. Each fits in one GSM-7 segment, exercise
// prefix included (notice_test.go checks it with Segments).
const (
	confirmationText = "Réception confirmée à %s, merci."
	guidanceText     = "Répondez OK à ce numéro pour confirmer la réception de l'alerte."
)

// ConfirmationText is the confirmation of an acknowledgement received at
// `at`, with its Paris time: « Réception confirmée à 17 h 35, merci. ».
func ConfirmationText(at time.Time, exercise bool) string {
	p := at.In(Paris())
	return withExercise(fmt.Sprintf(confirmationText, fmt.Sprintf("%d h %02d", p.Hour(), p.Minute())), exercise)
}

// GuidanceText tells an official whose reply was not understood how to
// confirm.
func GuidanceText(exercise bool) string { return withExercise(guidanceText, exercise) }

func withExercise(s string, exercise bool) string {
	if exercise {
		return ExercisePrefix + s
	}
	return s
}

// NewNotice is a notice of kind to number, not yet handed over: dispatch
// sends it.
func NewNotice(kind NoticeKind, id, to, body string) Attempt {
	return Attempt{ID: id, Rung: -1, Channel: SMS, To: to, Status: AttemptCreated, Notice: kind, Body: body}
}

// Notice returns r's notice with id, or nil.
func (r *Recipient) Notice(id string) *Attempt { return byID(r.Notices, id) }

// Outgoing returns r's attempt or notice with id, or nil: what a status
// callback or dispatch settles.
func (r *Recipient) Outgoing(id string) *Attempt {
	if at := r.Attempt(id); at != nil {
		return at
	}
	return r.Notice(id)
}

// BodyOf returns the SMS text of an attempt or notice of r.
func (r *Recipient) BodyOf(at *Attempt) string {
	if at.Notice != "" {
		return at.Body
	}
	return r.MessageFor(at.To)
}

// AddNotice records a notice for r unless one with its id exists, and
// reports whether it did.
func (r *Recipient) AddNotice(n Attempt) bool {
	if r.Notice(n.ID) != nil {
		return false
	}
	r.Notices = append(r.Notices, n)
	return true
}

// FollowUp is a message of an activation sent after its alert to the
// same audience — « fin d'alerte », a change of instructions — by SMS, to
// every official's mobile, informed or not. It changes no
// acknowledgement.
type FollowUp struct {
	N    int       `json:"n"` // 1 for the first follow-up of the activation
	Text string    `json:"text"`
	At   time.Time `json:"at"`
	By   string    `json:"by"`
}

// NoticeID is the id of a follow-up's notice for each recipient.
func (f FollowUp) NoticeID() string { return "m" + strconv.Itoa(f.N) }

// FollowUpBody is the SMS text of a's follow-up message f.
func (a *Activation) FollowUpBody(f FollowUp) string { return withExercise(f.Text, a.Exercise) }

// MaxFollowUpSegments bounds a follow-up message, in SMS segments.
const MaxFollowUpSegments = 3

// NewFollowUp checks a follow-up message's text (typography folded to
// GSM-7) and returns it as the activation's next one. Errors name the
// field "text".
func (a *Activation) NewFollowUp(text, by string, at time.Time) (FollowUp, error) {
	text = strings.TrimSpace(FoldTypography(text))
	if text == "" {
		return FollowUp{}, FieldErrorf(EInvalid, "text", "le champ « texte » est vide : écrivez le message à envoyer")
	}
	if n, enc := Segments(withExercise(text, a.Exercise)); n > MaxFollowUpSegments {
		return FollowUp{}, FieldErrorf(EInvalid, "text", "le champ « texte » est trop long : %d SMS (%s), %d au plus", n, enc, MaxFollowUpSegments)
	}
	return FollowUp{N: len(a.Messages) + 1, Text: text, At: at, By: by}, nil
}

// PlanNotices returns the notices r is due now that it does not have:
// one for each follow-up message of a, to r's first mobile number. A
// closed activation sends nothing more.
func (a *Activation) PlanNotices(r *Recipient) []Attempt {
	if a.State != Open || len(a.Messages) == 0 {
		return nil
	}
	to := r.Official.FirstOf(Mobile) // follow-ups go to the first mobile
	if to == "" {
		return nil
	}
	var due []Attempt
	for _, f := range a.Messages {
		if r.Notice(f.NoticeID()) == nil {
			due = append(due, NewNotice(NoticeMessage, f.NoticeID(), to, a.FollowUpBody(f)))
		}
	}
	return due
}

// followUpDue reports whether r lacks the notice of one of a's follow-up
// messages: what PlanNotices would make, without making it.
func (a *Activation) followUpDue(r *Recipient) bool {
	if len(a.Messages) == 0 || r.Official.FirstOf(Mobile) == "" {
		return false
	}
	for _, f := range a.Messages {
		if r.Notice(f.NoticeID()) == nil {
			return true
		}
	}
	return false
}

// PendingNotice reports whether r has a notice not yet handed over.
func (r *Recipient) PendingNotice() bool {
	for _, n := range r.Notices {
		if n.Status.Unsettled() {
			return true
		}
	}
	return false
}

// UnsentNotice reports whether r has a notice recorded and never handed
// over: one a reply recorded, for dispatch to send.
func (r *Recipient) UnsentNotice() bool {
	for _, n := range r.Notices {
		if n.Status == AttemptCreated && n.Tries == 0 {
			return true
		}
	}
	return false
}

// NeedsWork reports whether dispatch has something to do for r in a: the
// ladder while r is not informed, a notice to hand over, a follow-up
// message not yet recorded for r.
func (a *Activation) NeedsWork(r *Recipient) bool {
	return a.State == Open && (r.InformedAt == nil || r.PendingNotice() || a.followUpDue(r))
}

// NoticeLabel names a notice for the timeline.
func NoticeLabel(kind NoticeKind) string {
	switch kind {
	case NoticeConfirmation:
		return "confirmation de réception"
	case NoticeGuidance:
		return "consigne pour confirmer"
	default:
		return "message de suivi"
	}
}

// Event kind and audit action of a follow-up message.
const (
	EventFollowUp = "follow_up" // a duty officer sent a follow-up message
	EventNotice   = "notice"    // a notice was written, before the provider call
	AuditFollowUp = "activation.message"
)
