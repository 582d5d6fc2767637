package activation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// The call-out of a CIP's operators is an activation of its own
// (tocsin.Activation.CIPFor), so that the same dispatch works it: the
// ladder, pacing, status callbacks, reconciliation with the provider.
// Each operator is a recipient; an answer (« 1 » j'arrive, « 2 »
// indisponible, « EN POSTE », by SMS or key) stops their ladder and is
// recorded in the CIP's cell, which decides when the CIP is activated.

// cipLadder calls an operator out: an SMS to their mobiles at once, a call
// to all their numbers 5 minutes later, then the supervisor's list.
var cipLadder = []tocsin.Rung{
	{After: 0, Channel: tocsin.SMS, Targets: []tocsin.Target{tocsin.TargetMobile}},
	{After: 5 * time.Minute, Channel: tocsin.Voice, Targets: []tocsin.Target{tocsin.TargetMobile, tocsin.TargetLandline}},
	{After: 15 * time.Minute, Channel: tocsin.Manual},
}

// cipRole is the role of an operator as a recipient of a call-out.
const cipRole = "operateur-cip"

// callOutID is the id of the call-out of an activation's CIP.
func callOutID(id string) string { return id + "-cip" }

// callOutError refuses a CIP for the call-out of another CIP.
func callOutError(a *tocsin.Activation) error {
	return tocsin.Errorf(tocsin.EConflict, "%s est l'appel des opérateurs de la CIP de l'activation %s : ouvrez la CIP depuis cette activation", a.ID, a.CIPFor)
}

// callOutTexts are the SMS and what a call says to an operator.
func callOutTexts(parent *tocsin.Activation) (msg, speech string) {
	prefix, spoken := "", ""
	if parent.Exercise {
		prefix, spoken = tocsin.ExercisePrefix, "Exercice. "
	}
	msg = fmt.Sprintf("%sPréfecture 76 : la cellule d'information du public (CIP) ouvre pour « %s ». Répondez 1 si vous arrivez, 2 si vous êtes indisponible, puis EN POSTE une fois en place.",
		prefix, parent.Title)
	speech = fmt.Sprintf("%sPréfecture de la Seine-Maritime. La cellule d'information du public ouvre pour : %s. Appuyez sur 1 si vous arrivez, sur 2 si vous êtes indisponible.",
		spoken, parent.Title)
	return msg, speech
}

// startCallOut writes the call-out of a CIP's operators; the leader's
// dispatch sends it. A call-out already written is left as it is.
func (s *Service) startCallOut(ctx context.Context, by tocsin.User, parent *tocsin.Activation, c *tocsin.CIPCell) error {
	now := s.now().UTC()
	_, announced := s.cipSettings(parent)
	a := &tocsin.Activation{ID: callOutID(parent.ID), Playbook: parent.Playbook, Title: "CIP — " + parent.Title, Exercise: parent.Exercise,
		Code: newCode(), State: tocsin.Open, ActivatedAt: now, Deadline: now.Add(announced), Ladder: cipLadder, CreatedBy: by.Name,
		CIPFor: parent.ID}
	msg, speech := callOutTexts(parent)
	rs := make([]tocsin.Recipient, 0, len(c.Operators))
	for _, o := range c.Operators {
		r := tocsin.Recipient{Official: tocsin.Official{ID: o.ID, Name: o.Name, Role: cipRole, Numbers: o.Numbers}, Message: msg, Speech: speech}
		r.Segments, r.Encoding = tocsin.Segments(msg)
		a.Refresh(&r, now)
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(x, y tocsin.Recipient) int { return strings.Compare(x.Official.ID, y.Official.ID) })
	a.Targeted = len(rs)
	first := tocsin.Event{At: now, Kind: tocsin.EventActivated,
		Detail: fmt.Sprintf("appel des opérateurs de la CIP de l'activation %s par %s : %d opérateurs", parent.ID, by.Name, len(rs))}
	entry := tocsin.AuditEntry{At: now, Actor: by.Name, Action: tocsin.AuditActivationCreated, Activation: a.ID, Detail: first.Detail}
	err := s.store.CreateActivation(ctx, a, rs, first, entry)
	if tocsin.ErrorCode(err) == tocsin.EConflict {
		return nil // written by an earlier try
	}
	if err == nil {
		s.log.Info("cip call-out created", "activation", parent.ID, "call_out", a.ID, "operators", len(rs))
	}
	return err
}

// closeCallOut closes the call-out of an activation's CIP, if any: nothing
// more is sent to its operators.
func (s *Service) closeCallOut(ctx context.Context, by string, id string) error {
	now := s.now().UTC()
	_, err := s.store.UpdateActivation(ctx, callOutID(id), func(a *tocsin.Activation) ([]tocsin.Event, error) {
		if a.State == tocsin.Closed {
			return nil, tocsin.ErrNoChange
		}
		a.State, a.ClosedAt, a.ClosedBy = tocsin.Closed, &now, by
		return []tocsin.Event{{At: now, Kind: tocsin.EventClosed, Detail: "appel des opérateurs de la CIP clos par " + by}}, nil
	}, tocsin.AuditEntry{At: now, Actor: by, Action: tocsin.AuditActivationClosed, Activation: callOutID(id), Detail: "appel des opérateurs de la CIP clos"})
	if tocsin.ErrorCode(err) == tocsin.ENotFound {
		return nil
	}
	return err
}

// cipReply applies an operator's SMS answer to a call-out: it is recorded
// in the CIP's cell first, then on the operator's recipient, which stops
// their ladder and keeps the reply's id, so that the same reply brought
// again by reconciliation changes nothing.
func (s *Service) cipReply(ctx context.Context, co *tocsin.Activation, operators []string, in tocsin.Inbound, at time.Time) (ReplyOutcome, error) {
	state, ok := tocsin.OperatorAnswer(in.Body)
	outcome := ReplyNotUnderstood
	quoted := fmt.Sprintf("« %s »", truncate(in.Body, 160))
	for _, op := range operators {
		if ok {
			r, err := s.store.Recipient(ctx, co.ID, op)
			if err != nil {
				return "", err
			}
			if in.SID == "" || !slices.Contains(r.Replies, in.SID) {
				if _, err := s.mark(ctx, r.Official.Name, co.CIPFor, op, state, at, "par SMS"); err != nil && tocsin.ErrorCode(err) != tocsin.EConflict {
					return "", err
				}
			}
			outcome = ReplyInformed
		}
		_, err := s.store.UpdateRecipient(ctx, co.ID, op, func(a *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
			if in.SID != "" && slices.Contains(r.Replies, in.SID) {
				return nil, tocsin.ErrNoChange
			}
			r.Replies = appendReply(r.Replies, in.SID)
			if !ok {
				return []tocsin.Event{{At: at, Kind: tocsin.EventReply, Channel: tocsin.SMS, Recovered: in.Recovered,
					Detail: fmt.Sprintf("réponse non reconnue de %s : %s", in.From, quoted)}}, nil
			}
			if r.InformedAt == nil {
				r.InformedAt, r.InformedHow, r.InformedFrom = &at, "sms", in.From
				a.Refresh(r, at)
			}
			return []tocsin.Event{{At: at, Kind: tocsin.EventInformed, Channel: tocsin.SMS, Recovered: in.Recovered,
				Detail: fmt.Sprintf("%s : « %s », réponse %s de %s", r.Official.Name, state.Label(), quoted, in.From)}}, nil
		})
		if err != nil && !errors.Is(err, tocsin.ErrNoChange) {
			return "", err
		}
	}
	s.log.Info("cip operator reply", "activation", co.CIPFor, "outcome", outcome)
	return outcome, nil
}

// cipKeyPress applies a key an operator pressed during a call-out's call:
// 1 « j'arrive », 2 « indisponible ». It reports whether the key answered.
func (s *Service) cipKeyPress(ctx context.Context, co *tocsin.Activation, ref AttemptRef, callSID, digits string) (bool, error) {
	state := tocsin.OperatorComing
	if digits == "2" {
		state = tocsin.OperatorUnavailable
	}
	now := s.now().UTC()
	r, err := s.store.UpdateRecipient(ctx, ref.Activation, ref.Official, func(a *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
		at := r.Attempt(ref.Attempt)
		if at == nil || at.Channel != tocsin.Voice || (at.SID != "" && at.SID != callSID) {
			return nil, tocsin.Errorf(tocsin.EInvalid, "appel %s inconnu", ref.Attempt)
		}
		if at.SID == "" {
			at.SID = callSID
		}
		if r.InformedAt == nil {
			r.InformedAt, r.InformedHow, r.InformedFrom = &now, "voice", at.To
			a.Refresh(r, now)
		}
		return []tocsin.Event{{At: now, Kind: tocsin.EventInformed, Attempt: at.ID, Channel: tocsin.Voice,
			Detail: fmt.Sprintf("%s : « %s », touche %s pendant l'appel au %s", r.Official.Name, state.Label(), digits, at.To)}}, nil
	})
	if err != nil {
		return false, err
	}
	if _, err := s.mark(ctx, r.Official.Name, co.CIPFor, ref.Official, state, now, "par touche "+digits); err != nil && tocsin.ErrorCode(err) != tocsin.EConflict {
		return false, err
	}
	return true, nil
}

// closeCIPWith closes the CIP of an activation that closes, and its
// call-out, best effort: a CIP left open is closed by hand.
func (s *Service) closeCIPWith(ctx context.Context, by tocsin.User, id string) {
	if s.cip == nil {
		return
	}
	c, err := s.cip.CIPCell(ctx, id)
	if err != nil || c == nil || c.ClosedAt != nil {
		return
	}
	if _, err := s.CloseCIP(ctx, by, id); err != nil {
		s.log.Warn("cip left open with its activation closed", "activation", id, "err", err)
	}
}
