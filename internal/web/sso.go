package web

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// SSO signs users in through an identity provider (OpenID Connect).
type SSO interface {
	// AuthCodeURL returns the provider's login page for one attempt, with
	// the PKCE challenge of verifier.
	AuthCodeURL(ctx context.Context, state, nonce, verifier string) (string, error)
	// Exchange trades the code the provider sent back for the identity it
	// vouches for, checking the ID token and its nonce; Identity.Role is ""
	// when no group maps to a role. A refused code or token is
	// EUnauthorized; a provider that does not answer, EUnavailable.
	Exchange(ctx context.Context, code, verifier, nonce string) (tocsin.Identity, error)
}

// SSOStore keeps, where every replica finds them, the logins under way
// through the identity provider and the users it signed in.
type SSOStore interface {
	PutLoginState(ctx context.Context, state string, data []byte, ttl time.Duration) error
	// TakeLoginState returns and deletes a login's data in one step; nil
	// when there is none.
	TakeLoginState(ctx context.Context, state string) ([]byte, error)
	// SaveSSOUser records the user with their role, writing audit only
	// when that changes something; EConflict when the name is another
	// account's.
	SaveSSOUser(ctx context.Context, u tocsin.User, subject string, audit ...tocsin.AuditEntry) error
}

// ssoStamp is the stamp of sessions opened through the identity provider:
// they depend on no password (passwordStamp is hexadecimal, never this).
const ssoStamp = "sso"

// ssoLoginTTL is how long a user has at the provider's page before the
// login must be started again.
const ssoLoginTTL = 10 * time.Minute

// ssoLogin is what a login through the provider keeps until its return.
type ssoLogin struct {
	Nonce    string `json:"nonce"`
	Verifier string `json:"verifier"`
	Next     string `json:"next"`
}

// ssoStart sends the browser to the provider's login page. The state is
// kept in etcd, taken once at the return (which any replica may serve),
// and in a cookie, so that a return is accepted only in the browser that
// started the login.
func (c *console) ssoStart(w http.ResponseWriter, r *http.Request, p *pageData) error {
	state, login := randomToken(32), ssoLogin{Nonce: randomToken(32), Verifier: randomToken(48), Next: safeNext(r.URL.Query().Get("suivant"))}
	data, err := json.Marshal(login)
	if err != nil {
		return err
	}
	if err := c.cfg.SSOStore.PutLoginState(r.Context(), state, data, ssoLoginTTL); err != nil {
		return err
	}
	target, err := c.cfg.SSO.AuthCodeURL(r.Context(), state, login.Nonce, login.Verifier)
	if err != nil {
		return err
	}
	// Lax: the cookie must come back with the provider's redirect, a
	// top-level navigation from another site.
	c.setCookie(w, "tocsin_sso", state, int(ssoLoginTTL/time.Second), http.SameSiteLaxMode)
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

// ssoReturn is where the provider sends the browser back with a code.
func (c *console) ssoReturn(w http.ResponseWriter, r *http.Request, p *pageData) error {
	ctx, q := r.Context(), r.URL.Query()
	ck, cerr := r.Cookie(c.cookieName("tocsin_sso"))
	c.setCookie(w, "tocsin_sso", "", -1, http.SameSiteLaxMode)
	if e := q.Get("error"); e != "" {
		desc := q.Get("error_description")
		if len(desc) > 200 {
			desc = desc[:200]
		}
		c.srv.log.Warn("identity provider refused the login", "error", e, "description", desc)
		return c.ssoRefused(w, r, p, "", http.StatusUnauthorized,
			fmt.Sprintf("Le fournisseur d'identité n'a pas accepté la connexion (%s) : recommencez, ou connectez-vous autrement.", strings.TrimSpace(e+" "+desc)))
	}
	expired := "La connexion par le fournisseur d'identité a expiré, a déjà servi ou n'a pas été commencée dans ce navigateur : recommencez."
	state := q.Get("state")
	if cerr != nil || state == "" || len(state) > 128 || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(state)) != 1 {
		return c.ssoRefused(w, r, p, "", http.StatusForbidden, expired)
	}
	data, err := c.cfg.SSOStore.TakeLoginState(ctx, state)
	if err != nil {
		return err
	}
	var login ssoLogin
	if data == nil || json.Unmarshal(data, &login) != nil {
		return c.ssoRefused(w, r, p, "", http.StatusForbidden, expired)
	}
	id, err := c.cfg.SSO.Exchange(ctx, q.Get("code"), login.Verifier, login.Nonce)
	switch tocsin.ErrorCode(err) {
	case "":
	case tocsin.EUnauthorized:
		return c.ssoRefused(w, r, p, "", http.StatusUnauthorized, "Connexion refusée : "+tocsin.ErrorMessage(err)+".")
	default:
		return err
	}
	if id.Role == "" {
		groups := "aucun groupe transmis"
		if len(id.Groups) > 0 {
			groups = "groupes : " + strings.Join(id.Groups, ", ")
		}
		return c.ssoRefused(w, r, p, id.Name, http.StatusForbidden, fmt.Sprintf(
			"Votre compte « %s » est reconnu par le fournisseur d'identité, mais aucun de vos groupes ne donne accès à Tocsin (%s) : demandez à l'administrateur de Tocsin de vous ouvrir l'accès.", id.Name, groups))
	}
	u := tocsin.User{Name: id.Name, Role: id.Role, SSO: true}
	err = c.cfg.SSOStore.SaveSSOUser(ctx, u, id.Subject,
		auditEntry(u.Name, tocsin.AuditConfig, "compte "+u.Name+" ouvert ou mis à jour par le fournisseur d'identité (rôle "+string(u.Role)+", "+strings.Join(id.Groups, ", ")+")"))
	if tocsin.ErrorCode(err) == tocsin.EConflict {
		return c.ssoRefused(w, r, p, u.Name, http.StatusConflict, tocsin.ErrorMessage(err)+".")
	}
	if err != nil {
		return err
	}
	if _, err := c.newSession(ctx, w, u, ssoStamp, auditEntry(u.Name, tocsin.AuditLogin, "connexion à la console par le fournisseur d'identité ("+string(u.Role)+")")); err != nil {
		return err
	}
	c.cfg.Observer.Login(LoginSuccess)
	c.srv.log.Info("login", "user", u.Name, "role", string(u.Role), "via", "sso")
	c.srv.drainAudit(ctx)
	http.Redirect(w, r, login.Next, http.StatusSeeOther)
	return nil
}

// ssoRefused audits a refused login through the provider and shows the
// login page with why.
func (c *console) ssoRefused(w http.ResponseWriter, r *http.Request, p *pageData, name string, status int, why string) error {
	actor := name
	if actor == "" {
		actor = "inconnu"
	}
	if a := c.srv.cfg.Audit; a != nil {
		if _, err := a.Append(r.Context(), actor, tocsin.AuditLoginFailed, "",
			"connexion par le fournisseur d'identité refusée depuis "+c.clientIP(r)+" : "+why); err != nil {
			return err
		}
	}
	c.cfg.Observer.Login(LoginFailure)
	c.srv.log.Warn("login through the identity provider refused", "user", name, "remote", c.clientIP(r), "status", status)
	c.showLogin(w, r, p, status, loginForm{Next: "/", Error: why})
	return nil
}
