package activation

import (
	"context"
	"fmt"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// CIPStore keeps the CIP's roster and the cell of each activation.
type CIPStore interface {
	Operators(ctx context.Context) ([]tocsin.Operator, error)
	CIPCell(ctx context.Context, activation string) (*tocsin.CIPCell, error)
	// UpdateCIPCell changes an activation and its cell together, with the
	// events and audit entries fn returns, all or nothing.
	UpdateCIPCell(ctx context.Context, activation string,
		fn func(a *tocsin.Activation, c *tocsin.CIPCell) (*tocsin.CIPCell, []tocsin.Event, []tocsin.AuditEntry, error)) (*tocsin.Activation, *tocsin.CIPCell, error)
}

// cipSettings returns what the activation's playbook says of the CIP, the
// defaults filled in. A playbook no longer in force gives the defaults.
func (s *Service) cipSettings(a *tocsin.Activation) (minOperators int, announced time.Duration) {
	minOperators, announced = tocsin.DefaultCIPMinOperators, s.cipDelay
	if s.playbooks == nil {
		return
	}
	for _, pb := range s.playbooks() {
		if pb.ID != a.Playbook || pb.CIP == nil {
			continue
		}
		if pb.CIP.MinOperators > 0 {
			minOperators = pb.CIP.MinOperators
		}
		if pb.CIP.AnnouncedDelay > 0 {
			announced = pb.CIP.AnnouncedDelay
		}
	}
	return
}

// CIPCell returns an activation and its CIP cell: ENotFound when the
// activation is unknown, a nil cell when its CIP was not opened in Tocsin.
func (s *Service) CIPCell(ctx context.Context, id string) (*tocsin.Activation, *tocsin.CIPCell, error) {
	if s.cip == nil {
		return nil, nil, tocsin.Errorf(tocsin.ENotFound, "la CIP n'est pas gérée par ce service")
	}
	a, err := s.store.Activation(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	c, err := s.cip.CIPCell(ctx, id)
	return a, c, err
}

// OpenCIP opens the CIP of an open activation: the available operators of
// the roster are frozen into its cell, called out, and the public line is
// open. The CIP counts as activated once the playbook's minimum of them
// are in position (MarkOperator).
func (s *Service) OpenCIP(ctx context.Context, by tocsin.User, id string) (*tocsin.CIPCell, error) {
	if !by.Role.CanActivate() {
		return nil, tocsin.Errorf(tocsin.EForbidden, "le rôle %s ne permet pas d'ouvrir la CIP", by.Role)
	}
	if s.cip == nil {
		return nil, tocsin.Errorf(tocsin.ENotFound, "la CIP n'est pas gérée par ce service")
	}
	roster, err := s.cip.Operators(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	var called []tocsin.CIPOperator
	for _, o := range roster {
		if o.Available {
			called = append(called, tocsin.CIPOperator{Operator: o, State: tocsin.OperatorCalled, At: now})
		}
	}
	if len(called) == 0 {
		return nil, tocsin.Errorf(tocsin.EConflict, "aucun opérateur disponible dans la liste de la CIP (%d inscrits) : importez la liste à jour depuis la page « CIP »", len(roster))
	}
	// A cell whose call-out could not be written is opened again by
	// writing its call-out only.
	_, err = s.store.Activation(ctx, callOutID(id))
	missing := tocsin.ErrorCode(err) == tocsin.ENotFound
	if err != nil && !missing {
		return nil, err
	}
	a, c, err := s.cip.UpdateCIPCell(ctx, id, func(a *tocsin.Activation, c *tocsin.CIPCell) (*tocsin.CIPCell, []tocsin.Event, []tocsin.AuditEntry, error) {
		switch {
		case a.Imported != nil:
			return nil, nil, nil, tocsin.ImportedError(id)
		case a.CIPFor != "":
			return nil, nil, nil, callOutError(a)
		case a.State != tocsin.Open:
			return nil, nil, nil, tocsin.Errorf(tocsin.EConflict, "l'activation %s est close", id)
		case c != nil && c.ClosedAt == nil && missing:
			return nil, nil, nil, tocsin.ErrNoChange
		case c != nil:
			return nil, nil, nil, tocsin.Errorf(tocsin.EConflict, "la CIP est déjà ouverte depuis le %s", tocsin.ParisTime(c.OpenedAt))
		case a.CIP != nil:
			return nil, nil, nil, tocsin.Errorf(tocsin.EConflict, "la CIP est déjà activée depuis le %s", tocsin.ParisTime(a.CIP.ActivatedAt))
		}
		minOps, announced := s.cipSettings(a)
		c = &tocsin.CIPCell{Activation: id, OpenedAt: now, OpenedBy: by.Name, MinOperators: minOps,
			AnnouncedSeconds: announced.Seconds(), Operators: called, CallOut: callOutID(id)}
		detail := fmt.Sprintf("CIP ouverte par %s : %d opérateurs appelés, %d en poste requis, délai annoncé %s",
			by.Name, len(called), minOps, tocsin.FormatDuration(announced))
		if len(called) < minOps {
			detail += fmt.Sprintf(" ; attention, moins d'opérateurs disponibles (%d) que le minimum (%d)", len(called), minOps)
		}
		return c, []tocsin.Event{{At: now, Kind: tocsin.EventCIPCell, Detail: detail}},
			[]tocsin.AuditEntry{{At: now, Actor: by.Name, Action: tocsin.AuditCIPOpened, Activation: id, Detail: detail}}, nil
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("cip opened", "activation", id, "by", by.Name, "operators", len(c.Operators), "min", c.MinOperators)
	if err := s.startCallOut(ctx, by, a, c); err != nil {
		return nil, fmt.Errorf("%w: %w", tocsin.Errorf(tocsin.EUnavailable, "la CIP est ouverte mais l'appel de ses opérateurs n'est pas parti : recommencez « Ouvrir la CIP »"), err)
	}
	s.drain(ctx)
	return c, nil
}

// MarkOperator records where an operator of an open CIP stands: « j'arrive »
// (coming), « indisponible » (unavailable) or « en poste » (in position),
// said by the operator or recorded by the supervisor. When the playbook's
// minimum of operators are in position, the CIP is activated: the
// activation's CIP is stamped now, in the same write.
func (s *Service) MarkOperator(ctx context.Context, by tocsin.User, id, operator string, state tocsin.OperatorState) (*tocsin.CIPCell, error) {
	if !by.Role.CanActivate() {
		return nil, tocsin.Errorf(tocsin.EForbidden, "le rôle %s ne permet pas de gérer la CIP", by.Role)
	}
	if !state.Valid() || state == tocsin.OperatorCalled {
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "state", "état %q inconnu : coming (j'arrive), unavailable (indisponible) ou in_position (en poste)", state)
	}
	if s.cip == nil {
		return nil, tocsin.Errorf(tocsin.ENotFound, "la CIP n'est pas gérée par ce service")
	}
	return s.mark(ctx, by.Name, id, operator, state, s.now().UTC(), "")
}

// mark records an operator's state at `at`. how is "" when actor (the
// supervisor) records it, else how the operator said it (« par SMS »):
// then a repeated answer changes nothing, and « j'arrive » does not undo
// « en poste ».
func (s *Service) mark(ctx context.Context, actor, id, operator string, state tocsin.OperatorState, at time.Time, how string) (*tocsin.CIPCell, error) {
	now := at
	var activated *tocsin.CIP
	_, c, err := s.cip.UpdateCIPCell(ctx, id, func(a *tocsin.Activation, c *tocsin.CIPCell) (*tocsin.CIPCell, []tocsin.Event, []tocsin.AuditEntry, error) {
		activated = nil
		switch {
		case c == nil:
			return nil, nil, nil, tocsin.Errorf(tocsin.EConflict, "la CIP de l'activation %s n'est pas ouverte", id)
		case c.ClosedAt != nil:
			return nil, nil, nil, tocsin.Errorf(tocsin.EConflict, "la CIP de l'activation %s est fermée depuis le %s", id, tocsin.ParisTime(*c.ClosedAt))
		}
		op := c.Operator(operator)
		if op == nil {
			return nil, nil, nil, tocsin.Errorf(tocsin.ENotFound, "l'opérateur %s n'a pas été appelé pour cette CIP", operator)
		}
		if how != "" && (op.State == state || (state == tocsin.OperatorComing && op.State == tocsin.OperatorInPosition)) {
			return nil, nil, nil, tocsin.ErrNoChange
		}
		if op.State == state {
			return nil, nil, nil, tocsin.Errorf(tocsin.EConflict, "%s est déjà « %s » depuis le %s", op.Name, state.Label(), tocsin.ParisTime(op.At))
		}
		op.State, op.At, op.By = state, now, actor
		noted := "noté par " + actor
		if how != "" {
			noted = "répondu " + how
		}
		detail := fmt.Sprintf("CIP : %s (%s) « %s », %s ; %d en poste sur %d requis", op.Name, op.ID, state.Label(), noted,
			c.Count(tocsin.OperatorInPosition), c.MinOperators)
		events := []tocsin.Event{{At: now, Kind: tocsin.EventCIPCell, Detail: detail}}
		audit := []tocsin.AuditEntry{{At: now, Actor: actor, Action: tocsin.AuditCIPOperator, Activation: id, Detail: detail}}
		if a.CIP == nil && c.Staffed() {
			announced := time.Duration(c.AnnouncedSeconds * float64(time.Second))
			a.CIP = a.NewCIP(now, "Tocsin", announced, "")
			a.CIP.Staffed = c.Count(tocsin.OperatorInPosition)
			activated = a.CIP
			verdict := "dans le délai annoncé"
			if !a.CIP.WithinDelay {
				verdict = "hors du délai annoncé"
			}
			d := fmt.Sprintf("CIP activée : ligne ouverte et %d opérateurs en poste, %s après l'activation : %s (%s)",
				a.CIP.Staffed, tocsin.FormatDuration(now.Sub(a.ActivatedAt)), verdict, tocsin.FormatDuration(announced))
			events = append(events, tocsin.Event{At: now, Kind: tocsin.EventCIP, Detail: d})
			audit = append(audit, tocsin.AuditEntry{At: now, Actor: actor, Action: tocsin.AuditCIP, Activation: id, Detail: d})
		}
		return c, events, audit, nil
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("cip operator", "activation", id, "operator", operator, "state", state, "by", actor)
	if activated != nil {
		s.log.Info("cip activated", "activation", id, "staffed", activated.Staffed, "within", activated.WithinDelay)
	}
	s.drain(ctx)
	return c, nil
}

// CloseCIP closes an activation's CIP: its line closes, and nothing more
// is recorded of its operators. The activation's CIP, if stamped, stays.
func (s *Service) CloseCIP(ctx context.Context, by tocsin.User, id string) (*tocsin.CIPCell, error) {
	if !by.Role.CanActivate() {
		return nil, tocsin.Errorf(tocsin.EForbidden, "le rôle %s ne permet pas de fermer la CIP", by.Role)
	}
	if s.cip == nil {
		return nil, tocsin.Errorf(tocsin.ENotFound, "la CIP n'est pas gérée par ce service")
	}
	now := s.now().UTC()
	_, c, err := s.cip.UpdateCIPCell(ctx, id, func(a *tocsin.Activation, c *tocsin.CIPCell) (*tocsin.CIPCell, []tocsin.Event, []tocsin.AuditEntry, error) {
		switch {
		case c == nil:
			return nil, nil, nil, tocsin.Errorf(tocsin.EConflict, "la CIP de l'activation %s n'est pas ouverte", id)
		case c.ClosedAt != nil:
			return nil, nil, nil, tocsin.Errorf(tocsin.EConflict, "la CIP est déjà fermée depuis le %s", tocsin.ParisTime(*c.ClosedAt))
		}
		c.ClosedAt, c.ClosedBy = &now, by.Name
		detail := fmt.Sprintf("CIP fermée par %s : %d opérateurs en poste", by.Name, c.Count(tocsin.OperatorInPosition))
		return c, []tocsin.Event{{At: now, Kind: tocsin.EventCIPCell, Detail: detail}},
			[]tocsin.AuditEntry{{At: now, Actor: by.Name, Action: tocsin.AuditCIPClosed, Activation: id, Detail: detail}}, nil
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("cip closed", "activation", id, "by", by.Name)
	if err := s.closeCallOut(ctx, by.Name, id); err != nil {
		s.log.Warn("cip call-out left open", "activation", id, "err", err)
	}
	s.drain(ctx)
	return c, nil
}
