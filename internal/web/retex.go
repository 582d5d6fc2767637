package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// RetexStore keeps each exercise's RETEX (lessons learned).
type RetexStore interface {
	SaveRetex(ctx context.Context, r tocsin.Retex) error
	Retex(ctx context.Context, activation string) (*tocsin.Retex, error)
	Retexes(ctx context.Context) (map[string]tocsin.Retex, error)
}

// saveRetex records the RETEX of a closed exercise activation, replacing
// any earlier one, and audits it.
func (s *Server) saveRetex(ctx context.Context, by tocsin.User, id, text string) (*tocsin.Retex, error) {
	if s.cfg.Retex == nil {
		return nil, tocsin.Errorf(tocsin.ENotFound, "RETEX non disponible")
	}
	if !by.Role.CanActivate() {
		return nil, tocsin.Errorf(tocsin.EForbidden, "le rôle %s ne permet pas de saisir un RETEX", by.Role)
	}
	text = strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n"))
	switch n := utf8.RuneCountInString(text); {
	case n == 0:
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "text", "le RETEX est vide")
	case n > tocsin.MaxRetex:
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "text", "RETEX trop long : %d caractères au plus", tocsin.MaxRetex)
	case !utf8.ValidString(text):
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "text", "texte invalide (UTF-8 attendu)")
	}
	v, err := s.cfg.Activations.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if !v.Exercise {
		return nil, tocsin.Errorf(tocsin.EConflict, "le RETEX se saisit sur un exercice ; cette activation est réelle")
	}
	if v.State != tocsin.Closed {
		return nil, tocsin.Errorf(tocsin.EConflict, "close l'exercice avant d'en saisir le RETEX")
	}
	old, err := s.cfg.Retex.Retex(ctx, id)
	if err != nil {
		return nil, err
	}
	r := tocsin.Retex{Activation: v.ID, Text: text, By: by.Name, At: s.retexNow().UTC()}
	if err := s.cfg.Retex.SaveRetex(ctx, r); err != nil {
		return nil, err
	}
	what := "RETEX saisi"
	if old != nil {
		what = "RETEX remplacé"
	}
	s.audit(ctx, by.Name, tocsin.AuditRetex, v.ID, what+" : "+text)
	return &r, nil
}

// retexOf returns an activation's RETEX, nil when none or not kept.
func (s *Server) retexOf(ctx context.Context, id string) (*tocsin.Retex, error) {
	if s.cfg.Retex == nil {
		return nil, nil
	}
	return s.cfg.Retex.Retex(ctx, id)
}

// putRetex answers POST /api/v1/activations/{id}/retex {"text": "..."}.
func (s *Server) putRetex(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Text string `json:"text"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	rx, err := s.saveRetex(r.Context(), userFrom(r.Context()), r.PathValue("id"), req.Text)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rx)
	return nil
}

// retexForm records the RETEX entered on the activation page.
func (c *console) retexForm(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id := r.PathValue("id")
	if _, err := c.srv.saveRetex(r.Context(), userFrom(r.Context()), id, r.PostFormValue("retex")); err != nil {
		return err
	}
	http.Redirect(w, r, "/activations/"+url.PathEscape(id)+"?info=retex", http.StatusSeeOther)
	return nil
}

// retexNow is the server's clock.
func (s *Server) retexNow() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}
