package app_test

import (
	"bytes"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// code types a code on the second factor's page after the password.
func (b *browser) code(code string) (int, string, string) {
	b.tb.Helper()
	_, page := b.get("/connexion/code")
	st, body, loc := b.post("/connexion/code", url.Values{"csrf": {csrfOf(page)}, "code": {code}})
	return st, html.UnescapeString(body), loc
}

// auditDetails lists the audit trail's details for actor and action.
func auditDetails(tb testing.TB, a *app.App, action string) []string {
	tb.Helper()
	var trail struct {
		Entries []tocsin.AuditEntry `json:"entries"`
	}
	api(tb, a, "GET", "/api/v1/audit?limit=1000", nil, &trail)
	var details []string
	for _, e := range trail.Entries {
		if e.Action == action {
			details = append(details, e.Actor+" : "+e.Detail)
		}
	}
	return details
}

// A new administrator's first login asks them to enrol an authenticator
// application, not a dead end: the secret is shown until a first code
// confirms it, then never again. Each later login asks for the code after
// the password; a code is used once; a pending login opens nothing else.
// Lost phone: the administrator resets it, and the next login enrols
// again. A duty officer is asked for nothing by default.
func TestAdministratorEnrolsAtFirstLoginThenGivesACodeEachTime(t *testing.T) {
	t.Parallel()
	clock := twiliosim.NewManualClock(night)
	a := silentApp(t, app.Config{Clock: clock})
	mustCreateUser(t, a, "chef", tocsin.RoleAdmin)

	b := newBrowser(t, a)
	if st, loc := b.login("chef", consolePassword); st != http.StatusSeeOther || loc != enrolmentPath {
		t.Fatalf("first login of an administrator: status %d to %q; want 303 to %s", st, loc, enrolmentPath)
	}
	if st, _ := b.get("/annuaire"); st != http.StatusSeeOther {
		t.Errorf("GET /annuaire before the second factor: status %d; want 303 (nothing opens)", st)
	}
	_, page := b.get(enrolmentPath)
	secret := secretField.FindStringSubmatch(page)[1]
	if !strings.Contains(page, "otpauth://totp/Tocsin:chef?") {
		t.Errorf("enrolment page without the otpauth address:\n%s", page)
	}
	st, body, _ := b.post(enrolmentPath, url.Values{"csrf": {csrfOf(page)}, "code": {"000000"}})
	if st != http.StatusUnprocessableEntity || !strings.Contains(html.UnescapeString(body), "Code incorrect") || !strings.Contains(body, secret) {
		t.Errorf("wrong first code: status %d; want 422, the same secret shown again to type", st)
	}
	enrolled := totpCode(t, secret, clock.Now())
	if st, _, loc := b.post(enrolmentPath, url.Values{"csrf": {csrfOf(page)}, "code": {enrolled}}); st != http.StatusSeeOther || loc != "/" {
		t.Fatalf("right first code: status %d to %q; want 303 to /", st, loc)
	}
	if st, _ := b.get("/annuaire"); st != http.StatusOK {
		t.Errorf("GET /annuaire once enrolled: status %d; want 200", st)
	}
	if _, page := b.get(enrolmentPath); strings.Contains(page, secret) || !strings.Contains(page, "est active") {
		t.Errorf("the enrolment page shows the confirmed secret again, or does not say it is active:\n%s", page)
	}

	// The next login, in the same 30 seconds: the code that enrolled is used.
	b2 := newBrowser(t, a)
	if st, loc := b2.login("chef", consolePassword); st != http.StatusSeeOther || loc != "/connexion/code" {
		t.Fatalf("login of an enrolled administrator: status %d to %q; want 303 to /connexion/code", st, loc)
	}
	if st, page, _ := b2.code(enrolled); st != http.StatusUnauthorized || !strings.Contains(page, "déjà utilisé") {
		t.Errorf("the enrolment's code again: status %d; want 401, already used", st)
	}
	clock.Advance(30 * time.Second)
	now := totpCode(t, secret, clock.Now())
	if st, _, loc := b2.code(now); st != http.StatusSeeOther || loc != "/" {
		t.Fatalf("code of the next step: status %d to %q; want 303 to /", st, loc)
	}
	if st, _ := b2.get("/"); st != http.StatusOK {
		t.Errorf("dashboard after the code: status %d; want 200", st)
	}
	b3 := newBrowser(t, a)
	b3.login("chef", consolePassword)
	if st, _, _ := b3.code(now); st != http.StatusUnauthorized {
		t.Errorf("a code replayed in another browser: status %d; want 401", st)
	}
	if st, _ := b3.get("/"); st != http.StatusSeeOther {
		t.Errorf("GET / after a refused code: status %d; want 303", st)
	}

	// Lost phone: the administrator's token resets it; next login, enrol.
	if st := api(t, a, "POST", "/api/v1/users/chef/totp/reset", nil, nil); st != http.StatusOK {
		t.Fatalf("reset the second factor: status %d; want 200", st)
	}
	if st, loc := newBrowser(t, a).login("chef", consolePassword); loc != enrolmentPath {
		t.Errorf("login after the reset: status %d to %q; want the enrolment again", st, loc)
	}

	// A duty officer is asked for nothing by default, and may enrol from
	// « Mes jetons ».
	officer := loginAs(t, a, "permanence", tocsin.RoleOfficer)
	if _, page := officer.get("/jetons"); !strings.Contains(page, `href="/connexion/double-authentification"`) {
		t.Errorf("« Mes jetons » without the link to the second factor:\n%s", page)
	}
	if _, st, loc := officer.enrol(clock.Now()); st != http.StatusSeeOther || loc != enrolmentPath {
		t.Errorf("voluntary enrolment: status %d to %q; want 303 back to the page, now saying it is active", st, loc)
	}
	if st, loc := newBrowser(t, a).login("permanence", consolePassword); loc != "/connexion/code" {
		t.Errorf("login of the officer once enrolled: status %d to %q; want the code asked", st, loc)
	}

	trail := strings.Join(append(auditDetails(t, a, tocsin.AuditConfig), auditDetails(t, a, tocsin.AuditLoginFailed)...), "\n")
	for _, want := range []string{"chef : double authentification de chef activée", "admin : double authentification de chef réinitialisée",
		"chef : code de double authentification refusé"} {
		if !strings.Contains(trail, want) {
			t.Errorf("audit trail lacks %q:\n%s", want, trail)
		}
	}
	if logins := strings.Join(auditDetails(t, a, tocsin.AuditLogin), "\n"); !strings.Contains(logins, "chef : connexion à la console avec double authentification (admin)") ||
		!strings.Contains(logins, "chef : connexion à la console, double authentification activée (admin)") {
		t.Errorf("audited logins:\n%s", logins)
	}
}

// With --second-factor-all, a duty officer enrols too; with a key, the
// secret is sealed in etcd, and the codes still check.
func TestSecondFactorForEveryRoleSealedWithAKey(t *testing.T) {
	t.Parallel()
	clock := twiliosim.NewManualClock(night)
	key := bytes.Repeat([]byte{7}, 32)
	a := silentApp(t, app.Config{SecondFactorForAll: true, SecondFactorKey: key, Clock: clock})
	mustCreateUser(t, a, "permanence", tocsin.RoleOfficer)
	b := newBrowser(t, a)
	if st, loc := b.login("permanence", consolePassword); st != http.StatusSeeOther || loc != enrolmentPath {
		t.Fatalf("login of a duty officer with a second factor for all: status %d to %q; want 303 to %s", st, loc, enrolmentPath)
	}
	secret, st, loc := b.enrol(clock.Now())
	if st != http.StatusSeeOther || loc != "/" {
		t.Errorf("enrolment: status %d to %q; want 303 to /", st, loc)
	}
	stored, err := a.Store().SecondFactor(t.Context(), "permanence")
	if err != nil {
		t.Fatal(err)
	}
	if !stored.Confirmed || !strings.HasPrefix(stored.Secret, "sealed:") || strings.Contains(stored.Secret, secret) {
		t.Errorf("secret stored as %q; want it sealed, not %s", stored.Secret, secret)
	}
	clock.Advance(30 * time.Second)
	b2 := newBrowser(t, a)
	b2.login("permanence", consolePassword)
	if st, _, loc := b2.code(totpCode(t, secret, clock.Now())); st != http.StatusSeeOther || loc != "/" {
		t.Errorf("code of the sealed secret: status %d to %q; want 303 to /", st, loc)
	}
}
