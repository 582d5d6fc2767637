package activation

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Calls by hand. When the ladder has done what it could, duty officers
// call the officials on the « à appeler » list from their own phones. An
// officer takes an official first (« J'appelle »), so that two do not call
// the same mayor: the claim is written on the recipient with a
// compare-and-swap, so of two officers taking the same official at once
// one wins and the other is told who has them. A claim lapses after
// ClaimFor, or is let go by its holder. Calls that fail are recorded with
// the recipient; one that informs is a confirmation (Confirm). Each step
// is in the timeline and, through the outbox, in the audit trail.

// canCall refuses the roles that may not call officials by hand.
func canCall(by tocsin.User) error {
	if !by.Role.CanActivate() {
		return tocsin.Errorf(tocsin.EForbidden, "le rôle %s ne permet pas d'appeler les élus", by.Role)
	}
	return nil
}

// callee checks that by may call officials by hand and reads the
// recipient they are about to act on.
func (s *Service) callee(ctx context.Context, by tocsin.User, activationID, official string) (*tocsin.Recipient, error) {
	if err := canCall(by); err != nil {
		return nil, err
	}
	return s.store.Recipient(ctx, activationID, official)
}

// Claim takes an official for the duty officer by, who is about to call
// them: refused while another officer holds them. Taking an official one
// already holds renews the claim.
func (s *Service) Claim(ctx context.Context, by tocsin.User, activationID, official string) (*tocsin.Recipient, error) {
	cur, err := s.callee(ctx, by, activationID, official)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	until := now.Add(s.claimFor)
	entry := tocsin.AuditEntry{At: now, Actor: by.Name, Action: tocsin.AuditClaimed, Activation: activationID,
		Detail: fmt.Sprintf("%s (%s) pris·e par %s pour un appel à la main, jusqu'à %s", cur.Official.Name, official, by.Name, tocsin.ParisTime(until))}
	r, err := s.store.UpdateRecipient(ctx, activationID, official, func(a *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
		if err := callable(a, r, activationID); err != nil {
			return nil, err
		}
		if c := r.Claim; c.Held(now) && c.By != by.Name {
			return nil, tocsin.Errorf(tocsin.EConflict, "%s est déjà appelé·e par %s depuis %s (jusqu'à %s au plus tard)",
				r.Official.Name, c.By, hour(c.At), hour(c.Until))
		}
		r.Claim = &tocsin.Claim{By: by.Name, At: now, Until: until}
		return []tocsin.Event{{At: now, Kind: tocsin.EventClaimed,
			Detail: fmt.Sprintf("%s appelle %s (pris·e jusqu'à %s)", by.Name, r.Official.Name, hour(until))}}, nil
	}, entry)
	if err != nil {
		return nil, err
	}
	s.log.Info("official claimed", "activation", activationID, "official", official, "by", by.Name)
	s.drain(ctx)
	return r, nil
}

// Release lets go an official the duty officer by holds. Only the holder
// releases; a lapsed claim needs no release.
func (s *Service) Release(ctx context.Context, by tocsin.User, activationID, official string) (*tocsin.Recipient, error) {
	cur, err := s.callee(ctx, by, activationID, official)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	entry := tocsin.AuditEntry{At: now, Actor: by.Name, Action: tocsin.AuditReleased, Activation: activationID,
		Detail: fmt.Sprintf("%s (%s) libéré·e par %s", cur.Official.Name, official, by.Name)}
	r, err := s.store.UpdateRecipient(ctx, activationID, official, func(a *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
		switch c := r.Claim; {
		case !c.Held(now):
			return nil, tocsin.Errorf(tocsin.EConflict, "personne n'appelle %s en ce moment : rien à libérer", r.Official.Name)
		case c.By != by.Name:
			return nil, tocsin.Errorf(tocsin.EConflict, "%s est appelé·e par %s : seul·e %s peut le libérer, sinon il l'est à %s",
				r.Official.Name, c.By, c.By, hour(c.Until))
		}
		r.Claim = nil
		return []tocsin.Event{{At: now, Kind: tocsin.EventReleased, Detail: fmt.Sprintf("%s libère %s", by.Name, r.Official.Name)}}, nil
	}, entry)
	if err != nil {
		return nil, err
	}
	s.log.Info("official released", "activation", activationID, "official", official, "by", by.Name)
	s.drain(ctx)
	return r, nil
}

// CallRequest is a call made by hand that did not inform the official.
type CallRequest struct {
	Outcome tocsin.CallOutcome `json:"outcome"` // no-answer, voicemail, wrong-number, other
	Number  string             `json:"number"`  // the number called (E.164), optional
	Note    string             `json:"note"`    // required with other
}

// LogCall records a call by hand that did not inform the official. The
// official stays on the list, held by whoever holds them.
func (s *Service) LogCall(ctx context.Context, by tocsin.User, activationID, official string, req CallRequest) (*tocsin.Recipient, error) {
	if err := canCall(by); err != nil {
		return nil, err
	}
	req.Number, req.Note = strings.TrimSpace(req.Number), strings.TrimSpace(req.Note)
	switch {
	case !req.Outcome.Valid():
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "outcome", "issue de l'appel inconnue « %s » : pas de réponse (no-answer), messagerie (voicemail), faux numéro (wrong-number) ou autre (other)", req.Outcome)
	case req.Outcome == tocsin.CallOther && req.Note == "":
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "note", "dites dans la note ce qui s'est passé")
	case len([]rune(req.Note)) > maxNote:
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "note", "%d caractères au plus", maxNote)
	}
	cur, err := s.store.Recipient(ctx, activationID, official)
	if err != nil {
		return nil, err
	}
	if req.Number != "" && !hasNumber(cur, req.Number) {
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "number", "le numéro %s n'est ni celui de %s ni celui d'un de ses suppléants", req.Number, cur.Official.Name)
	}
	now := s.now().UTC()
	call := tocsin.ManualCall{At: now, By: by.Name, Number: req.Number, Outcome: req.Outcome, Note: req.Note}
	entry := tocsin.AuditEntry{At: now, Actor: by.Name, Action: tocsin.AuditCalled, Activation: activationID,
		Detail: fmt.Sprintf("%s (%s) : %s", cur.Official.Name, official, call.Describe())}
	r, err := s.store.UpdateRecipient(ctx, activationID, official, func(a *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
		if err := callable(a, r, activationID); err != nil {
			return nil, err
		}
		r.Calls = append(r.Calls, call)
		return []tocsin.Event{{At: now, Kind: tocsin.EventCalled, Channel: tocsin.Manual, Detail: r.Official.Name + " : " + call.Describe()}}, nil
	}, entry)
	if err != nil {
		return nil, err
	}
	s.log.Info("manual call recorded", "activation", activationID, "official", official, "outcome", req.Outcome, "by", by.Name)
	s.drain(ctx)
	return r, nil
}

// callable refuses calls by hand for an official who needs none.
func callable(a *tocsin.Activation, r *tocsin.Recipient, id string) error {
	switch {
	case a.Imported != nil:
		return tocsin.ImportedError(id)
	case a.State != tocsin.Open:
		return tocsin.Errorf(tocsin.EConflict, "l'activation %s est close : plus d'appel à passer", id)
	case r.InformedAt != nil:
		return tocsin.Errorf(tocsin.EConflict, "%s est déjà informé·e depuis %s", r.Official.Name, tocsin.ParisTime(*r.InformedAt))
	}
	return nil
}

// hour is a time of day in Paris, 17:35.
func hour(t time.Time) string { return t.In(tocsin.Paris()).Format("15:04") }

// hasNumber reports whether number is the official's or a deputy's.
func hasNumber(r *tocsin.Recipient, number string) bool {
	for _, n := range r.Official.Numbers {
		if n.E164 == number {
			return true
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

// Rush brings an official's next rung forward to now (« Relancer
// maintenant »): refused when nothing more would be sent.
func (s *Service) Rush(ctx context.Context, by tocsin.User, activationID, official string) (*tocsin.Recipient, error) {
	if !by.Role.CanActivate() {
		return nil, tocsin.Errorf(tocsin.EForbidden, "le rôle %s ne permet pas de relancer", by.Role)
	}
	cur, err := s.store.Recipient(ctx, activationID, official)
	if err != nil {
		return nil, err
	}
	r, rushed, err := s.rush(ctx, by, activationID, cur)
	if err != nil {
		return nil, err
	}
	if !rushed {
		return nil, tocsin.Errorf(tocsin.EConflict, "rien à relancer pour %s : tous les échelons automatiques sont partis ; appelez-le·la à la main", cur.Official.Name)
	}
	s.drain(ctx)
	return r, nil
}

// RushAll brings forward the next rung of every official not informed
// who has one left, and returns how many.
func (s *Service) RushAll(ctx context.Context, by tocsin.User, activationID string) (int, error) {
	if !by.Role.CanActivate() {
		return 0, tocsin.Errorf(tocsin.EForbidden, "le rôle %s ne permet pas de relancer", by.Role)
	}
	a, err := s.store.Activation(ctx, activationID)
	if err != nil {
		return 0, err
	}
	if err := callable(a, &tocsin.Recipient{}, activationID); err != nil {
		return 0, err
	}
	rs, err := s.store.Recipients(ctx, activationID)
	if err != nil {
		return 0, err
	}
	n := 0
	for i := range rs {
		if rs[i].InformedAt != nil {
			continue
		}
		_, rushed, err := s.rush(ctx, by, activationID, &rs[i])
		if err != nil {
			return n, err
		}
		if rushed {
			n++
		}
	}
	s.log.Info("officials rushed", "activation", activationID, "count", n, "by", by.Name)
	s.drain(ctx)
	return n, nil
}

// rush writes one official's rush with its event and audit entry, or
// nothing when there is nothing to bring forward.
func (s *Service) rush(ctx context.Context, by tocsin.User, activationID string, cur *tocsin.Recipient) (*tocsin.Recipient, bool, error) {
	now := s.now().UTC()
	entry := tocsin.AuditEntry{At: now, Actor: by.Name, Action: tocsin.AuditRushed, Activation: activationID,
		Detail: fmt.Sprintf("%s (%s) relancé·e par %s : échelon suivant maintenant", cur.Official.Name, cur.Official.ID, by.Name)}
	rushed := false
	r, err := s.store.UpdateRecipient(ctx, activationID, cur.Official.ID, func(a *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
		rushed = false // tried again after a concurrent write
		if err := callable(a, r, activationID); err != nil {
			return nil, err
		}
		ch, ok := a.RushNext(r, now, by.Name)
		if !ok {
			return nil, tocsin.ErrNoChange
		}
		rushed = true
		return []tocsin.Event{{At: now, Kind: tocsin.EventRushed, Channel: ch,
			Detail: fmt.Sprintf("%s relance %s : %s maintenant", by.Name, r.Official.Name, ch.Label())}}, nil
	}, entry)
	if err != nil {
		return nil, false, err
	}
	return r, rushed, nil
}
