package web

import (
	"context"
	"crypto/subtle"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Throttle counts login attempts where every replica sees them.
type Throttle interface {
	// TakeLoginAttempt counts one attempt under every key if each is below
	// its limit, in one step taken before the password is checked, and
	// returns how many more the tightest key allows; false when one has
	// reached its limit (nothing counted).
	TakeLoginAttempt(ctx context.Context, limits map[string]int, window time.Duration) (remaining int, ok bool, err error)
	// ReturnLoginAttempt gives back an attempt that succeeded.
	ReturnLoginAttempt(ctx context.Context, key string) error
	ResetLoginFailures(ctx context.Context, key string) error
	// NameFailures and AddNameFailure count a name's failed logins from
	// every address, with the time of the last.
	NameFailures(ctx context.Context, key string) (int, time.Time, error)
	AddNameFailure(ctx context.Context, key string, window time.Duration, now time.Time) error
}

// Login throttling: every attempt is counted, in etcd where every replica
// sees it, before its password is checked, in one step with the check of
// the limits; a success is given back. Past these many attempts in the
// window, logins for that name from that address, or from that address,
// are refused, even with the right password, until the window ends. A
// name's count is reset by a successful login; an address's keeps its
// failures, so that one valid account does not clear the way for guessing
// others.
// A name's failures are also counted from every address, since a client
// that can set the client-address header can change it at will: past
// nameFailuresFree in the window, each attempt for that name waits a delay
// that doubles from one second up to maxNameDelay after the last failure —
// slower guessing, never a lock the duty officer could be kept out by.
const (
	nameFailuresFree = 10
	maxNameDelay     = time.Minute
)

// nameDelay is how long after its last failure a name with n failures
// waits before its next attempt.
func nameDelay(n int) time.Duration {
	if n < nameFailuresFree {
		return 0
	}
	d := time.Second
	for i := nameFailuresFree; i < n && d < maxNameDelay; i++ {
		d *= 2
	}
	return min(d, maxNameDelay)
}

const (
	maxFailuresPerUser = 5
	maxFailuresPerIP   = 30
	failureWindow      = 15 * time.Minute
)

// loginForm is the login page's body.
type loginForm struct {
	Name  string
	Next  string
	Error string
	Token string // the login form's own CSRF token, before any session

	SSOLabel  string // names the identity provider; "" when there is none
	Passwords bool   // the password form is shown
}

// safeNext keeps a post-login destination only when it is a path of this
// site: never another host.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || len(next) > 512 {
		return "/"
	}
	return next
}

func (c *console) loginPage(w http.ResponseWriter, r *http.Request, p *pageData) error {
	if sess, err := c.loadAnySession(r); err == nil && sess != nil {
		target := safeNext(r.URL.Query().Get("suivant"))
		if sess.Pending != "" {
			target = pendingPath(sess.Pending)
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return nil
	}
	if r.URL.Query().Has("au-revoir") {
		p.Flash = "Vous êtes déconnecté."
	}
	c.showLogin(w, r, p, http.StatusOK, loginForm{Next: safeNext(r.URL.Query().Get("suivant"))})
	return nil
}

// showLogin renders the login form with a fresh token, also set in a
// cookie: the form is accepted only when both match (login CSRF).
func (c *console) showLogin(w http.ResponseWriter, r *http.Request, p *pageData, status int, f loginForm) {
	f.Token = randomToken(24)
	f.Passwords = !c.cfg.NoPasswords
	if c.cfg.SSO != nil {
		f.SSOLabel = c.cfg.SSOLabel
		if f.SSOLabel == "" {
			f.SSOLabel = "le fournisseur d'identité"
		}
	}
	c.setCookie(w, "tocsin_login", f.Token, 3600, http.SameSiteStrictMode)
	p.Title, p.Body = "Connexion", f
	c.render(w, r, status, "connexion", p)
}

func (c *console) login(w http.ResponseWriter, r *http.Request, p *pageData) error {
	if err := parseForm(w, r, maxForm); err != nil {
		return err
	}
	f := loginForm{Name: strings.TrimSpace(r.PostFormValue("identifiant")), Next: safeNext(r.PostFormValue("suivant"))}
	ck, err := r.Cookie(c.cookieName("tocsin_login"))
	if o := r.Header.Get("Origin"); !c.originOK(o) || err != nil ||
		subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		f.Error = "Le formulaire a expiré : saisissez de nouveau vos identifiants."
		c.srv.recordRefusal(r, "", tocsin.Errorf(tocsin.EForbidden, "formulaire de connexion expiré ou venant d'une autre origine"))
		c.showLogin(w, r, p, http.StatusForbidden, f)
		return nil
	}
	if c.cfg.NoPasswords {
		f.Error = "La connexion par mot de passe est désactivée : connectez-vous par le fournisseur d'identité."
		c.showLogin(w, r, p, http.StatusForbidden, f)
		return nil
	}
	password := r.PostFormValue("motdepasse")
	if f.Name == "" || password == "" || len(f.Name) > 64 {
		f.Error = "Saisissez votre identifiant et votre mot de passe."
		c.showLogin(w, r, p, http.StatusBadRequest, f)
		return nil
	}
	ctx := r.Context()
	// A name is locked from one address only: from elsewhere, its owner can
	// still log in, so nobody can lock the duty officer out by failing
	// logins in their name. An address is locked across names.
	userKey, ipKey := "user:"+strings.ToLower(f.Name)+"@"+c.clientIP(r), "ip:"+c.clientIP(r)
	nameKey := "name:" + strings.ToLower(f.Name)
	n, last, err := c.cfg.Throttle.NameFailures(ctx, nameKey)
	if err != nil {
		return err
	}
	if wait := last.Add(nameDelay(n)).Sub(c.now()); nameDelay(n) > 0 && wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		c.cfg.Observer.Login(LoginLocked)
		c.srv.log.Warn("login delayed: many failures for this name", "user", f.Name, "remote", c.clientIP(r), "failures", n)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		f.Error = fmt.Sprintf("Trop d'échecs de connexion pour cet identifiant : réessayez dans %d s.", secs)
		c.showLogin(w, r, p, http.StatusTooManyRequests, f)
		return nil
	}
	// The attempt is counted before the password is checked, in one step
	// with the check of the limits: attempts made at once cannot all slip
	// under them. A failure stays counted; a success is given back.
	remaining, allowed, err := c.cfg.Throttle.TakeLoginAttempt(ctx, map[string]int{userKey: maxFailuresPerUser, ipKey: maxFailuresPerIP}, failureWindow)
	if err != nil {
		return err
	}
	if !allowed {
		c.cfg.Observer.Login(LoginLocked)
		c.srv.log.Warn("login throttled", "user", f.Name, "remote", c.clientIP(r))
		f.Error = "Trop de tentatives de connexion échouées : réessayez dans un quart d'heure, ou demandez à l'administrateur de réinitialiser votre mot de passe."
		c.showLogin(w, r, p, http.StatusTooManyRequests, f)
		return nil
	}
	u, hash, ok, err := c.verify(ctx, f.Name, password)
	if err != nil {
		return err
	}
	if !ok {
		if a := c.srv.cfg.Audit; a != nil {
			if _, err := a.Append(ctx, f.Name, tocsin.AuditLoginFailed, "", "échec de connexion à la console depuis "+c.clientIP(r)); err != nil {
				return err
			}
		}
		if err := c.cfg.Throttle.AddNameFailure(ctx, nameKey, failureWindow, c.now()); err != nil {
			return err
		}
		if remaining == 0 {
			c.cfg.Observer.Login(LoginLockout)
			c.srv.log.Warn("login failed: locked out for a quarter of an hour", "user", f.Name, "remote", c.clientIP(r))
		} else {
			c.cfg.Observer.Login(LoginFailure)
			c.srv.log.Warn("login failed", "user", f.Name, "remote", c.clientIP(r))
		}
		f.Error = "Identifiant ou mot de passe incorrect."
		c.showLogin(w, r, p, http.StatusUnauthorized, f)
		return nil
	}
	if err := c.cfg.Throttle.ResetLoginFailures(ctx, userKey); err != nil {
		return err
	}
	if err := c.cfg.Throttle.ReturnLoginAttempt(ctx, ipKey); err != nil {
		return err
	}
	if err := c.cfg.Throttle.ResetLoginFailures(ctx, nameKey); err != nil {
		return err
	}
	return c.afterPassword(ctx, w, r, u, hash, f.Next)
}

// verify checks a name and password. An unknown name costs the same time
// as a wrong password, and says nothing more. At most a few hashes are
// computed at once: each takes 19 MiB.
func (c *console) verify(ctx context.Context, name, password string) (tocsin.User, string, bool, error) {
	u, hash, err := c.cfg.Users.UserPassword(ctx, name)
	switch tocsin.ErrorCode(err) {
	case "":
	case tocsin.ENotFound:
		hash = ""
	default:
		return tocsin.User{}, "", false, err
	}
	select {
	case c.logins <- struct{}{}:
		defer func() { <-c.logins }()
	case <-ctx.Done():
		return tocsin.User{}, "", false, ctx.Err()
	}
	if hash == "" {
		CheckPassword(dummyHash(), password)
		return tocsin.User{}, "", false, nil
	}
	if !CheckPassword(hash, password) || !u.Role.Valid() {
		return tocsin.User{}, "", false, nil
	}
	return u, hash, true, nil
}

// clientIP is the address login attempts are counted by: the peer's, or,
// behind a trusted proxy, the last address of the configured header.
func (c *console) clientIP(r *http.Request) string { return c.srv.clientIP(r) }

// clientIP is the client's address: the peer's, or, behind a trusted
// proxy, the last address of the configured header.
func (s *Server) clientIP(r *http.Request) string {
	if hdr := s.cfg.ClientIPHeader; hdr != "" {
		if v := r.Header.Get(hdr); v != "" {
			parts := strings.Split(v, ",")
			return strings.TrimSpace(parts[len(parts)-1])
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (c *console) logout(w http.ResponseWriter, r *http.Request, p *pageData) error {
	if err := c.cfg.Sessions.DeleteSession(r.Context(), p.User.id); err != nil {
		return err
	}
	c.setCookie(w, "tocsin_session", "", -1, http.SameSiteLaxMode)
	c.srv.log.Info("logout", "user", p.User.User)
	http.Redirect(w, r, "/connexion?au-revoir", http.StatusSeeOther)
	return nil
}
