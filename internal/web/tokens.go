package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Tokens keeps personal API tokens.
type Tokens interface {
	CreateToken(ctx context.Context, t tocsin.APIToken, secret string, audit ...tocsin.AuditEntry) error
	Tokens(ctx context.Context, user string) ([]tocsin.APIToken, error)
	RevokeToken(ctx context.Context, user, id string, audit ...tocsin.AuditEntry) error
}

// maxTokenDays bounds a token's life when one is asked.
const maxTokenDays = 366

// tokenRequest asks for a personal token: a name, a role no wider than the
// user's (empty: theirs) and a life in days (0: no expiry).
type tokenRequest struct {
	Name string      `json:"name"`
	Role tocsin.Role `json:"role"`
	Days int         `json:"expires_in_days"`
}

// newTokenAnswer is a token just created: the only time its secret shows.
type newTokenAnswer struct {
	tocsin.APIToken
	Token string `json:"token"`
}

// createToken checks a request and stores the token for by; it returns
// the secret, shown once.
func (s *Server) createToken(ctx context.Context, by tocsin.User, req tokenRequest) (newTokenAnswer, error) {
	req.Name = strings.TrimSpace(req.Name)
	switch {
	case req.Name == "":
		return newTokenAnswer{}, tocsin.FieldErrorf(tocsin.EInvalid, "name", "nommez le jeton (par exemple « export de l'audit »)")
	case len([]rune(req.Name)) > 64:
		return newTokenAnswer{}, tocsin.FieldErrorf(tocsin.EInvalid, "name", "64 caractères au plus")
	case req.Role != "" && !req.Role.Valid():
		return newTokenAnswer{}, tocsin.FieldErrorf(tocsin.EInvalid, "role", "rôle inconnu %q : admin, officer ou auditor", req.Role)
	case req.Role != "" && by.Role.AtMost(req.Role) != req.Role:
		return newTokenAnswer{}, tocsin.FieldErrorf(tocsin.EForbidden, "role", "un jeton ne peut pas avoir plus de droits que son utilisateur (%s)", by.Role)
	case req.Days < 0 || req.Days > maxTokenDays:
		return newTokenAnswer{}, tocsin.FieldErrorf(tocsin.EInvalid, "expires_in_days", "durée de 0 (sans échéance) à %d jours", maxTokenDays)
	}
	secret, id := make([]byte, 32), make([]byte, 4)
	rand.Read(secret)
	rand.Read(id)
	now := s.now().UTC()
	t := tocsin.APIToken{ID: "tk-" + hex.EncodeToString(id), Name: req.Name, User: by.Name, Role: req.Role, CreatedAt: now}
	if req.Days > 0 {
		exp := now.AddDate(0, 0, req.Days)
		t.ExpiresAt = &exp
	}
	role := t.Role
	if role == "" {
		role = by.Role
	}
	detail := "jeton d'API « " + t.Name + " » (" + t.ID + ") créé, rôle " + string(role)
	if t.ExpiresAt != nil {
		detail += ", jusqu'au " + tocsin.ParisTime(*t.ExpiresAt)
	}
	sec := base64.RawURLEncoding.EncodeToString(secret)
	if err := s.cfg.Tokens.CreateToken(ctx, t, sec, auditEntry(by.Name, tocsin.AuditConfig, detail)); err != nil {
		return newTokenAnswer{}, err
	}
	s.log.Info("api token created", "user", by.Name, "token", t.ID)
	s.drainAudit(ctx)
	return newTokenAnswer{APIToken: t, Token: sec}, nil
}

// revokeToken deletes one of by's tokens.
func (s *Server) revokeToken(ctx context.Context, by tocsin.User, id string) error {
	if err := s.cfg.Tokens.RevokeToken(ctx, by.Name, id, auditEntry(by.Name, tocsin.AuditConfig, "jeton d'API "+id+" révoqué")); err != nil {
		return err
	}
	s.log.Info("api token revoked", "user", by.Name, "token", id)
	s.drainAudit(ctx)
	return nil
}

// postToken: POST /api/v1/tokens.
func (s *Server) postToken(w http.ResponseWriter, r *http.Request) error {
	var req tokenRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	a, err := s.createToken(r.Context(), userFrom(r.Context()), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, a)
	return nil
}

// listTokens: GET /api/v1/tokens, the caller's own.
func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.cfg.Tokens.Tokens(r.Context(), userFrom(r.Context()).Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": ts})
	return nil
}

// deleteToken: DELETE /api/v1/tokens/{id}, one of the caller's own.
func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request) error {
	if err := s.revokeToken(r.Context(), userFrom(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// tokensBody is the console's « Mes jetons » page.
type tokensBody struct {
	Tokens []tokenRow
	// New is the token just created: its secret shows this once.
	New   *newTokenAnswer
	Error string
	// SecondFactor links to the enrolment of an authenticator
	// application, for a user logged in with a password.
	SecondFactor bool
}

type tokenRow struct {
	ID, Name, Role, Created, Expires, LastUsed string
}

func (c *console) tokensPage(w http.ResponseWriter, r *http.Request, p *pageData) error {
	return c.renderTokens(w, r, p, nil, "")
}

func (c *console) renderTokens(w http.ResponseWriter, r *http.Request, p *pageData, created *newTokenAnswer, problem string) error {
	u := userFrom(r.Context())
	ts, err := c.cfg.Tokens.Tokens(r.Context(), u.Name)
	if err != nil {
		return err
	}
	b := tokensBody{New: created, Error: problem, SecondFactor: c.cfg.TOTP != nil && p.User != nil && p.User.Stamp != ssoStamp}
	for _, t := range ts {
		row := tokenRow{ID: t.ID, Name: t.Name, Role: string(u.Role.AtMost(t.Role)), Created: tocsin.ParisTime(t.CreatedAt), Expires: "jamais", LastUsed: "jamais"}
		if t.ExpiresAt != nil {
			row.Expires = tocsin.ParisTime(*t.ExpiresAt)
		}
		if t.LastUsed != nil {
			row.LastUsed = tocsin.ParisTime(*t.LastUsed)
		}
		b.Tokens = append(b.Tokens, row)
	}
	status := http.StatusOK
	if problem != "" {
		status = http.StatusBadRequest
	}
	p.Title, p.Nav, p.Body = "Mes jetons d'API", "jetons", b
	c.render(w, r, status, "jetons", p)
	return nil
}

func (c *console) createTokenForm(w http.ResponseWriter, r *http.Request, p *pageData) error {
	days, _ := strconv.Atoi(r.PostFormValue("jours"))
	a, err := c.srv.createToken(r.Context(), userFrom(r.Context()), tokenRequest{Name: r.PostFormValue("nom"), Role: tocsin.Role(r.PostFormValue("role")), Days: days})
	if code := tocsin.ErrorCode(err); code == tocsin.EInvalid || code == tocsin.EForbidden {
		return c.renderTokens(w, r, p, nil, tocsin.ErrorMessage(err))
	} else if err != nil {
		return err
	}
	return c.renderTokens(w, r, p, &a, "")
}

func (c *console) revokeTokenForm(w http.ResponseWriter, r *http.Request, p *pageData) error {
	if err := c.srv.revokeToken(r.Context(), userFrom(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	http.Redirect(w, r, "/jetons", http.StatusSeeOther)
	return nil
}
