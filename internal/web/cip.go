package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// CIPRoster keeps the roster of the CIP (cellule d'information du
// public): the operators who staff the public line.
type CIPRoster interface {
	Operators(ctx context.Context) ([]tocsin.Operator, error)
	ReplaceOperators(ctx context.Context, operators []tocsin.Operator, audit ...tocsin.AuditEntry) error
}

// cipImportPath is the console's roster import, a file upload.
const cipImportPath = "/cip/import"

// cipRoutes serves the CIP's roster in the API and the console, when the
// server has one.
func (s *Server) cipRoutes() {
	if s.cfg.CIP == nil || s.cfg.ParseOperators == nil {
		return
	}
	s.handle("GET /api/v1/cip/operators", s.api(anyRole, s.listOperators))
	s.handle("PUT /api/v1/cip/operators", s.api(adminOnly, s.importOperators))
	c := s.console
	s.handle("GET /cip", c.page(anyRole, c.cipPage))
	s.handle("POST "+cipImportPath, c.page(adminOnly, c.importCIP))
}

func (s *Server) listOperators(w http.ResponseWriter, r *http.Request) error {
	ops, err := s.cfg.CIP.Operators(r.Context())
	if err != nil {
		return err
	}
	if ops == nil {
		ops = []tocsin.Operator{}
	}
	available := 0
	for _, o := range ops {
		if o.Available {
			available++
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"operators": ops, "count": len(ops), "available": available})
	return nil
}

// importOperators replaces the CIP's roster with a CSV body, all or
// nothing.
func (s *Server) importOperators(w http.ResponseWriter, r *http.Request) error {
	ops, err := s.cfg.ParseOperators(http.MaxBytesReader(w, r.Body, maxCSV))
	if err != nil {
		return err
	}
	by := userFrom(r.Context()).Name
	if err := s.replaceOperators(r.Context(), by, "par l'API", ops); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"imported": len(ops)})
	return nil
}

// replaceOperators writes the roster with its audit entry.
func (s *Server) replaceOperators(ctx context.Context, by, from string, ops []tocsin.Operator) error {
	available := 0
	for _, o := range ops {
		if o.Available {
			available++
		}
	}
	if err := s.cfg.CIP.ReplaceOperators(ctx, ops, auditEntry(by, tocsin.AuditCIPRoster,
		fmt.Sprintf("liste des opérateurs de la CIP importée %s : %d opérateurs, %d disponibles", from, len(ops), available))); err != nil {
		return err
	}
	s.log.Info("cip roster imported", "operators", len(ops), "available", available, "by", by)
	s.drainAudit(ctx)
	return nil
}

type operatorView struct {
	ID, Name  string
	Available bool
	Dials     []dial
}

type cipBody struct {
	Operators []operatorView
	Available int
	Imported  int
	Errors    []string
	Error     string
	// The public line, when the server runs one.
	Line         bool
	LineOpen     bool
	LineRinging  int
	LineFor      string
	Message      *tocsin.PublicMessage
	MessageSaved bool
}

func (c *console) cipPage(w http.ResponseWriter, r *http.Request, p *pageData) error {
	var b cipBody
	b.Imported, _ = strconv.Atoi(r.URL.Query().Get("importe"))
	b.MessageSaved = r.URL.Query().Get("message") != ""
	return c.showCIP(w, r, p, http.StatusOK, b)
}

func (c *console) showCIP(w http.ResponseWriter, r *http.Request, p *pageData, status int, b cipBody) error {
	ops, err := c.cfg.CIP.Operators(r.Context())
	if err != nil {
		return err
	}
	for _, o := range ops {
		v := operatorView{ID: o.ID, Name: o.Name, Available: o.Available}
		for _, n := range o.Numbers {
			v.Dials = append(v.Dials, dial{E164: n.E164, Display: displayNumber(n.E164), Kind: kindLabel(n.Kind)})
		}
		if o.Available {
			b.Available++
		}
		b.Operators = append(b.Operators, v)
	}
	if c.cfg.PublicLine != nil {
		l, err := c.cfg.PublicLine.PublicLine(r.Context())
		if err != nil {
			return err
		}
		v, err := c.srv.publicMessages(r.Context())
		if err != nil {
			return err
		}
		b.Line, b.LineOpen, b.LineRinging, b.LineFor, b.Message = true, l.Open, len(l.Numbers), l.Activation, v.Current
	}
	p.Title, p.Nav, p.Body = "Cellule d'information du public", "cip", b
	c.render(w, r, status, "cip", p)
	return nil
}

// importCIP replaces the roster with an uploaded CSV, all or nothing: any
// error leaves the roster as it was and lists every problem with its line
// and column.
func (c *console) importCIP(w http.ResponseWriter, r *http.Request, p *pageData) error {
	file, _, err := r.FormFile("fichier")
	if err != nil {
		return c.showCIP(w, r, p, http.StatusBadRequest, cipBody{Error: "Choisissez un fichier CSV à importer."})
	}
	defer file.Close()
	ops, err := c.cfg.ParseOperators(file)
	if err != nil {
		if tocsin.ErrorCode(err) != tocsin.EInvalid {
			return err
		}
		b := cipBody{Error: "Le fichier n'a pas été importé : corrigez les erreurs ci-dessous. La liste en vigueur n'a pas changé."}
		if l, ok := err.(*tocsin.ListError); ok {
			for _, e := range l.Errs {
				b.Errors = append(b.Errors, strings.TrimPrefix(e.Field+" : "+e.Message, " : "))
			}
		} else {
			b.Errors = []string{strings.TrimPrefix(tocsin.ErrorField(err)+" : "+tocsin.ErrorMessage(err), " : ")}
		}
		return c.showCIP(w, r, p, http.StatusBadRequest, b)
	}
	if err := c.srv.replaceOperators(r.Context(), p.User.User, "depuis la console", ops); err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/cip?importe=%d", len(ops)), http.StatusSeeOther)
	return nil
}
