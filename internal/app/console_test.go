package app_test

import (
	"bytes"
	"fmt"
	stdhtml "html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/indicator"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// silentApp runs the app over three mayors of Dieppe who never answer, so
// that an activation stays as the test leaves it.
func silentApp(t *testing.T, cfg app.Config) *app.App {
	t.Helper()
	profile := twiliosim.Profile{Numbers: map[string]twiliosim.Persona{},
		Delivery: twiliosim.Range{Min: 5 * time.Millisecond, Max: 20 * time.Millisecond}}
	var officials []tocsin.Official
	for i := 1; i <= 3; i++ {
		n := fictionMobile(200 + i)
		profile.Numbers[n] = twiliosim.Persona{Behaviour: twiliosim.Silent}
		officials = append(officials, tocsin.Official{ID: fmt.Sprintf("maire-%d", i), Name: fmt.Sprintf("Maire Numéro %d", i),
			Role: "maire", Commune: "76217", CommuneName: "Dieppe", Arrondissement: "Dieppe",
			Numbers: []tocsin.Number{{E164: n, Kind: tocsin.Mobile}}})
	}
	cfg.SimulatorProfile = &profile
	cfg.PlaybooksDir = t.TempDir()
	writeFile(t, cfg.PlaybooksDir+"/test.yaml", testPlaybook)
	writeFile(t, cfg.PlaybooksDir+"/note.yaml", noteplaybook)
	a := mustRunApp(t, cfg)
	if err := a.Store().ReplaceOfficials(t.Context(), officials); err != nil {
		t.Fatal(err)
	}
	return a
}

// noteplaybook carries the duty officer's free text into the message.
const noteplaybook = `id: test-note
title: Alerte avec consigne
audience: {everyone: true}
message: "Alerte pour {{.Commune}}.{{if .Note}} {{.Note}}{{end}}"
`

// mustActivate starts an exercise through the API and returns its id.
func mustActivate(t testing.TB, a *app.App) string {
	t.Helper()
	var v view
	if st := api(t, a, "POST", "/api/v1/activations", map[string]any{"playbook": "test-tous", "exercise": true}, &v); st != http.StatusCreated {
		t.Fatalf("create activation: status %d", st)
	}
	return v.ID
}

// Each page as each role sees it: the auditor reads everything and is
// offered no action; the duty officer activates, confirms and closes; the
// administrator also imports the directory.
func TestConsolePagesForEachRole(t *testing.T) {
	t.Parallel()
	a := silentApp(t, app.Config{})
	id := mustActivate(t, a)
	type want struct {
		path     string
		status   map[tocsin.Role]int // default 200
		contains []string
		// only these roles see these strings
		officerOnly, adminOnly []string
	}
	pages := []want{
		{path: "/", contains: []string{"Tableau de bord", "Alerte de test", "Prochains exercices", "Indicateurs du mois", `data-live="tableau"`, "Indicateurs de " + indicator.MonthOf(time.Now()).Label(), "Cible", "à 10:00"},
			officerOnly: []string{`href="/activations/nouvelle"`}},
		{path: "/activations", contains: []string{"Activations", "/activations/" + id}},
		{path: "/activations/" + id, contains: []string{"Alerte de test", "Maire Numéro 1", "Chronologie", "06 39 98 02 01", `href="tel:+33639980201"`, `data-live="` + id + `"`},
			officerOnly: []string{"/confirmer/maire-1", "Clore l'activation"}},
		{path: "/activations/" + id + "?filtre=non-informes", contains: []string{`Non informés (<span data-filter-count="non-informes">3</span>)`}},
		{path: "/activations/nouvelle", status: map[tocsin.Role]int{tocsin.RoleAuditor: 403}, contains: []string{"Nouvelle activation", "scenario-test-tous"}},
		{path: "/annuaire", contains: []string{"Annuaire des élus", "3 élus", "Maire Numéro 2"}, adminOnly: []string{"Importer un annuaire"}},
		{path: "/annuaire?q=numero%202", contains: []string{"1 élu(s) sur 3", "Maire Numéro 2"}},
		{path: "/scenarios", contains: []string{"Alerte de test", "tous les élus de l'annuaire", "T+0 s", "Escalade du scénario « Alerte de test »",
			"<pre class=\"tc-message\">Alerte de test pour Dieppe. Répondez OK", "Modèle du message"}},
		{path: "/exercices", contains: []string{"Exercices", "Prochains exercices", "à 10:00 (heure de Paris)"}, officerOnly: []string{"Lancer un exercice"}},
		{path: "/indicateurs", contains: []string{"module 7", "Indicateurs", "Cible", "Résultats", "/indicateurs/export?from="}},
		{path: "/journal", contains: []string{"Journal d'audit", "Vérifier la chaîne : intègre", "activation lancée", "/journal/export?activation=&from=&to=&format=csv"}},
		{path: "/nulle-part", status: map[tocsin.Role]int{tocsin.RoleAdmin: 404, tocsin.RoleOfficer: 404, tocsin.RoleAuditor: 404}, contains: []string{"Page introuvable"}},
	}
	for _, role := range []tocsin.Role{tocsin.RoleAdmin, tocsin.RoleOfficer, tocsin.RoleAuditor} {
		b := loginAs(t, a, "user-"+string(role), role)
		for _, p := range pages {
			req, _ := http.NewRequest("GET", a.URL()+p.path, nil)
			resp, err := b.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body bytes.Buffer
			body.ReadFrom(resp.Body)
			resp.Body.Close()
			html := stdhtml.UnescapeString(body.String())
			wantStatus := http.StatusOK
			if s, ok := p.status[role]; ok {
				wantStatus = s
			}
			if resp.StatusCode != wantStatus {
				t.Errorf("%s GET %s: status %d, want %d", role, p.path, resp.StatusCode, wantStatus)
				continue
			}
			csp := resp.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
				t.Errorf("%s GET %s: CSP %q; want scripts from self only, no inline, no framing", role, p.path, csp)
			}
			if wantStatus != http.StatusOK {
				continue
			}
			for _, s := range p.contains {
				if !strings.Contains(html, s) {
					t.Errorf("%s GET %s: page lacks %q", role, p.path, s)
				}
			}
			for _, s := range p.officerOnly {
				if got, want := strings.Contains(html, s), role.CanActivate(); got != want {
					t.Errorf("%s GET %s: shows %q: %v, want %v", role, p.path, s, got, want)
				}
			}
			for _, s := range p.adminOnly {
				if got, want := strings.Contains(html, s), role == tocsin.RoleAdmin; got != want {
					t.Errorf("%s GET %s: shows %q: %v, want %v", role, p.path, s, got, want)
				}
			}
			if strings.Contains(html, "<script>") || strings.Contains(html, " style=") {
				t.Errorf("%s GET %s: inline script or style in the page", role, p.path)
			}
		}
	}
}

// The duty officer's path: preview, a real activation refused without its
// second confirmation, then confirmed; an official confirmed by hand; the
// activation closed only once its box is ticked.
func TestConsoleActivationFlow(t *testing.T) {
	t.Parallel()
	a := silentApp(t, app.Config{})
	b := loginAs(t, a, "permanence", tocsin.RoleOfficer)

	st, html, _ := b.postCSRF("/activations/apercu", url.Values{"scenario": {"test-note"}, "mode": {"reelle"}, "note": {"Évacuez côté port"}})
	html = stdhtml.UnescapeString(html)
	if st != http.StatusOK {
		t.Fatalf("preview: status %d", st)
	}
	for _, s := range []string{"3</span><span class=\"tc-figure__label\">élus visés", "UCS-2", "« ô »", "Je confirme l'activation réelle", "Envoyer l'alerte réelle", "chaque palier prévu"} {
		if !strings.Contains(html, s) {
			t.Errorf("preview lacks %q", s)
		}
	}
	st, html, _ = b.postCSRF("/activations/apercu", url.Values{"scenario": {"inconnu"}})
	if st != http.StatusBadRequest || !strings.Contains(html, "inconnu") {
		t.Errorf("preview of an unknown playbook: status %d; want 400 naming it", st)
	}

	st, html, _ = b.postCSRF("/activations", url.Values{"scenario": {"test-tous"}, "mode": {"reelle"}})
	if st != http.StatusBadRequest || !strings.Contains(html, "cochez la case de confirmation") {
		t.Fatalf("real activation without its confirmation: status %d; want 400 asking for it", st)
	}
	var list struct {
		Activations []view `json:"activations"`
	}
	api(t, a, "GET", "/api/v1/activations", nil, &list)
	if len(list.Activations) != 0 {
		t.Fatalf("an unconfirmed real activation was created")
	}
	st, _, loc := b.postCSRF("/activations", url.Values{"scenario": {"test-tous"}, "mode": {"reelle"}, "confirmation-reelle": {"oui"}})
	if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/activations/") {
		t.Fatalf("confirmed real activation: status %d to %q; want 303 to the activation", st, loc)
	}
	id := strings.TrimPrefix(strings.Split(loc, "?")[0], "/activations/")
	var v view
	api(t, a, "GET", "/api/v1/activations/"+id, nil, &v)
	if v.Exercise || v.CreatedBy != "permanence" || v.Targeted != 3 {
		t.Errorf("activation %+v; want real, by permanence, 3 targeted", v.Activation)
	}

	st, _, _ = b.postCSRF("/activations/"+id+"/confirmer/maire-2", url.Values{"joint": {"sa secrétaire"}})
	if st != http.StatusBadRequest {
		t.Errorf("confirmation without how: status %d, want 400", st)
	}
	st, _, loc = b.postCSRF("/activations/"+id+"/confirmer/maire-2", url.Values{"joint": {"sa secrétaire"}, "moyen": {"téléphone"}, "filtre": {"a-appeler"}})
	if st != http.StatusSeeOther || !strings.Contains(loc, "filtre=a-appeler") {
		t.Errorf("confirmation: status %d to %q; want 303 back to the filtered table", st, loc)
	}
	_, html = b.get("/activations/" + id)
	if !strings.Contains(html, "sa secrétaire joint·e (téléphone) par permanence") {
		t.Errorf("the activation page does not show the confirmation")
	}

	st, _, _ = b.postCSRF("/activations/"+id+"/clore", nil)
	if st != http.StatusBadRequest {
		t.Errorf("close without its box: status %d, want 400", st)
	}
	st, _, _ = b.postCSRF("/activations/"+id+"/clore", url.Values{"confirmation": {"oui"}})
	if st != http.StatusSeeOther {
		t.Errorf("close: status %d, want 303", st)
	}
	api(t, a, "GET", "/api/v1/activations/"+id, nil, &v)
	if v.State != tocsin.Closed || v.ClosedBy != "permanence" {
		t.Errorf("after close: state %s by %q", v.State, v.ClosedBy)
	}
}

// A directory import from the console is all or nothing, and every error
// names its line and column.
func TestConsoleDirectoryImport(t *testing.T) {
	t.Parallel()
	a := silentApp(t, app.Config{})
	b := loginAs(t, a, "administrateur", tocsin.RoleAdmin)
	upload := func(csv string) (int, string, string) { return b.upload("/annuaire/import", "annuaire.csv", csv) }
	bad := "id;nom;fonction;commune;mobile\n" +
		"x1;Nom Un;maire;76217;06 12\n" +
		"x2;Nom Deux;pompier;76217;06 39 98 00 02\n"
	st, html, _ := upload(bad)
	if st != http.StatusBadRequest {
		t.Fatalf("bad import: status %d, want 400", st)
	}
	for _, s := range []string{"rien ne change", "ligne 2, colonne « mobile »", "ligne 3, colonne « fonction »", "Maire Numéro 1"} {
		if !strings.Contains(strings.ReplaceAll(html, "&#34;", `"`), s) && !strings.Contains(html, s) {
			t.Errorf("bad import page lacks %q", s)
		}
	}
	var dir struct {
		Count int `json:"count"`
	}
	api(t, a, "GET", "/api/v1/officials", nil, &dir)
	if dir.Count != 3 {
		t.Errorf("after a bad import the directory has %d officials; want the 3 before", dir.Count)
	}
	good := "id;nom;fonction;commune;mobile\n" +
		"eu-maire;Nadia Leroy;maire;76255;06 39 98 00 10\n" +
		"eu-adjoint;Hugo Roux;adjoint;76255;06 39 98 00 11\n"
	st, _, loc := upload(good)
	if st != http.StatusSeeOther || loc != "/annuaire?importe=2" {
		t.Fatalf("good import: status %d to %q", st, loc)
	}
	_, html = b.get(loc)
	if !strings.Contains(html, "Annuaire importé : 2 élus") || !strings.Contains(html, "Nadia Leroy") {
		t.Errorf("after the import the directory page does not show it")
	}
}

// A state-changing request without the session's CSRF token, or from
// another origin, changes nothing.
func TestConsoleRefusesRequestsWithoutCSRFToken(t *testing.T) {
	t.Parallel()
	a := silentApp(t, app.Config{})
	id := mustActivate(t, a)
	b := loginAs(t, a, "permanence", tocsin.RoleOfficer)
	form := url.Values{"confirmation": {"oui"}}
	st, html, _ := b.post("/activations/"+id+"/clore", form)
	if st != http.StatusForbidden || !strings.Contains(html, "jeton de sécurité") {
		t.Errorf("close without token: status %d; want 403 about the token", st)
	}
	form.Set("csrf", "faux-jeton")
	if st, _, _ := b.post("/activations/"+id+"/clore", form); st != http.StatusForbidden {
		t.Errorf("close with a wrong token: status %d; want 403", st)
	}
	form.Set("csrf", b.csrf)
	req, _ := http.NewRequest("POST", a.URL()+"/activations/"+id+"/clore", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://attaquant.example")
	if st, _, _ := b.do(req); st != http.StatusForbidden {
		t.Errorf("close from another origin: status %d; want 403", st)
	}
	var v view
	api(t, a, "GET", "/api/v1/activations/"+id, nil, &v)
	if v.State != tocsin.Open {
		t.Fatalf("refused requests closed the activation")
	}
	if st, _, _ := b.post("/activations/"+id+"/clore", form); st != http.StatusSeeOther {
		t.Errorf("close with the token: status %d; want 303", st)
	}
	// The login form has its own token, tied to a cookie.
	anon := newBrowser(t, a)
	st, _, _ = anon.post("/connexion", url.Values{"identifiant": {"permanence"}, "motdepasse": {consolePassword}})
	if st != http.StatusForbidden {
		t.Errorf("login without the form's token: status %d; want 403", st)
	}
}

// Five wrong passwords lock a name, from that address, for a quarter of an
// hour, even with the right password; thirty failures lock an address. The counts are in etcd,
// where every replica reads them.
func TestConsoleThrottlesLogins(t *testing.T) {
	t.Parallel()
	a := silentApp(t, app.Config{})
	mustCreateUser(t, a, "victime", tocsin.RoleOfficer)
	mustCreateUser(t, a, "collegue", tocsin.RoleOfficer)
	b := newBrowser(t, a)
	for i := range 5 {
		if st, _ := b.login("victime", "mauvais mot de passe"); st != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: status %d, want 401", i+1, st)
		}
	}
	if n, err := a.Store().LoginFailures(t.Context(), "user:victime@127.0.0.1"); err != nil || n != 5 {
		t.Errorf("failures stored for victime: %d, %v; want 5", n, err)
	}
	if st, _ := b.login("victime", consolePassword); st != http.StatusTooManyRequests {
		t.Errorf("right password after 5 failures: status %d, want 429", st)
	}
	if st, loc := newBrowser(t, a).login("collegue", consolePassword); st != http.StatusSeeOther || loc != "/" {
		t.Errorf("another user from the same address: status %d; want logged in", st)
	}
	for i := range 25 {
		if st, _ := b.login(fmt.Sprintf("inconnu-%d", i), "mauvais mot de passe"); st != http.StatusUnauthorized {
			t.Fatalf("unknown user %d: status %d, want 401", i, st)
		}
	}
	if st, _ := newBrowser(t, a).login("collegue", consolePassword); st != http.StatusTooManyRequests {
		t.Errorf("after 30 failures from one address: status %d, want 429", st)
	}
}

// A session ends at its expiry, at logout, and when the password changes,
// on every page.
func TestConsoleSessionsEnd(t *testing.T) {
	t.Parallel()
	a := silentApp(t, app.Config{SessionTTL: 2 * time.Second})
	b := loginAs(t, a, "permanence", tocsin.RoleOfficer)
	if st, _ := b.get("/"); st != http.StatusOK {
		t.Fatalf("dashboard: status %d", st)
	}
	testingutil.Eventually(t, 10*time.Second, "the session of 2 s to end (303 to the login page)", func() bool {
		st, _ := b.get("/annuaire")
		return st == http.StatusSeeOther
	})

	b = newBrowser(t, a)
	b.login("permanence", consolePassword)
	_, html := b.get("/")
	b.csrf = csrfOf(html)
	u, _ := url.Parse(a.URL())
	old := b.http.Jar.Cookies(u)
	if st, _, loc := b.postCSRF("/deconnexion", nil); st != http.StatusSeeOther || loc != "/connexion?au-revoir" {
		t.Errorf("logout: status %d to %q", st, loc)
	}
	b.http.Jar.SetCookies(u, old) // the cookie, kept by an attacker
	if st, _ := b.get("/"); st != http.StatusSeeOther {
		t.Errorf("old cookie after logout: status %d, want 303", st)
	}

	b = newBrowser(t, a)
	b.login("permanence", consolePassword)
	if st, _ := b.get("/"); st != http.StatusOK {
		t.Fatalf("logged in again: status %d", st)
	}
	if st := api(t, a, "POST", "/api/v1/users/permanence/password", map[string]string{"password": "un autre mot de passe"}, nil); st != http.StatusOK {
		t.Fatalf("reset password: status %d", st)
	}
	if st, _ := b.get("/"); st != http.StatusSeeOther {
		t.Errorf("after a password reset: status %d, want 303", st)
	}
	if st, loc := newBrowser(t, a).login("permanence", "un autre mot de passe"); st != http.StatusSeeOther || loc != "/" {
		t.Errorf("login with the new password: status %d", st)
	}
}

// The session cookie is HttpOnly and SameSite, and Secure behind https.
func TestConsoleSessionCookie(t *testing.T) {
	t.Parallel()
	a := silentApp(t, app.Config{})
	mustCreateUser(t, a, "permanence", tocsin.RoleOfficer)
	b := newBrowser(t, a)
	_, page := b.get("/connexion")
	req, _ := http.NewRequest("POST", a.URL()+"/connexion", strings.NewReader(url.Values{"csrf": {csrfOf(page)},
		"identifiant": {"permanence"}, "motdepasse": {consolePassword}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var found bool
	for _, c := range resp.Cookies() {
		if c.Name == "tocsin_session" && c.Value != "" {
			found = true
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure {
				t.Errorf("session cookie %+v; want HttpOnly, SameSite=Lax, not Secure over http", c)
			}
		}
	}
	if !found {
		t.Errorf("no session cookie set at login")
	}
}

// At the first start the administrator's token and console password are
// printed once; the password opens the console.
func TestFirstStartPrintsTheAdministratorsPassword(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	pbs := t.TempDir()
	writeFile(t, pbs+"/test.yaml", testPlaybook)
	a, err := app.New(app.Config{DataDir: t.TempDir(), PlaybooksDir: pbs, Listen: "127.0.0.1:0", Simulator: true,
		EtcdUnsafeNoFsync: true, LeaseTTL: 2, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	m := regexp.MustCompile(`mot de passe \(affiché une seule fois\) :\n\n    (\S+)\n`).FindStringSubmatch(out.String())
	if m == nil || !strings.Contains(out.String(), "Jeton de l'administrateur") {
		t.Fatalf("first start printed %q; want the token and the console password", out.String())
	}
	// The first login asks the administrator to enrol a second factor,
	// and goes on to the dashboard once it is done: no dead end.
	b := newBrowser(t, a)
	if st, loc := b.login("admin", m[1]); st != http.StatusSeeOther || loc != enrolmentPath {
		t.Fatalf("login with the printed password: status %d to %q; want 303 to the enrolment", st, loc)
	}
	if _, st, loc := b.enrol(a.Now()); st != http.StatusSeeOther || loc != "/" {
		t.Errorf("first administrator's enrolment: status %d to %q; want 303 to /", st, loc)
	}
	if !strings.Contains(out.String(), "double authentification") {
		t.Errorf("first start printed %q; want it to say the first login asks for a second factor", out.String())
	}
}

// 150 wrong passwords for one name from one address, sent at once: the
// attempt is counted before the password is checked, in one step with the
// check of the limit, so at most five passwords are checked; the others
// are refused (429), none with a 500, and each check is audited.
func TestConcurrentWrongPasswordsAreThrottledBeforeBeingChecked(t *testing.T) {
	t.Parallel()
	a := silentApp(t, app.Config{})
	mustCreateUser(t, a, "victime", tocsin.RoleOfficer)
	const n = 150
	forms := make([]url.Values, n)
	browsers := make([]*browser, n)
	for i := range n {
		browsers[i] = newBrowser(t, a)
		_, page := browsers[i].get("/connexion")
		forms[i] = url.Values{"csrf": {csrfOf(page)}, "identifiant": {"victime"}, "motdepasse": {"mauvais mot de passe"}, "suivant": {"/"}}
	}
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", a.URL()+"/connexion", strings.NewReader(forms[i].Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", a.URL())
			resp, err := browsers[i].http.Do(req)
			if err != nil {
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()
	count := map[int]int{}
	for _, st := range statuses {
		count[st]++
	}
	if count[http.StatusUnauthorized] > 5 || count[http.StatusUnauthorized]+count[http.StatusTooManyRequests] != n {
		t.Errorf("statuses %v: want at most 5 passwords checked (401), every other attempt refused (429)", count)
	}
	var trail struct {
		Entries []tocsin.AuditEntry `json:"entries"`
	}
	api(t, a, "GET", "/api/v1/audit?limit=1000", nil, &trail)
	failed := 0
	for _, e := range trail.Entries {
		if e.Action == tocsin.AuditLoginFailed && e.Actor == "victime" {
			failed++
		}
	}
	if failed != count[http.StatusUnauthorized] {
		t.Errorf("%d failed logins in the audit trail, %d answered 401", failed, count[http.StatusUnauthorized])
	}
	t.Logf("150 attempts at once: %v", count)
}

// Someone who can set the client-address header fails logins for the duty
// officer's name from ever new addresses: past ten failures, each attempt
// for that name waits a delay that doubles from one second — never a
// lock: once the delay has passed, the right password gets in.
func TestFailuresForANameFromManyAddressesSlowItDownWithoutLockingIt(t *testing.T) {
	t.Parallel()
	clock := twiliosim.NewManualClock(night)
	a := silentApp(t, app.Config{ClientIPHeader: "X-Real-IP", Clock: clock})
	mustCreateUser(t, a, "permanence", tocsin.RoleOfficer)
	login := func(from, password string) (int, string) {
		t.Helper()
		b := newBrowser(t, a)
		_, page := b.get("/connexion")
		req, _ := http.NewRequest("POST", a.URL()+"/connexion", strings.NewReader(url.Values{"csrf": {csrfOf(page)},
			"identifiant": {"permanence"}, "motdepasse": {password}, "suivant": {"/"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", a.URL())
		req.Header.Set("X-Real-IP", from)
		st, body, _ := b.do(req)
		return st, body
	}
	for i := range 10 {
		if st, _ := login(fmt.Sprintf("203.0.113.%d", i+1), "mauvais mot de passe"); st != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d, want 401", i+1, st)
		}
	}
	if st, body := login("203.0.113.99", consolePassword); st != http.StatusTooManyRequests || !strings.Contains(body, "réessayez dans 1 s") {
		t.Errorf("right password right after ten failures from ten addresses: status %d, want 429 asking to wait 1 s", st)
	}
	clock.Advance(2 * time.Second)
	if st, _ := login("203.0.113.99", consolePassword); st != http.StatusSeeOther {
		t.Errorf("right password once the delay passed: status %d, want logged in", st)
	}
}
