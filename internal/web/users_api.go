package web

import (
	"net/http"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// userRequest creates a user or sets a password. An empty password asks the
// server to generate one, returned once in the answer.
type userRequest struct {
	Name     string      `json:"name"`
	Role     tocsin.Role `json:"role"`
	Password string      `json:"password"`
}

// userAnswer is a user, with the generated password when there is one: the
// only time it is shown.
type userAnswer struct {
	Name     string      `json:"name"`
	Role     tocsin.Role `json:"role,omitempty"`
	Password string      `json:"password,omitempty"`
}

// passwordHash checks or generates a password and hashes it. It returns
// the generated password, "" when the caller gave one.
func passwordHash(given string) (hash, generated string, err error) {
	pw := given
	if pw == "" {
		pw = GeneratePassword()
		generated = pw
	}
	hash, err = HashPassword(pw)
	return hash, generated, err
}

// createUser: POST /api/v1/users, administrators only.
func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	var req userRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	switch {
	case !tocsin.ValidID(req.Name):
		return tocsin.FieldErrorf(tocsin.EInvalid, "name", "identifiant invalide : lettres minuscules, chiffres, « . », « _ » et « - », 64 caractères au plus")
	case !req.Role.Valid():
		return tocsin.FieldErrorf(tocsin.EInvalid, "role", "rôle inconnu %q : admin, officer ou auditor", req.Role)
	}
	hash, generated, err := passwordHash(req.Password)
	if err != nil {
		return err
	}
	by := userFrom(r.Context()).Name
	if err := s.cfg.Users.CreateUser(r.Context(), tocsin.User{Name: req.Name, Role: req.Role}, hash,
		auditEntry(by, tocsin.AuditConfig, "utilisateur "+req.Name+" créé ("+string(req.Role)+")")); err != nil {
		return err
	}
	s.log.Info("user created", "user", req.Name, "role", string(req.Role), "by", by)
	s.drainAudit(r.Context())
	writeJSON(w, http.StatusCreated, userAnswer{Name: req.Name, Role: req.Role, Password: generated})
	return nil
}

// setPassword: POST /api/v1/users/{name}/password, administrators only.
// Every console session of that user ends.
func (s *Server) setPassword(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Password string `json:"password"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	name := r.PathValue("name")
	hash, generated, err := passwordHash(req.Password)
	if err != nil {
		return err
	}
	by := userFrom(r.Context()).Name
	if err := s.cfg.Users.SetPasswordHash(r.Context(), name, hash, auditEntry(by, tocsin.AuditConfig, "mot de passe de "+name+" changé")); err != nil {
		return err
	}
	s.log.Info("password set", "user", name, "by", by)
	s.drainAudit(r.Context())
	writeJSON(w, http.StatusOK, userAnswer{Name: name, Password: generated})
	return nil
}
