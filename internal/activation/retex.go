package activation

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// RetexStore keeps each exercise's RETEX (lessons learned), apart from
// the activation's own record.
type RetexStore interface {
	// SaveRetex writes audit in the same transaction.
	SaveRetex(ctx context.Context, r tocsin.Retex, audit ...tocsin.AuditEntry) error
	Retex(ctx context.Context, activation string) (*tocsin.Retex, error)
	Retexes(ctx context.Context) (map[string]tocsin.Retex, error)
}

// SaveRetex records the RETEX of a closed exercise, replacing any earlier
// one, and audits it. It reads only the activation's record, not its
// recipients or timeline. Errors: EForbidden for a role that cannot
// activate, EInvalid for an empty or too long text, ENotFound for an
// unknown activation, EConflict for a real or open one.
func (s *Service) SaveRetex(ctx context.Context, by tocsin.User, id, text string) (*tocsin.Retex, error) {
	if s.retex == nil {
		return nil, tocsin.Errorf(tocsin.ENotFound, "RETEX non disponible")
	}
	if !by.Role.CanActivate() {
		return nil, tocsin.Errorf(tocsin.EForbidden, "le rôle %s ne permet pas de saisir un RETEX", by.Role)
	}
	text = strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n"))
	switch n := utf8.RuneCountInString(text); {
	case !utf8.ValidString(text):
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "text", "texte invalide (UTF-8 attendu)")
	case n == 0:
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "text", "le RETEX est vide")
	case n > tocsin.MaxRetex:
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "text", "RETEX trop long : %d caractères, %d au plus", n, tocsin.MaxRetex)
	}
	a, err := s.store.Activation(ctx, id)
	if err != nil {
		return nil, err
	}
	if !a.Exercise {
		return nil, tocsin.Errorf(tocsin.EConflict, "le RETEX se saisit sur un exercice ; l'activation %s est réelle", id)
	}
	if a.State != tocsin.Closed {
		return nil, tocsin.Errorf(tocsin.EConflict, "close l'exercice %s avant d'en saisir le RETEX", id)
	}
	old, err := s.retex.Retex(ctx, id)
	if err != nil {
		return nil, err
	}
	r := tocsin.Retex{Activation: a.ID, Text: text, By: by.Name, At: s.now().UTC()}
	what := "RETEX saisi"
	if old != nil {
		what = "RETEX remplacé"
	}
	entry := tocsin.AuditEntry{At: r.At, Actor: by.Name, Action: tocsin.AuditRetex, Activation: a.ID, Detail: what + " : " + text}
	if err := s.retex.SaveRetex(ctx, r, entry); err != nil {
		return nil, err
	}
	s.log.Info("retex saved", "activation", id, "by", by.Name, "replaced", old != nil)
	s.drain(ctx)
	return &r, nil
}

// Retex returns an activation's RETEX, nil when none was entered or none
// is kept. An unknown activation is ENotFound.
func (s *Service) Retex(ctx context.Context, id string) (*tocsin.Retex, error) {
	if _, err := s.store.Activation(ctx, id); err != nil {
		return nil, err
	}
	if s.retex == nil {
		return nil, nil
	}
	return s.retex.Retex(ctx, id)
}

// Retexes returns every RETEX by activation id; none when none is kept.
func (s *Service) Retexes(ctx context.Context) (map[string]tocsin.Retex, error) {
	if s.retex == nil {
		return map[string]tocsin.Retex{}, nil
	}
	return s.retex.Retexes(ctx)
}
