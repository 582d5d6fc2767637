package web

import (
	"net/http"
	"net/url"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// putRetex answers POST /api/v1/activations/{id}/retex {"text": "..."}:
// the RETEX of a closed exercise, replacing any earlier one.
func (s *Server) putRetex(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Text string `json:"text"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	rx, err := s.cfg.Retexes.SaveRetex(r.Context(), userFrom(r.Context()), r.PathValue("id"), req.Text)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rx)
	return nil
}

// getRetex answers GET /api/v1/activations/{id}/retex: 404 when none was
// entered.
func (s *Server) getRetex(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	rx, err := s.cfg.Retexes.Retex(r.Context(), id)
	if err != nil {
		return err
	}
	if rx == nil {
		return tocsin.Errorf(tocsin.ENotFound, "aucun RETEX n'a été saisi pour l'activation %s", id)
	}
	writeJSON(w, http.StatusOK, rx)
	return nil
}

// retexForm records the RETEX entered on the activation page.
func (c *console) retexForm(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id := r.PathValue("id")
	if _, err := c.cfg.Retexes.SaveRetex(r.Context(), userFrom(r.Context()), id, r.PostFormValue("retex")); err != nil {
		return err
	}
	http.Redirect(w, r, "/activations/"+url.PathEscape(id)+"?info=retex", http.StatusSeeOther)
	return nil
}
