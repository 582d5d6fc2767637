package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// CIPCells runs the CIP of each activation: opened with the roster's
// available operators, their answers and positions, closed.
type CIPCells interface {
	CIPCell(ctx context.Context, id string) (*tocsin.Activation, *tocsin.CIPCell, error)
	OpenCIP(ctx context.Context, by tocsin.User, id string) (*tocsin.CIPCell, error)
	MarkOperator(ctx context.Context, by tocsin.User, id, operator string, state tocsin.OperatorState) (*tocsin.CIPCell, error)
	CloseCIP(ctx context.Context, by tocsin.User, id string) (*tocsin.CIPCell, error)
}

// cipPanel is an activation's CIP in the API: its cell, how many
// operators stand where, and the activation's CIP stamp.
type cipPanel struct {
	Activation string `json:"activation"`
	// Open is true while the cell is open; Cell is nil when the CIP was
	// not opened in Tocsin.
	Open        bool            `json:"open"`
	Cell        *tocsin.CIPCell `json:"cell"`
	Counts      map[string]int  `json:"counts"`
	InPosition  int             `json:"in_position"`
	Min         int             `json:"min_operators"`
	Activated   *tocsin.CIP     `json:"activated"`
	OutsideNote string          `json:"outside,omitempty"`
	// Calls sums up the calls to the public line while this CIP was open.
	Calls tocsin.PublicCalls `json:"calls"`
}

func (s *Server) cipCellRoutes() {
	if s.cfg.CIPCells == nil {
		return
	}
	s.handle("GET /api/v1/activations/{id}/cip", s.api(anyRole, s.getCIPPanel))
	s.handle("POST /api/v1/activations/{id}/cip/open", s.api(canActivate, s.openCIP))
	s.handle("POST /api/v1/activations/{id}/cip/operators/{operator}", s.api(canActivate, s.markOperator))
	s.handle("POST /api/v1/activations/{id}/cip/close", s.api(canActivate, s.closeCIP))
	c := s.console
	s.handle("GET /activations/{id}/cip", c.page(anyRole, c.cipCellPage))
	s.handle("POST /activations/{id}/cip/ouvrir", c.page(canActivate, c.openCIPForm))
	s.handle("POST /activations/{id}/cip/operateurs/{operator}", c.page(canActivate, c.markOperatorForm))
	s.handle("POST /activations/{id}/cip/fermer", c.page(canActivate, c.closeCIPForm))
}

// panel reads an activation's CIP, and the activation.
func (s *Server) panel(ctx context.Context, id string) (*cipPanel, *tocsin.Activation, error) {
	v, c, err := s.cfg.CIPCells.CIPCell(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	p := &cipPanel{Activation: id, Cell: c, Counts: map[string]int{}, Activated: v.CIP}
	if c != nil {
		p.Open, p.Min, p.InPosition = c.ClosedAt == nil, c.MinOperators, c.Count(tocsin.OperatorInPosition)
		for _, st := range []tocsin.OperatorState{tocsin.OperatorCalled, tocsin.OperatorComing, tocsin.OperatorUnavailable, tocsin.OperatorInPosition} {
			p.Counts[string(st)] = c.Count(st)
		}
	}
	if c != nil && s.cfg.PublicLine != nil {
		if p.Calls, err = s.cfg.PublicLine.PublicCalls(ctx, id); err != nil {
			return nil, nil, err
		}
	}
	if v.CIP != nil && v.CIP.Staffed == 0 {
		p.OutsideNote = "CIP ouverte hors de Tocsin, déclarée à la main"
	}
	return p, v, nil
}

func (s *Server) writePanel(w http.ResponseWriter, r *http.Request, id string) error {
	p, _, err := s.panel(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) getCIPPanel(w http.ResponseWriter, r *http.Request) error {
	return s.writePanel(w, r, r.PathValue("id"))
}

func (s *Server) openCIP(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.cfg.CIPCells.OpenCIP(r.Context(), userFrom(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	return s.writePanel(w, r, r.PathValue("id"))
}

// markOperator records an operator's state: {"state": "coming" |
// "unavailable" | "in_position"}.
func (s *Server) markOperator(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		State tocsin.OperatorState `json:"state"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if _, err := s.cfg.CIPCells.MarkOperator(r.Context(), userFrom(r.Context()), r.PathValue("id"), r.PathValue("operator"), req.State); err != nil {
		return err
	}
	return s.writePanel(w, r, r.PathValue("id"))
}

func (s *Server) closeCIP(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.cfg.CIPCells.CloseCIP(r.Context(), userFrom(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	return s.writePanel(w, r, r.PathValue("id"))
}

// cipCellBody is the console's page of an activation's CIP.
type cipCellBody struct {
	ID, Title string
	Open      bool // the activation is open
	Panel     *cipPanel
	Operators []cipOperatorView
	// LongestWait is the longest wait in the public line's queue, said.
	LongestWait string
}

type cipOperatorView struct {
	ID, Name, State, StateLabel, At, By string
	Dials                               []dial
}

func (c *console) cipCellPage(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id := r.PathValue("id")
	// The revision is read first: the live feed replays anything written
	// after it, so the page misses no change.
	var rev int64
	if c.cfg.Activity != nil {
		var err error
		if rev, err = c.cfg.Activity.Revision(r.Context()); err != nil {
			return err
		}
	}
	panel, v, err := c.srv.panel(r.Context(), id)
	if err != nil {
		return err
	}
	b := cipCellBody{ID: id, Title: v.Title, Open: v.State == tocsin.Open, Panel: panel,
		LongestWait: waitDuration(panel.Calls.LongestWaitSeconds)}
	if panel.Cell != nil {
		for _, o := range panel.Cell.Operators {
			ov := cipOperatorView{ID: o.ID, Name: o.Name, State: string(o.State), StateLabel: o.State.Label(), At: tocsin.ParisTime(o.At), By: o.By}
			for _, n := range o.Numbers {
				ov.Dials = append(ov.Dials, dial{E164: n.E164, Display: displayNumber(n.E164), Kind: kindLabel(n.Kind)})
			}
			b.Operators = append(b.Operators, ov)
		}
	}
	p.Title, p.Nav, p.Body, p.Live, p.Rev = "CIP — "+v.Title, "activations", b, id, rev
	c.render(w, r, http.StatusOK, "activation-cip", p)
	return nil
}

func (c *console) backToCIP(w http.ResponseWriter, r *http.Request) error {
	http.Redirect(w, r, "/activations/"+url.PathEscape(r.PathValue("id"))+"/cip", http.StatusSeeOther)
	return nil
}

func (c *console) openCIPForm(w http.ResponseWriter, r *http.Request, p *pageData) error {
	if _, err := c.cfg.CIPCells.OpenCIP(r.Context(), userFrom(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	return c.backToCIP(w, r)
}

func (c *console) markOperatorForm(w http.ResponseWriter, r *http.Request, p *pageData) error {
	state := tocsin.OperatorState(r.PostFormValue("etat"))
	if _, err := c.cfg.CIPCells.MarkOperator(r.Context(), userFrom(r.Context()), r.PathValue("id"), r.PathValue("operator"), state); err != nil {
		return err
	}
	return c.backToCIP(w, r)
}

func (c *console) closeCIPForm(w http.ResponseWriter, r *http.Request, p *pageData) error {
	if r.PostFormValue("confirmation") != "oui" {
		return tocsin.Errorf(tocsin.EInvalid, "cochez la case pour confirmer la fermeture de la CIP")
	}
	if _, err := c.cfg.CIPCells.CloseCIP(r.Context(), userFrom(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	return c.backToCIP(w, r)
}

// waitDuration says a wait in the queue to the second: « 45 s »,
// « 1 min 24 s », « 1 h 02 min ».
func waitDuration(seconds int) string {
	d := time.Duration(max(seconds, 0)) * time.Second
	switch {
	case d >= time.Hour:
		return fmt.Sprintf("%d h %02d min", int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute:
		return fmt.Sprintf("%d min %02d s", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%d s", int(d.Seconds()))
}
