package app

import (
	"strings"

	"github.com/prefecture76/tocsin/internal/oidc"
	"github.com/prefecture76/tocsin/internal/web"
)

// SSOConfig configures the login through an OpenID Connect provider
// (ProConnect, Keycloak…). An empty Issuer leaves it off.
type SSOConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string // never logged
	// RedirectURL is Tocsin's callback as registered at the provider;
	// default <public URL>/connexion/sso/retour.
	RedirectURL string
	// GroupsClaim names the ID token's claim listing the user's groups;
	// default "groups".
	GroupsClaim string
	// RoleMap maps the provider's groups to roles:
	// "grp-cod=officer,grp-audit=auditor,grp-admin=admin".
	RoleMap string
	// Scopes asked for; default oidc.DefaultScopes.
	Scopes []string
	// Label names the provider on the login page (« ProConnect »).
	Label string
}

// ssoProblems names what is wrong in the SSO settings.
func ssoProblems(cfg Config) []string {
	c := cfg.SSO
	if c.Issuer == "" {
		if cfg.NoLocalPasswords {
			return []string{"local-passwords=false needs an identity provider (oidc-issuer): nobody could log in to the console"}
		}
		return nil
	}
	var problems []string
	if c.ClientID == "" {
		problems = append(problems, "oidc-client-id is required with oidc-issuer")
	}
	if _, err := oidc.ParseRoleMap(c.RoleMap); err != nil {
		problems = append(problems, "oidc-role-map: "+strings.TrimPrefix(err.Error(), "role map: "))
	}
	if _, err := oidc.New(oidc.Config{Issuer: c.Issuer, ClientID: "x", RedirectURL: "x", Roles: oidc.RoleMap{"x": "admin"}}); err != nil {
		problems = append(problems, "oidc-issuer: an http(s) URL expected")
	}
	return problems
}

// ssoCallbackPath is where the provider sends browsers back.
const ssoCallbackPath = "/connexion/sso/retour"

// openSSO returns the identity provider the console signs users in
// through, nil when none is configured.
func (a *App) openSSO() (web.SSO, error) {
	c := a.cfg.SSO
	if c.Issuer == "" {
		return nil, nil
	}
	roles, err := oidc.ParseRoleMap(c.RoleMap)
	if err != nil {
		return nil, err
	}
	redirect := c.RedirectURL
	if redirect == "" {
		redirect = a.publicURL + ssoCallbackPath
	}
	if !strings.HasSuffix(redirect, ssoCallbackPath) {
		a.log.Warn("the OIDC redirect URL does not end with the callback path: the provider must send browsers to it", "redirect_url", redirect, "path", ssoCallbackPath)
	}
	p, err := oidc.New(oidc.Config{
		Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: c.ClientSecret, RedirectURL: redirect,
		GroupsClaim: c.GroupsClaim, Roles: roles, Scopes: c.Scopes, Logger: a.log,
	})
	if err != nil {
		return nil, err
	}
	a.log.Info("single sign-on", "issuer", c.Issuer, "client_id", c.ClientID, "redirect_url", redirect, "groups", len(roles))
	return p, nil
}
