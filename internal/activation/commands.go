package activation

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Close ends an activation: nothing more is sent for it.
func (s *Service) Close(ctx context.Context, by tocsin.User, id string) (*tocsin.Activation, error) {
	if !by.Role.CanActivate() {
		return nil, tocsin.Errorf(tocsin.EForbidden, "le rôle %s ne permet pas de clore une activation", by.Role)
	}
	now := s.now().UTC()
	a, err := s.store.UpdateActivation(ctx, id, func(a *tocsin.Activation) ([]tocsin.Event, error) {
		if a.Imported != nil {
			return nil, tocsin.ImportedError(id)
		}
		if a.State == tocsin.Closed {
			return nil, tocsin.Errorf(tocsin.EConflict, "l'activation %s est déjà close", id)
		}
		a.State, a.ClosedAt, a.ClosedBy = tocsin.Closed, &now, by.Name
		return []tocsin.Event{{At: now, Kind: tocsin.EventClosed, Detail: "activation close par " + by.Name}}, nil
	}, tocsin.AuditEntry{At: now, Actor: by.Name, Action: tocsin.AuditActivationClosed, Activation: id, Detail: "activation close"})
	if err != nil {
		return nil, err
	}
	s.log.Info("activation closed", "activation", id, "by", by.Name)
	if a.CIPFor == "" {
		s.closeCIPWith(ctx, by, id)
	}
	s.drain(ctx)
	return a, nil
}

// ActivateCIP records by hand that the public information cell was
// activated for an open activation, now, against the announced delay: a
// CIP opened outside Tocsin, marked as such. It can be recorded once; a
// CIP opened in Tocsin (OpenCIP) is stamped when it is staffed.
func (s *Service) ActivateCIP(ctx context.Context, by tocsin.User, id, note string) (*tocsin.Activation, error) {
	if !by.Role.CanActivate() {
		return nil, tocsin.Errorf(tocsin.EForbidden, "le rôle %s ne permet pas d'activer la CIP", by.Role)
	}
	note = strings.TrimSpace(note)
	if len([]rune(note)) > maxNote {
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "note", "%d caractères au plus", maxNote)
	}
	// The entry is written with the change: its delay is computed now,
	// from the activation's start, which never changes.
	cur, err := s.store.Activation(ctx, id)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	_, announced := s.cipSettings(cur)
	cip := cur.NewCIP(now, by.Name, announced, note)
	entry := tocsin.AuditEntry{At: now, Actor: by.Name, Action: tocsin.AuditCIP, Activation: id, Detail: fmt.Sprintf("CIP ouverte hors de Tocsin, déclarée activée %s après l'activation, délai annoncé %s, dans le délai : %t",
		tocsin.FormatDuration(time.Duration(cip.DelaySeconds*float64(time.Second))), tocsin.FormatDuration(announced), cip.WithinDelay)}
	a, err := s.store.UpdateActivation(ctx, id, func(a *tocsin.Activation) ([]tocsin.Event, error) {
		switch {
		case a.Imported != nil:
			return nil, tocsin.ImportedError(id)
		case a.CIPFor != "":
			return nil, callOutError(a)
		case a.CIP != nil:
			return nil, tocsin.Errorf(tocsin.EConflict, "la CIP est déjà activée depuis le %s", tocsin.ParisTime(a.CIP.ActivatedAt))
		case a.State != tocsin.Open:
			return nil, tocsin.Errorf(tocsin.EConflict, "l'activation %s est close", id)
		}
		a.CIP = a.NewCIP(now, by.Name, announced, note)
		verdict := "dans le délai annoncé"
		if !a.CIP.WithinDelay {
			verdict = "hors du délai annoncé"
		}
		return []tocsin.Event{{At: now, Kind: tocsin.EventCIP, Detail: fmt.Sprintf("CIP ouverte hors de Tocsin, déclarée activée par %s, %s après l'activation : %s (%s)",
			by.Name, tocsin.FormatDuration(now.Sub(a.ActivatedAt)), verdict, tocsin.FormatDuration(announced))}}, nil
	}, entry)
	if err != nil {
		return nil, err
	}
	s.log.Info("cip activated", "activation", id, "by", by.Name, "within", a.CIP.WithinDelay)
	s.drain(ctx)
	return a, nil
}

// ConfirmRequest says how the duty officer reached an official another way.
type ConfirmRequest struct {
	Reached string `json:"reached"` // who was reached; default the official
	How     string `json:"how"`     // required: telephone, en personne, radio…
	Note    string `json:"note"`
}

// Confirm records that the duty officer reached an official another way:
// the official counts as informed from now, and every pending attempt for
// them stops. Confirming an informed official is a conflict.
func (s *Service) Confirm(ctx context.Context, by tocsin.User, activationID, official string, req ConfirmRequest) (*tocsin.Recipient, error) {
	if !by.Role.CanActivate() {
		return nil, tocsin.Errorf(tocsin.EForbidden, "le rôle %s ne permet pas de confirmer", by.Role)
	}
	req.How, req.Reached, req.Note = strings.TrimSpace(req.How), strings.TrimSpace(req.Reached), strings.TrimSpace(req.Note)
	switch {
	case req.How == "":
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "how", "dites comment l'élu a été joint (téléphone, en personne…)")
	case len([]rune(req.How)) > 100:
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "how", "100 caractères au plus")
	case len([]rune(req.Reached)) > 100:
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "reached", "100 caractères au plus")
	case len([]rune(req.Note)) > maxNote:
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "note", "%d caractères au plus", maxNote)
	}
	// The entry is written with the change: it names the official as the
	// recipient holds them, which never changes.
	cur, err := s.store.Recipient(ctx, activationID, official)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	reached := req.Reached
	if reached == "" {
		reached = cur.Official.Name
	}
	entry := tocsin.AuditEntry{At: now, Actor: by.Name, Action: tocsin.AuditConfirmed, Activation: activationID,
		Detail: fmt.Sprintf("%s (%s) confirmé·e à la main : joint·e par %s (%s)", cur.Official.Name, official, reached, req.How)}
	r, err := s.store.UpdateRecipient(ctx, activationID, official, func(a *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
		if a.Imported != nil {
			return nil, tocsin.ImportedError(activationID)
		}
		if r.InformedAt != nil {
			return nil, tocsin.Errorf(tocsin.EConflict, "%s est déjà informé·e (%s, %s)", r.Official.Name, r.InformedHow, tocsin.ParisTime(*r.InformedAt))
		}
		r.InformedAt, r.InformedHow, r.InformedFrom = &now, "manual", by.Name
		r.Confirmation = &tocsin.Confirmation{By: by.Name, Reached: reached, How: req.How, Note: req.Note}
		r.Claim = nil
		a.Refresh(r, now)
		detail := fmt.Sprintf("%s informé·e : joint·e par %s (%s), confirmé par %s", r.Official.Name, reached, req.How, by.Name)
		if req.Note != "" {
			detail += " — " + req.Note
		}
		return []tocsin.Event{{At: now, Kind: tocsin.EventInformed, Detail: detail}}, nil
	}, entry)
	if err != nil {
		return nil, err
	}
	s.log.Info("official informed", "activation", activationID, "official", official, "how", "manual", "by", by.Name)
	s.drain(ctx)
	return r, nil
}
