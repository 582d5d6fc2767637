package web

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Users keeps the console's users and their password hashes.
type Users interface {
	// UserPassword returns a user and their password hash ("" when none
	// was set), or ENotFound.
	UserPassword(ctx context.Context, name string) (tocsin.User, string, error)
	// CreateUser fails with EConflict when the name is taken. It and
	// SetPasswordHash write audit in the same transaction as the change.
	CreateUser(ctx context.Context, u tocsin.User, passwordHash string, audit ...tocsin.AuditEntry) error
	// SetPasswordHash fails with ENotFound when the user does not exist.
	SetPasswordHash(ctx context.Context, name, passwordHash string, audit ...tocsin.AuditEntry) error
}

// Sessions keeps console sessions where every replica finds them. A
// session disappears by itself after its ttl.
type Sessions interface {
	// CreateSession writes audit in the same transaction as the session.
	CreateSession(ctx context.Context, id string, data []byte, ttl time.Duration, audit ...tocsin.AuditEntry) error
	// Session returns nil data when there is no such session.
	Session(ctx context.Context, id string) ([]byte, error)
	DeleteSession(ctx context.Context, id string) error
}

// DefaultSessionTTL is how long a console session lasts: a night shift.
// It is not extended by activity, so a stolen cookie is worth a shift at
// most.
const DefaultSessionTTL = 12 * time.Hour

// session is a logged-in console user. The store keeps it as JSON under
// the hash of its id; the id itself lives only in the user's cookie.
type session struct {
	id      string
	User    string    `json:"user"`
	CSRF    string    `json:"csrf"`  // the token every state-changing form carries
	Stamp   string    `json:"stamp"` // passwordStamp of the password used to log in, or ssoStamp
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	// Pending: the password was right, the second factor is still asked
	// for (pendingCode or pendingEnrolment); the session opens nothing
	// else. Next is where the login goes once it is given.
	Pending string `json:"pending,omitempty"`
	Next    string `json:"next,omitempty"`

	role tocsin.Role // read from the user's record at each request
}

func (s *session) user() tocsin.User { return tocsin.User{Name: s.User, Role: s.role} }

// cookieName is the session cookie's name. Over TLS it takes the __Host-
// prefix, so that the browser refuses it unless it is Secure, for the whole
// host and set by the host itself.
func (c *console) cookieName(base string) string {
	if c.secure {
		return "__Host-" + base
	}
	return base
}

func (c *console) setCookie(w http.ResponseWriter, name, value string, maxAge int, sameSite http.SameSite) {
	http.SetCookie(w, &http.Cookie{
		Name: c.cookieName(name), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: c.secure, SameSite: sameSite,
	})
}

// newSession opens a session for u, logged in with what stamp names (the
// passwordStamp of the password used, or ssoStamp), and sets its cookie;
// audit is written with the session.
func (c *console) newSession(ctx context.Context, w http.ResponseWriter, u tocsin.User, stamp string, audit ...tocsin.AuditEntry) (*session, error) {
	return c.openSession(ctx, w, u, stamp, "", "", c.sessionTTL, audit...)
}

// openSession is newSession for a session that may be pending (see
// session.Pending) and lasts ttl.
func (c *console) openSession(ctx context.Context, w http.ResponseWriter, u tocsin.User, stamp, pending, next string, ttl time.Duration, audit ...tocsin.AuditEntry) (*session, error) {
	now := c.now()
	s := &session{id: randomToken(32), User: u.Name, CSRF: randomToken(32), Stamp: stamp,
		Created: now, Expires: now.Add(ttl), Pending: pending, Next: next, role: u.Role}
	data, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	if err := c.cfg.Sessions.CreateSession(ctx, s.id, data, ttl, audit...); err != nil {
		return nil, err
	}
	// No Max-Age: the cookie goes when the browser closes; the server ends
	// the session at Expires in any case.
	c.setCookie(w, "tocsin_session", s.id, 0, http.SameSiteLaxMode)
	return s, nil
}

// loadSession returns the request's session, or nil when it has none that
// is valid: no cookie, unknown or expired session, user gone, or password
// changed since the login, or a session still waiting for its second
// factor. The user's role is read afresh, so that a role change applies
// at the next request.
func (c *console) loadSession(r *http.Request) (*session, error) {
	s, err := c.loadAnySession(r)
	if err != nil || s == nil || s.Pending != "" {
		return nil, err
	}
	return s, nil
}

// loadAnySession is loadSession, pending sessions included.
func (c *console) loadAnySession(r *http.Request) (*session, error) {
	ck, err := r.Cookie(c.cookieName("tocsin_session"))
	if err != nil || ck.Value == "" || len(ck.Value) > 128 {
		return nil, nil
	}
	data, err := c.cfg.Sessions.Session(r.Context(), ck.Value)
	if err != nil || data == nil {
		return nil, err
	}
	var s session
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("decode session: %w", err)
	}
	s.id = ck.Value
	if !c.now().Before(s.Expires) {
		// The lease ends it soon; until then the record's own expiry rules.
		c.cfg.Sessions.DeleteSession(context.WithoutCancel(r.Context()), s.id)
		return nil, nil
	}
	u, hash, err := c.cfg.Users.UserPassword(r.Context(), s.User)
	if tocsin.ErrorCode(err) == tocsin.ENotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// A session opened through the identity provider lasts while the
	// provider is configured and the user has no password here; one opened
	// with a password, while passwords are allowed and it is unchanged.
	switch {
	case !u.Role.Valid():
		return nil, nil
	case s.Stamp == ssoStamp:
		if c.cfg.SSO == nil || !u.SSO || hash != "" {
			return nil, nil
		}
	case c.cfg.NoPasswords || hash == "" || passwordStamp(hash) != s.Stamp:
		return nil, nil
	}
	s.role = u.Role
	return &s, nil
}

// errCSRF is what a state-changing request without the session's token
// gets.
var errCSRF = tocsin.Errorf(tocsin.EForbidden, "jeton de sécurité absent ou périmé : rechargez la page, puis recommencez")

// checkCSRF accepts a state-changing request only when it carries the
// session's token (form field csrf or header X-CSRF-Token) and, when the
// browser says where it comes from, comes from the console's own origin.
func (c *console) checkCSRF(r *http.Request, want string) error {
	if o := r.Header.Get("Origin"); !c.originOK(o) {
		return tocsin.Errorf(tocsin.EForbidden, "requête venant d'une autre origine (%s) refusée", o)
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return errCSRF
	}
	return nil
}

// parseForm reads a form body of at most limit bytes, url-encoded or
// multipart.
func parseForm(w http.ResponseWriter, r *http.Request, limit int64) error {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	var err error
	if ct := r.Header.Get("Content-Type"); len(ct) >= 19 && ct[:19] == "multipart/form-data" {
		err = r.ParseMultipartForm(limit)
	} else {
		err = r.ParseForm()
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return tocsin.Errorf(tocsin.EInvalid, "envoi trop volumineux (%d Mo au plus)", limit>>20)
	case err != nil:
		return tocsin.Errorf(tocsin.EInvalid, "formulaire illisible")
	}
	return nil
}
