package activation

import (
	"context"
	"fmt"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// SendMessage records a follow-up message of an open activation (« fin
// d'alerte », new instructions) for its whole audience: dispatch texts it
// once to every official's mobile, informed or not, paced and
// deduplicated like the alert itself (tocsin.PlanNotices). It changes no
// acknowledgement and no indicator. Errors: EForbidden for a role that
// cannot activate, EInvalid naming the field "text" (empty, too long),
// EConflict on a closed, imported or call-out activation; nothing is
// changed then.
func (s *Service) SendMessage(ctx context.Context, by tocsin.User, id, text string) (*tocsin.FollowUp, error) {
	if !by.Role.CanActivate() {
		return nil, tocsin.Errorf(tocsin.EForbidden, "le rôle %s ne permet pas d'envoyer un message", by.Role)
	}
	cur, err := s.store.Activation(ctx, id)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	checked, err := cur.NewFollowUp(text, by.Name, now)
	if err != nil {
		return nil, err // checked before any write, and again below
	}
	var f tocsin.FollowUp
	_, err = s.store.UpdateActivation(ctx, id, func(a *tocsin.Activation) ([]tocsin.Event, error) {
		switch {
		case a.Imported != nil:
			return nil, tocsin.ImportedError(id)
		case a.CIPFor != "":
			return nil, callOutError(a)
		case a.State != tocsin.Open:
			return nil, tocsin.Errorf(tocsin.EConflict, "l'activation %s est close : aucun message ne peut plus partir", id)
		}
		var err error
		if f, err = a.NewFollowUp(text, by.Name, now); err != nil {
			return nil, err
		}
		a.Messages = append(a.Messages, f)
		return []tocsin.Event{{At: now, Kind: tocsin.EventFollowUp,
			Detail: fmt.Sprintf("message de suivi n° %d de %s, à envoyer à chaque élu : « %s »", f.N, by.Name, f.Text)}}, nil
	}, tocsin.AuditEntry{At: now, Actor: by.Name, Action: tocsin.AuditFollowUp, Activation: id,
		Detail: "message de suivi pour tous les élus de l'activation : « " + checked.Text + " »"})
	if err != nil {
		return nil, err
	}
	s.log.Info("follow-up message", "activation", id, "n", f.N, "by", by.Name)
	s.drain(ctx)
	return &f, nil
}
