package activation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// AttemptRef names the attempt a status callback is about; it travels in
// the callback URL.
type AttemptRef struct {
	Activation, Official, Attempt string
}

// StatusReport is a delivery status of an attempt: from its callback, or
// read from the provider's records when the callback was lost.
type StatusReport struct {
	SID       string
	Status    tocsin.AttemptStatus
	ErrorCode int
	// Recovered is set when the status was read from the provider's
	// records: the timeline says so.
	Recovered bool
}

// RecordStatus applies a delivery status. A status for an unknown attempt,
// or whose SID does not match, is refused with EInvalid; a repeated or late
// one changes nothing.
func (s *Service) RecordStatus(ctx context.Context, ref AttemptRef, st StatusReport) error {
	_, err := s.store.UpdateRecipient(ctx, ref.Activation, ref.Official, func(a *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
		at := r.Outgoing(ref.Attempt) // an attempt, or a notice
		if at == nil {
			return nil, tocsin.Errorf(tocsin.EInvalid, "tentative %s inconnue", ref.Attempt)
		}
		if at.SID != "" && at.SID != st.SID {
			return nil, tocsin.Errorf(tocsin.EInvalid, "la tentative %s porte un autre identifiant Twilio", ref.Attempt)
		}
		if at.SID == st.SID && !at.Status.Advances(st.Status) {
			return nil, tocsin.ErrNoChange // repeated or late callback
		}
		now := s.now().UTC()
		at.SID, at.UpdatedAt = st.SID, now
		if at.Status.Advances(st.Status) {
			at.Status = st.Status
			at.NextTry = nil
		}
		if st.ErrorCode != 0 {
			at.ErrorCode = st.ErrorCode
		}
		a.Refresh(r, now)
		detail := statusDetail(st.Status, st.ErrorCode)
		if at.Notice != "" {
			detail = tocsin.NoticeLabel(at.Notice) + " : " + detail
		}
		if st.Recovered {
			detail += " (statut retrouvé chez l'opérateur)"
		}
		return []tocsin.Event{{At: now, Kind: tocsin.EventStatus, Attempt: at.ID, Channel: at.Channel,
			Detail: detail, Recovered: st.Recovered}}, nil
	})
	if errors.Is(err, tocsin.ErrNoChange) {
		return nil
	}
	return err
}

func statusDetail(status tocsin.AttemptStatus, code int) string {
	switch status {
	case tocsin.AttemptInitiated:
		return "appel lancé"
	case tocsin.AttemptRinging:
		return "appel : ça sonne"
	case tocsin.AttemptInProgress:
		return "appel décroché"
	case tocsin.AttemptCompleted:
		return "appel terminé"
	case tocsin.AttemptBusy:
		return "appel : occupé"
	case tocsin.AttemptNoAnswer:
		return "appel : pas de réponse"
	case tocsin.AttemptCanceled:
		return "appel annulé"
	case tocsin.AttemptDelivered:
		return "SMS distribué"
	case tocsin.AttemptSent:
		return "SMS transmis à l'opérateur mobile"
	case tocsin.AttemptUndelivered:
		return fmt.Sprintf("SMS non distribué (code %d)", code)
	case tocsin.AttemptFailed:
		return fmt.Sprintf("échec de l'envoi (code %d)", code)
	default:
		return "statut " + string(status)
	}
}

// CallScript is what a call says: the official's message, unless they were
// informed meanwhile.
type CallScript struct {
	Message         string
	AlreadyInformed bool
}

// Script returns what the call of an attempt must say. It fails with
// EInvalid when the attempt is not a call of that recipient, or its SID
// does not match.
func (s *Service) Script(ctx context.Context, ref AttemptRef, callSID string) (*CallScript, error) {
	r, err := s.store.Recipient(ctx, ref.Activation, ref.Official)
	if err != nil {
		if tocsin.ErrorCode(err) == tocsin.ENotFound {
			return nil, tocsin.Errorf(tocsin.EInvalid, "destinataire %s inconnu", ref.Official)
		}
		return nil, err
	}
	at := r.Attempt(ref.Attempt)
	if at == nil || at.Channel != tocsin.Voice || (at.SID != "" && callSID != "" && at.SID != callSID) {
		return nil, tocsin.Errorf(tocsin.EInvalid, "appel %s inconnu", ref.Attempt)
	}
	a, err := s.store.Activation(ctx, ref.Activation)
	if err != nil {
		return nil, err
	}
	return &CallScript{Message: r.SpeechFor(at.To), AlreadyInformed: r.InformedAt != nil || a.State != tocsin.Open}, nil
}

// KeyPress applies the key an official pressed during a call: 1 informs
// them. It reports whether the key acknowledged.
//
// During the call-out of a CIP's operators, 1 is « j'arrive » and 2
// « indisponible » (cipKeyPress).
func (s *Service) KeyPress(ctx context.Context, ref AttemptRef, callSID, digits string) (bool, error) {
	if digits != "1" && digits != "2" {
		return false, nil
	}
	if strings.HasSuffix(ref.Activation, callOutID("")) {
		a, err := s.store.Activation(ctx, ref.Activation)
		if err != nil {
			return false, err
		}
		if a.CIPFor != "" {
			return s.cipKeyPress(ctx, a, ref, callSID, digits)
		}
	}
	if digits != "1" {
		return false, nil
	}
	_, err := s.store.UpdateRecipient(ctx, ref.Activation, ref.Official, func(a *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
		at := r.Attempt(ref.Attempt)
		if at == nil || at.Channel != tocsin.Voice || (at.SID != "" && at.SID != callSID) {
			return nil, tocsin.Errorf(tocsin.EInvalid, "appel %s inconnu", ref.Attempt)
		}
		if r.InformedAt != nil {
			return nil, tocsin.ErrNoChange
		}
		now := s.now().UTC()
		if at.SID == "" {
			at.SID = callSID
		}
		r.InformedAt, r.InformedHow, r.InformedFrom = &now, "voice", at.To
		a.Refresh(r, now)
		return []tocsin.Event{{At: now, Kind: tocsin.EventInformed, Attempt: at.ID, Channel: tocsin.Voice,
			Detail: fmt.Sprintf("%s informé·e : touche 1 pendant l'appel au %s", r.Official.Name, at.To)}}, nil
	})
	if err != nil && !errors.Is(err, tocsin.ErrNoChange) {
		return false, err
	}
	// The audit trail records the acknowledgement from the store's history
	// (audit.Recipients), so that a crash here cannot lose it.
	s.log.Info("official informed", "activation", ref.Activation, "official", ref.Official, "how", "voice")
	return true, nil
}

// ReplyOutcome says what an inbound SMS did.
type ReplyOutcome string

const (
	ReplyInformed      ReplyOutcome = "informed"       // it acknowledged: the official is now informed
	ReplyAlready       ReplyOutcome = "already"        // acknowledged again: nothing changes
	ReplyNotUnderstood ReplyOutcome = "not-understood" // kept in the timeline only
	ReplyUnknownNumber ReplyOutcome = "unknown-number" // no open activation targets this number
)

// Reply applies an SMS received from a number: if it acknowledges, the
// officials the number answers for (as theirs or as a deputy's) are
// informed in the activation it answers — the one whose code it carries,
// or else the most recent one open when it was received — at the time the
// provider received it. A reply already applied (same SID) changes
// nothing, so that the webhook and reconciliation with the provider may
// both bring it.
func (s *Service) Reply(ctx context.Context, in tocsin.Inbound) (ReplyOutcome, error) {
	acts, officials, err := s.store.OpenByNumber(ctx, in.From)
	if err != nil {
		return "", err
	}
	at := in.At.UTC()
	if in.At.IsZero() {
		at = s.now().UTC()
	}
	// A reply answers an activation that existed when it was received.
	for i := len(acts) - 1; i >= 0; i-- {
		if acts[i].ActivatedAt.After(at) {
			acts, officials = slices.Delete(acts, i, i+1), slices.Delete(officials, i, i+1)
		}
	}
	if len(acts) == 0 {
		return ReplyUnknownNumber, nil
	}
	pick := len(acts) - 1
	for i := range acts {
		if acts[i].Code != "" && strings.Contains(in.Body, acts[i].Code) {
			pick = i
		}
	}
	if acts[pick].CIPFor != "" {
		return s.cipReply(ctx, &acts[pick], officials[pick], in, at)
	}
	ack := tocsin.IsAcknowledgement(in.Body, acts[pick].Code)
	outcome := ReplyNotUnderstood
	if ack {
		outcome = ReplyAlready
	}
	from := in.From
	quoted := fmt.Sprintf("« %s »", truncate(in.Body, 160))
	recovered := ""
	if in.Recovered {
		recovered = fmt.Sprintf(" (reçue à %s, retrouvée chez l'opérateur)", tocsin.ParisTime(at))
	}
	confirmed := false // one confirmation for the reply, whoever it informs
	for i, official := range officials[pick] {
		noticed := false
		_, err = s.store.UpdateRecipient(ctx, acts[pick].ID, official, func(a *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
			noticed = false
			if in.SID != "" && slices.Contains(r.Replies, in.SID) {
				if r.InformedAt != nil && ack {
					outcome = ReplyAlready
				}
				return nil, tocsin.ErrNoChange // applied before
			}
			who := "de " + from
			if d := deputyWith(r, from); d != "" && !ownNumber(r, from) {
				// A deputy answers for the official only once the ladder
				// has reached them for that official.
				if !contacted(r, from) {
					return nil, tocsin.ErrNoChange
				}
				who = "du suppléant " + d + " (" + from + ")"
			}
			switch {
			case !ack:
				if i > 0 {
					return nil, tocsin.ErrNoChange // one event for the reply is enough
				}
				r.Replies = appendReply(r.Replies, in.SID)
				guide(a, r, from, in.Body)
				return []tocsin.Event{{At: at, Kind: tocsin.EventReply, Channel: tocsin.SMS, Recovered: in.Recovered, Official: r.Official.ID,
					Text: truncate(in.Body, 160), Detail: "réponse non reconnue " + who + " : " + quoted + recovered}}, nil
			case r.InformedAt != nil:
				return nil, tocsin.ErrNoChange
			}
			outcome = ReplyInformed
			r.Replies = appendReply(r.Replies, in.SID)
			r.InformedAt, r.InformedHow, r.InformedFrom = &at, "sms", from
			if !confirmed {
				noticed = r.AddNotice(tocsin.NewNotice(tocsin.NoticeConfirmation, string(tocsin.NoticeConfirmation), from, tocsin.ConfirmationText(at, a.Exercise)))
			}
			a.Refresh(r, at)
			return []tocsin.Event{{At: at, Kind: tocsin.EventInformed, Channel: tocsin.SMS, Recovered: in.Recovered,
				Detail: fmt.Sprintf("%s informé·e : réponse %s %s%s", r.Official.Name, quoted, who, recovered)}}, nil
		})
		if err != nil && !errors.Is(err, tocsin.ErrNoChange) {
			return "", err
		}
		confirmed = confirmed || (err == nil && noticed)
	}
	if outcome == ReplyInformed {
		// Audited from the store's history, as for a key press.
		s.log.Info("officials informed", "activation", acts[pick].ID, "officials", len(officials[pick]), "how", "sms", "recovered", in.Recovered)
	}
	return outcome, nil
}

// guide records, once per recipient, the notice that tells an official
// whose reply was not understood how to confirm, to the number that
// replied. Not to one already informed, nor after a refusal or a
// correction (STOP, a wrong number, an official no longer in office):
// those are for the duty officer, and asking a stranger to answer OK
// would inform nobody real.
func guide(a *tocsin.Activation, r *tocsin.Recipient, from, body string) {
	if r.InformedAt != nil {
		return
	}
	switch tocsin.ReplyConcern(body) {
	case tocsin.ConcernStop, tocsin.ConcernNumber, tocsin.ConcernOfficial:
		return
	}
	r.AddNotice(tocsin.NewNotice(tocsin.NoticeGuidance, string(tocsin.NoticeGuidance), from, tocsin.GuidanceText(a.Exercise)))
}

// maxReplies bounds the reply ids a recipient keeps: an official who
// answers again and again must not grow the record without end.
const maxReplies = 20

// appendReply adds sid to the ids kept, dropping the oldest past
// maxReplies.
func appendReply(ids []string, sid string) []string {
	if sid == "" {
		return ids
	}
	ids = append(ids, sid)
	if len(ids) > maxReplies {
		ids = ids[len(ids)-maxReplies:]
	}
	return ids
}

func ownNumber(r *tocsin.Recipient, number string) bool {
	for _, n := range r.Official.Numbers {
		if n.E164 == number {
			return true
		}
	}
	return false
}

// contacted reports whether an attempt for r went to number.
func contacted(r *tocsin.Recipient, number string) bool {
	for _, at := range r.Attempts {
		if at.To == number && at.Tries > 0 {
			return true
		}
	}
	return false
}

// deputyWith returns the name of r's deputy who has number, "" if none.
func deputyWith(r *tocsin.Recipient, number string) string {
	for _, d := range r.Deputies {
		for _, n := range d.Numbers {
			if n.E164 == number {
				return d.Name
			}
		}
	}
	return ""
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
