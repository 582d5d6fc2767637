package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/totp"
)

// SecondFactors keeps the users' authenticator applications (TOTP).
type SecondFactors interface {
	// SecondFactor returns a user's (the zero value when none), or
	// ENotFound.
	SecondFactor(ctx context.Context, name string) (tocsin.SecondFactor, error)
	// SetSecondFactor replaces it (the zero value removes it), with audit
	// in the same transaction.
	SetSecondFactor(ctx context.Context, name string, f tocsin.SecondFactor, audit ...tocsin.AuditEntry) error
	// UseSecondFactorStep records a code's step as used, and reports false
	// when that step or a later one already was.
	UseSecondFactorStep(ctx context.Context, name string, step int64) (bool, error)
}

// A password checked opens a pending session when a second factor is
// asked for: it serves only the page of the code, or of the enrolment
// when the user must enrol first, and lasts pendingTTL. The full session
// is a new one, with a new id, opened once the code is right.
const (
	pendingCode      = "code"
	pendingEnrolment = "enrolement"
	pendingTTL       = 5 * time.Minute

	codePath      = "/connexion/code"
	enrolmentPath = "/connexion/double-authentification"
)

// pendingPath is the page a pending session is sent to.
func pendingPath(pending string) string {
	if pending == pendingEnrolment {
		return enrolmentPath
	}
	return codePath
}

// secondFactorRequired reports whether a user of role must have a second
// factor: administrators always, everyone with SecondFactorForAll. Users
// of the identity provider have theirs there.
func (c *console) secondFactorRequired(u tocsin.User) bool {
	return c.cfg.TOTP != nil && !u.SSO && (u.Role == tocsin.RoleAdmin || c.cfg.TOTPForAll)
}

// afterPassword decides what a right password opens: the session itself,
// or a pending one that asks for the code, or for an enrolment first.
func (c *console) afterPassword(ctx context.Context, w http.ResponseWriter, r *http.Request, u tocsin.User, hash, next string) error {
	pending := ""
	if c.cfg.TOTP != nil {
		f, err := c.cfg.TOTP.SecondFactor(ctx, u.Name)
		if err != nil {
			return err
		}
		switch {
		case f.Confirmed:
			pending = pendingCode
		case c.secondFactorRequired(u):
			pending = pendingEnrolment
		}
	}
	if pending != "" {
		if _, err := c.openSession(ctx, w, u, passwordStamp(hash), pending, next, pendingTTL); err != nil {
			return err
		}
		c.srv.log.Info("password accepted, second factor asked", "user", u.Name, "step", pending)
		http.Redirect(w, r, pendingPath(pending), http.StatusSeeOther)
		return nil
	}
	return c.completeLogin(ctx, w, r, nil, u, passwordStamp(hash), next, "connexion à la console ("+string(u.Role)+")")
}

// completeLogin opens the full session, ending the pending one if any,
// with the login's audit entry.
func (c *console) completeLogin(ctx context.Context, w http.ResponseWriter, r *http.Request, pending *session, u tocsin.User, stamp, next, detail string) error {
	if pending != nil {
		if err := c.cfg.Sessions.DeleteSession(ctx, pending.id); err != nil {
			return err
		}
	}
	if _, err := c.newSession(ctx, w, u, stamp, auditEntry(u.Name, tocsin.AuditLogin, detail)); err != nil {
		return err
	}
	c.setCookie(w, "tocsin_login", "", -1, http.SameSiteStrictMode)
	c.cfg.Observer.Login(LoginSuccess)
	c.srv.log.Info("login", "user", u.Name, "role", string(u.Role))
	c.srv.drainAudit(ctx)
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
	return nil
}

// secondFactorHandler serves a page of the second factor to sess.
type secondFactorHandler func(w http.ResponseWriter, r *http.Request, p *pageData, sess *session) error

// secondFactorPage serves the code and enrolment pages: to a pending
// session waiting for that page, or, when full is true, to a logged-in
// user too. Forms carry the session's CSRF token.
func (c *console) secondFactorPage(pending string, full bool, h secondFactorHandler) guarded {
	return guarded{guard: "session", h: func(w http.ResponseWriter, r *http.Request) {
		c.consoleHeaders(w)
		p := &pageData{Request: r}
		sess, err := c.loadAnySession(r)
		if err != nil {
			c.fail(w, r, p, err)
			return
		}
		switch {
		case sess == nil:
			http.Redirect(w, r, "/connexion", http.StatusSeeOther)
			return
		case sess.Pending == "" && !full:
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		case sess.Pending != "" && sess.Pending != pending:
			http.Redirect(w, r, pendingPath(sess.Pending), http.StatusSeeOther)
			return
		}
		if sess.Pending == "" {
			p.User = sess // the full console's header
		}
		p.CSRF = sess.CSRF
		if r.Method == http.MethodPost {
			if err := parseForm(w, r, maxForm); err != nil {
				c.fail(w, r, p, err)
				return
			}
			if err := c.checkCSRF(r, sess.CSRF); err != nil {
				c.fail(w, r, p, err)
				return
			}
		}
		if err := h(w, r, p, sess); err != nil {
			c.fail(w, r, p, err)
		}
	}}
}

// codeForm is the body of the code page.
type codeForm struct {
	Name  string
	Error string
}

func (c *console) codePage(w http.ResponseWriter, r *http.Request, p *pageData, sess *session) error {
	p.Title, p.Body = "Double authentification", codeForm{Name: sess.User}
	c.render(w, r, http.StatusOK, "code", p)
	return nil
}

// checkCode accepts the code of the user's application, once: a code is
// counted against the login limits like a password, and a code already
// used (by this replica or another) is refused.
func (c *console) checkCode(w http.ResponseWriter, r *http.Request, p *pageData, sess *session) error {
	ctx := r.Context()
	show := func(status int, msg string) error {
		p.Title, p.Body = "Double authentification", codeForm{Name: sess.User, Error: msg}
		c.render(w, r, status, "code", p)
		return nil
	}
	userKey, ipKey := "user:"+strings.ToLower(sess.User)+"@"+c.clientIP(r), "ip:"+c.clientIP(r)
	_, allowed, err := c.cfg.Throttle.TakeLoginAttempt(ctx, map[string]int{userKey: maxFailuresPerUser, ipKey: maxFailuresPerIP}, failureWindow)
	if err != nil {
		return err
	}
	if !allowed {
		c.cfg.Observer.Login(LoginLocked)
		return show(http.StatusTooManyRequests, "Trop de tentatives de connexion échouées : réessayez dans un quart d'heure.")
	}
	f, err := c.cfg.TOTP.SecondFactor(ctx, sess.User)
	if err != nil {
		return err
	}
	ok := false
	if step, match := totp.Match(f.Secret, r.PostFormValue("code"), c.now()); match && f.Confirmed {
		if ok, err = c.cfg.TOTP.UseSecondFactorStep(ctx, sess.User, step); err != nil {
			return err
		}
	}
	if !ok {
		if a := c.srv.cfg.Audit; a != nil {
			if _, err := a.Append(ctx, sess.User, tocsin.AuditLoginFailed, "", "code de double authentification refusé depuis "+c.clientIP(r)); err != nil {
				return err
			}
		}
		// Counted for the name from every address too: guessing codes
		// through rotated addresses slows the next logins down.
		if err := c.cfg.Throttle.AddNameFailure(ctx, "name:"+strings.ToLower(sess.User), failureWindow, c.now()); err != nil {
			return err
		}
		c.cfg.Observer.Login(LoginFailure)
		c.srv.log.Warn("second factor refused", "user", sess.User, "remote", c.clientIP(r))
		return show(http.StatusUnauthorized, "Code incorrect ou déjà utilisé : saisissez le code que votre application affiche maintenant.")
	}
	if err := c.cfg.Throttle.ResetLoginFailures(ctx, userKey); err != nil {
		return err
	}
	if err := c.cfg.Throttle.ReturnLoginAttempt(ctx, ipKey); err != nil {
		return err
	}
	return c.completeLogin(ctx, w, r, sess, sess.user(), sess.Stamp, sess.Next,
		"connexion à la console avec double authentification ("+string(sess.role)+")")
}

// enrolmentForm is the body of the enrolment page.
type enrolmentForm struct {
	Name     string
	Secret   string // shown while not confirmed, never after
	URI      string
	Required bool // the login waits for it
	Active   bool // already enrolled: nothing to show
	Error    string
}

// SecretGroups writes the secret in groups of four, to be typed.
func (f enrolmentForm) SecretGroups() string {
	var b strings.Builder
	for i, r := range f.Secret {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// enrolmentPage draws a new secret and shows it, with its otpauth://
// address, until a first code confirms it; a confirmed one is never shown
// again.
func (c *console) enrolmentPage(w http.ResponseWriter, r *http.Request, p *pageData, sess *session) error {
	ctx := r.Context()
	f, err := c.cfg.TOTP.SecondFactor(ctx, sess.User)
	if err != nil {
		return err
	}
	body := enrolmentForm{Name: sess.User, Required: sess.Pending != ""}
	if f.Confirmed {
		body.Active = true
	} else {
		body.Secret = totp.NewSecret()
		if err := c.cfg.TOTP.SetSecondFactor(ctx, sess.User, tocsin.SecondFactor{Secret: body.Secret},
			auditEntry(sess.User, tocsin.AuditConfig, "double authentification de "+sess.User+" : enrôlement commencé")); err != nil {
			return err
		}
		c.srv.drainAudit(ctx)
		body.URI = totp.URI("Tocsin", sess.User, body.Secret)
	}
	p.Title, p.Body = "Double authentification", body
	c.render(w, r, http.StatusOK, "double-authentification", p)
	return nil
}

// confirmEnrolment turns the drawn secret on once the user typed a right
// code from it; the login waiting for it then goes on.
func (c *console) confirmEnrolment(w http.ResponseWriter, r *http.Request, p *pageData, sess *session) error {
	ctx := r.Context()
	f, err := c.cfg.TOTP.SecondFactor(ctx, sess.User)
	if err != nil {
		return err
	}
	switch {
	case f.Confirmed:
		return tocsin.Errorf(tocsin.EConflict, "la double authentification de %s est déjà active : pour changer d'application, demandez à l'administrateur de la réinitialiser", sess.User)
	case f.Secret == "":
		http.Redirect(w, r, enrolmentPath, http.StatusSeeOther) // no secret drawn: draw one
		return nil
	}
	step, ok := totp.Match(f.Secret, r.PostFormValue("code"), c.now())
	if !ok {
		p.Title, p.Body = "Double authentification", enrolmentForm{Name: sess.User, Secret: f.Secret,
			URI: totp.URI("Tocsin", sess.User, f.Secret), Required: sess.Pending != "",
			Error: "Code incorrect : vérifiez que l'application a bien enregistré ce secret, puis saisissez le code qu'elle affiche maintenant."}
		c.render(w, r, http.StatusUnprocessableEntity, "double-authentification", p)
		return nil
	}
	if err := c.cfg.TOTP.SetSecondFactor(ctx, sess.User, tocsin.SecondFactor{Secret: f.Secret, Confirmed: true, LastStep: step},
		auditEntry(sess.User, tocsin.AuditConfig, "double authentification de "+sess.User+" activée")); err != nil {
		return err
	}
	c.srv.log.Info("second factor enrolled", "user", sess.User)
	if sess.Pending == "" {
		c.srv.drainAudit(ctx)
		http.Redirect(w, r, enrolmentPath, http.StatusSeeOther) // which now says it is active
		return nil
	}
	return c.completeLogin(ctx, w, r, sess, sess.user(), sess.Stamp, sess.Next,
		"connexion à la console, double authentification activée ("+string(sess.role)+")")
}

// resetSecondFactor: POST /api/v1/users/{name}/totp/reset, administrators
// only: a user who lost their application enrols again at their next
// login.
func (s *Server) resetSecondFactor(w http.ResponseWriter, r *http.Request) error {
	name, by := r.PathValue("name"), userFrom(r.Context()).Name
	if err := s.cfg.TOTP.SetSecondFactor(r.Context(), name, tocsin.SecondFactor{},
		auditEntry(by, tocsin.AuditConfig, "double authentification de "+name+" réinitialisée")); err != nil {
		return err
	}
	s.log.Info("second factor reset", "user", name, "by", by)
	s.drainAudit(r.Context())
	writeJSON(w, http.StatusOK, userAnswer{Name: name})
	return nil
}
