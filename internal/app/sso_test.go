package app_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// ssoRoles is the préfecture's mapping of its directory groups to roles.
const ssoRoles = "grp-cod=officer,grp-audit=auditor,grp-admin=admin"

// mustRunProvider runs a real OpenID Connect provider on a free loopback
// port and returns the SSO configuration that points Tocsin at it.
func mustRunProvider(tb testing.TB) (*mockoidc.MockOIDC, app.SSOConfig) {
	tb.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Shutdown() })
	c := m.Config()
	return m, app.SSOConfig{Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: c.ClientSecret,
		RoleMap: ssoRoles, Label: "ProConnect"}
}

// agent is a user of the provider: groups is what its groups claim lists.
func agent(email string, groups ...string) *mockoidc.MockUser {
	return &mockoidc.MockUser{Subject: "sub-" + email, Email: email, EmailVerified: true,
		PreferredUsername: strings.Split(email, "@")[0], Groups: groups}
}

// ssoStart clicks « Se connecter avec ProConnect »: it returns the
// provider's login page Tocsin sends the browser to.
func (b *browser) ssoStart(next string) *url.URL {
	b.tb.Helper()
	req, _ := http.NewRequest("GET", b.a.URL()+"/connexion/sso?suivant="+url.QueryEscape(next), nil)
	st, _, loc := b.do(req)
	if st != http.StatusSeeOther {
		b.tb.Fatalf("GET /connexion/sso: status %d; want 303 to the provider", st)
	}
	u, err := url.Parse(loc)
	if err != nil {
		b.tb.Fatal(err)
	}
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("nonce") == "" {
		b.tb.Fatalf("provider's page %s: want a S256 PKCE challenge, a state and a nonce", loc)
	}
	return u
}

// atProvider has the provider sign its next user in at page, and returns
// where the provider sends the browser back.
func atProvider(tb testing.TB, page *url.URL) *url.URL {
	tb.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(page.String())
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		tb.Fatalf("provider's page: status %d; want 302 back to Tocsin", resp.StatusCode)
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		tb.Fatal(err)
	}
	return back
}

// ssoBack follows the provider's redirect back to Tocsin.
func (b *browser) ssoBack(back *url.URL) (int, string, string) {
	b.tb.Helper()
	req, _ := http.NewRequest("GET", back.String(), nil)
	return b.do(req)
}

// loginFailures counts the refused logins the audit trail holds for actor.
func loginFailures(tb testing.TB, a *app.App, actor string) int {
	tb.Helper()
	var trail struct {
		Entries []tocsin.AuditEntry `json:"entries"`
	}
	api(tb, a, "GET", "/api/v1/audit?limit=1000", nil, &trail)
	n := 0
	for _, e := range trail.Entries {
		if e.Action == tocsin.AuditLoginFailed && e.Actor == actor {
			n++
		}
	}
	return n
}

// The duty officer clicks « Se connecter avec ProConnect », signs in at
// the provider, and comes back logged in with the role their group gives;
// an agent in both the audit and the admin groups gets the wider role.
func TestDutyOfficerSignsInThroughTheIdentityProvider(t *testing.T) {
	t.Parallel()
	provider, sso := mustRunProvider(t)
	a := mustRunApp(t, app.Config{SSO: sso})

	b := newBrowser(t, a)
	if _, page := b.get("/connexion"); !strings.Contains(page, "Se connecter avec ProConnect") || !strings.Contains(page, `id="motdepasse"`) {
		t.Fatalf("login page: want the ProConnect button beside the password form:\n%s", page)
	}
	provider.QueueUser(agent("Cadre.Permanence@seine-maritime.gouv.fr", "grp-cod", "grp-inconnu"))
	st, _, loc := b.ssoBack(atProvider(t, b.ssoStart("/activations")))
	if st != http.StatusSeeOther || loc != "/activations" {
		t.Fatalf("back from the provider: status %d to %q; want 303 to /activations", st, loc)
	}
	_, page := b.get("/")
	if !strings.Contains(page, "cadre.permanence@seine-maritime.gouv.fr") || !strings.Contains(page, "cadre de permanence") {
		t.Errorf("dashboard: want the officer's e-mail and role shown:\n%s", page)
	}
	if st, _ := b.get("/activations/nouvelle"); st != http.StatusOK {
		t.Errorf("GET /activations/nouvelle as officer: status %d; want 200", st)
	}

	provider.QueueUser(agent("chef.bureau@seine-maritime.gouv.fr", "grp-audit", "grp-admin"))
	b2 := newBrowser(t, a)
	if st, _, _ := b2.ssoBack(atProvider(t, b2.ssoStart("/"))); st != http.StatusSeeOther {
		t.Fatalf("second agent back from the provider: status %d; want 303", st)
	}
	u, hash, err := a.Store().UserPassword(t.Context(), "chef.bureau@seine-maritime.gouv.fr")
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != tocsin.RoleAdmin || !u.SSO || hash != "" {
		t.Errorf("agent in grp-audit and grp-admin recorded as %+v (password %v); want admin, SSO, no password", u, hash != "")
	}

	var trail struct {
		Entries []tocsin.AuditEntry `json:"entries"`
	}
	api(t, a, "GET", "/api/v1/audit?limit=1000", nil, &trail)
	logins := map[string]string{}
	for _, e := range trail.Entries {
		if e.Action == tocsin.AuditLogin {
			logins[e.Actor] = e.Detail
		}
	}
	if d := logins["cadre.permanence@seine-maritime.gouv.fr"]; !strings.Contains(d, "fournisseur d'identité (officer)") {
		t.Errorf("audited login of the officer %q; want it through the identity provider, as officer", d)
	}
	if d := logins["chef.bureau@seine-maritime.gouv.fr"]; !strings.Contains(d, "(admin)") {
		t.Errorf("audited login of the admin %q; want admin", d)
	}
}

// What the login through the provider refuses, each time with a French
// page that says why, an audit entry and no session: a state that is not
// the browser's, a return replayed, a code used twice, an ID token for
// another nonce, an agent none of whose groups gives a role. With local
// passwords off, the password form is gone and a right password refused.
func TestLoginThroughTheProviderRefusesWhatDoesNotCheck(t *testing.T) {
	t.Parallel()
	provider, sso := mustRunProvider(t)
	a := mustRunApp(t, app.Config{SSO: sso, NoLocalPasswords: true})
	loggedOut := func(b *browser) {
		t.Helper()
		if st, _ := b.get("/"); st != http.StatusSeeOther {
			t.Errorf("GET / after a refused login: status %d; want 303 to the login page", st)
		}
	}
	refused := func(what string, st, want int, page, says string) {
		t.Helper()
		page = html.UnescapeString(page)
		if st != want || !strings.Contains(page, says) {
			t.Errorf("%s: status %d, page without %q; want %d and it:\n%s", what, st, says, want, page)
		}
	}

	t.Run("state of another browser", func(t *testing.T) {
		b := newBrowser(t, a)
		provider.QueueUser(agent("agent1@seine-maritime.gouv.fr", "grp-cod"))
		back := atProvider(t, b.ssoStart("/"))
		q := back.Query()
		q.Set("state", "etat-fabrique-par-un-attaquant")
		back.RawQuery = q.Encode()
		st, page, _ := b.ssoBack(back)
		refused("forged state", st, http.StatusForbidden, page, "a expiré, a déjà servi ou n'a pas été commencée dans ce navigateur")
		loggedOut(b)
	})

	var used *url.URL
	t.Run("return replayed", func(t *testing.T) {
		b := newBrowser(t, a)
		provider.QueueUser(agent("agent2@seine-maritime.gouv.fr", "grp-cod"))
		used = atProvider(t, b.ssoStart("/"))
		if st, _, _ := b.ssoBack(used); st != http.StatusSeeOther {
			t.Fatalf("first return: status %d; want 303", st)
		}
		// Another browser with the state's cookie too: the state was taken.
		thief := newBrowser(t, a)
		base, _ := url.Parse(a.URL())
		thief.http.Jar.SetCookies(base, []*http.Cookie{{Name: "tocsin_sso", Value: used.Query().Get("state"), Path: "/"}})
		st, page, _ := thief.ssoBack(used)
		refused("replayed return", st, http.StatusForbidden, page, "a déjà servi")
		loggedOut(thief)
	})

	t.Run("code used twice", func(t *testing.T) {
		b := newBrowser(t, a)
		fresh := atProvider(t, b.ssoStart("/")) // a state of this browser's own
		q := fresh.Query()
		q.Set("code", used.Query().Get("code"))
		fresh.RawQuery = q.Encode()
		st, page, _ := b.ssoBack(fresh)
		refused("code used twice", st, http.StatusUnauthorized, page, "a refusé le code de connexion")
		loggedOut(b)
	})

	t.Run("ID token for another nonce", func(t *testing.T) {
		b := newBrowser(t, a)
		provider.QueueUser(agent("agent3@seine-maritime.gouv.fr", "grp-cod"))
		page := b.ssoStart("/")
		q := page.Query()
		q.Set("nonce", "nonce-d-une-autre-demande")
		page.RawQuery = q.Encode()
		st, body, _ := b.ssoBack(atProvider(t, page))
		refused("wrong nonce", st, http.StatusUnauthorized, body, "(nonce)")
		loggedOut(b)
	})

	t.Run("no group gives a role", func(t *testing.T) {
		b := newBrowser(t, a)
		provider.QueueUser(agent("stagiaire@seine-maritime.gouv.fr", "grp-stagiaires"))
		st, page, _ := b.ssoBack(atProvider(t, b.ssoStart("/")))
		refused("unmapped group", st, http.StatusForbidden, page, "aucun de vos groupes ne donne accès à Tocsin (groupes : grp-stagiaires)")
		loggedOut(b)
		if n := loginFailures(t, a, "stagiaire@seine-maritime.gouv.fr"); n != 1 {
			t.Errorf("%d refused logins audited for the agent; want 1", n)
		}
		if _, _, err := a.Store().UserPassword(t.Context(), "stagiaire@seine-maritime.gouv.fr"); tocsin.ErrorCode(err) != tocsin.ENotFound {
			t.Errorf("refused agent recorded as a user (err %v); want none", err)
		}
	})

	if n := loginFailures(t, a, "inconnu"); n != 4 {
		t.Errorf("%d refused logins of an unknown agent audited; want 4 (state, replay, code, nonce)", n)
	}

	t.Run("local passwords off", func(t *testing.T) {
		mustCreateUser(t, a, "permanence", tocsin.RoleOfficer)
		b := newBrowser(t, a)
		if _, page := b.get("/connexion"); strings.Contains(page, `id="motdepasse"`) || !strings.Contains(page, "Se connecter avec ProConnect") {
			t.Errorf("login page with local passwords off: want the ProConnect button only:\n%s", page)
		}
		st, _ := b.login("permanence", consolePassword)
		if st != http.StatusForbidden {
			t.Errorf("right password with local passwords off: status %d; want 403", st)
		}
		loggedOut(b)
	})
}

// A client secret rotated at the provider and not in Tocsin: the login
// answers 503 saying so, not 500, and opens nothing.
func TestLoginThroughTheProviderWithAStaleSecretIsUnavailable(t *testing.T) {
	t.Parallel()
	provider, sso := mustRunProvider(t)
	sso.ClientSecret = "ancien-secret"
	a := mustRunApp(t, app.Config{SSO: sso})
	b := newBrowser(t, a)
	provider.QueueUser(agent("agent@seine-maritime.gouv.fr", "grp-cod"))
	st, page, _ := b.ssoBack(atProvider(t, b.ssoStart("/")))
	if page = html.UnescapeString(page); st != http.StatusServiceUnavailable || !strings.Contains(page, "refuse l'identifiant ou le secret du client de Tocsin") {
		t.Errorf("return with a stale client secret: status %d; want 503 naming the client's credentials:\n%s", st, page)
	}
	if st, _ := b.get("/"); st != http.StatusSeeOther {
		t.Errorf("GET / after it: status %d; want 303 to the login page", st)
	}
}
