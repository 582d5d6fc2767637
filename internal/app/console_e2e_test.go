package app_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// chromium finds Debian's Chromium. Its absence fails the test: CI
// installs it (.ci/run), and a skipped end-to-end test would hide a broken
// console.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("Chromium introuvable : le test de bout en bout de la console en a besoin (apt-get install chromium ; .ci/run l'installe)")
	return ""
}

// callingPlaybook puts the officials not informed on the « à appeler »
// list soon enough for the test, and late enough that the pages are open
// when they join it.
const callingPlaybook = `id: test-appel
title: Alerte de test
audience: {everyone: true}
message: "Alerte de test pour {{.Commune}}."
ladder:
  - {after: 0, channel: sms, targets: [mobile]}
  - {after: 15s, channel: manual}
`

// allToCallPlaybook puts every official on the « à appeler » list at
// once, sending nothing.
const allToCallPlaybook = `id: tous
title: Appel de tous
audience: {everyone: true}
message: "Alerte de test pour {{.Commune}}."
ladder:
  - {after: 0, channel: manual}
`

// The duty officer logs in, launches an exercise for five mayors, watches
// three of them acknowledge live without reloading, and confirms by hand
// one who asks a question instead (it arrives live in the page's inbox).
// The last one joins the « à appeler » list while the filtered view and
// the calling view (on a phone) are open: both show
// her at once. Another officer takes her, lets her go; the duty officer
// takes her on the phone, and the other is refused; the voicemail answers,
// then she is reached and confirmed. Then the officer logs out, and back
// in through the identity provider (ProConnect). On an activation of 450
// officials, the pages show a page at a time.
func TestConsoleEndToEndInChromium(t *testing.T) {
	t.Parallel()
	exe := chromium(t)
	profile := twiliosim.Profile{
		Numbers:  map[string]twiliosim.Persona{},
		Delivery: twiliosim.Range{Min: 50 * time.Millisecond, Max: 200 * time.Millisecond},
	}
	var officials []tocsin.Official
	names := []string{"Anne Martin", "Paul Durand", "Lucie Bernard", "Marc Petit", "Jeanne Leroy"}
	for i, name := range names {
		n := fictionMobile(100 + i)
		officials = append(officials, tocsin.Official{
			ID: fmt.Sprintf("maire-%d", i+1), Name: name, Role: "maire",
			Commune: "76217", CommuneName: "Dieppe", Arrondissement: "Dieppe",
			Numbers: []tocsin.Number{{E164: n, Kind: tocsin.Mobile}},
		})
		if i < 3 {
			// Late enough that the page is open and live when they answer.
			profile.Numbers[n] = twiliosim.Persona{Behaviour: twiliosim.Reply,
				Delay: twiliosim.Range{Min: 2500 * time.Millisecond, Max: 4 * time.Second}}
		} else if i == 3 {
			// Asks a question instead of acknowledging: not informed, the
			// question arrives in the page's inbox.
			profile.Numbers[n] = twiliosim.Persona{Behaviour: twiliosim.Reply, Reply: "Faut-il évacuer l'école ?",
				Delay: twiliosim.Range{Min: 2500 * time.Millisecond, Max: 4 * time.Second}}
		} else {
			profile.Numbers[n] = twiliosim.Persona{Behaviour: twiliosim.Silent}
		}
	}
	officials[4].Numbers = append(officials[4].Numbers, tocsin.Number{E164: "+33261910105", Kind: tocsin.Landline})
	playbooks := t.TempDir()
	writeFile(t, filepath.Join(playbooks, "appel.yaml"), callingPlaybook)
	writeFile(t, filepath.Join(playbooks, "tous.yaml"), allToCallPlaybook)
	provider, sso := mustRunProvider(t)
	a := mustRunApp(t, app.Config{SimulatorProfile: &profile, PlaybooksDir: playbooks, SSO: sso})
	if err := a.Store().ReplaceOfficials(t.Context(), officials); err != nil {
		t.Fatal(err)
	}
	mustCreateUser(t, a, "permanence", tocsin.RoleOfficer)
	shots := t.TempDir()
	if dir := os.Getenv("TOCSIN_E2E_SHOTS"); dir != "" {
		shots = dir // to look at the pages the test went through
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	doIn := func(tab context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, scancel := context.WithTimeout(tab, 25*time.Second)
		defer scancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			// Say where the browser was: a screenshot and the page's text.
			sctx, scancel := context.WithTimeout(tab, 5*time.Second)
			defer scancel()
			if png, serr := chromedp.Run(sctx, chromedp.FullScreenshot(100)); serr == nil {
				os.WriteFile(filepath.Join(shots, "echec.png"), png, 0o644)
			}
			where, _ := chromedp.Run(sctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText.slice(0, 2000)`))
			t.Fatalf("%s: %v\npage: %s\nscreenshot: %s", what, err, where, filepath.Join(shots, "echec.png"))
		}
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		doIn(bctx, what, steps...)
	}
	evalIn := func(tab context.Context, what, js string) string {
		t.Helper()
		v, err := chromedp.Run(tab, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
	eval := func(what, js string) string {
		t.Helper()
		return evalIn(bctx, what, js)
	}
	shotIn := func(tab context.Context, name string) {
		t.Helper()
		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	shot := func(name string) {
		t.Helper()
		shotIn(bctx, name)
	}
	// waitTrue polls a condition in a tab, failing with what was expected.
	waitTrue := func(tab context.Context, what, js string) {
		t.Helper()
		if _, err := chromedp.Run(tab, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(25*time.Second))); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	// axe-core runs on every page the test visits: a serious or critical
	// accessibility violation fails it.
	axeSource, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	axeCheck := func(tab context.Context, where string) {
		t.Helper()
		if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](`typeof axe !== "undefined" || (() => { `+string(axeSource)+`; return true; })()`)); err != nil {
			t.Fatalf("axe on %s: inject: %v", where, err)
		}
		type axeResult struct {
			Passes  int      `json:"passes"`
			Serious []string `json:"serious"`
			Minor   []string `json:"minor"`
		}
		res, err := chromedp.Run(tab, chromedp.Evaluate[axeResult](`axe.run(document).then((r) => {
			const words = (v) => v.id + " (" + v.impact + ") : " + v.help + " — " + v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ");
			const serious = (v) => v.impact === "serious" || v.impact === "critical";
			return { passes: r.passes.length, serious: r.violations.filter(serious).map(words), minor: r.violations.filter((v) => !serious(v)).map(words) };
		})`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("axe on %s: %v", where, err)
		}
		t.Logf("axe on %s: %d rules pass", where, res.Passes)
		if res.Passes == 0 {
			t.Errorf("axe on %s checked nothing", where)
		}
		for _, v := range res.Serious {
			t.Errorf("axe on %s: %s", where, v)
		}
		for _, v := range res.Minor {
			t.Logf("axe on %s: %s", where, v)
		}
	}

	// Every console error and exception is kept: a CSP violation or a
	// script error fails the test.
	var mu sync.Mutex
	var problems []string
	// The browser starts with the first action: with no timeout of its own,
	// so that each step below can have one.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	watchConsole := func(tab context.Context) {
		messages := chromedp.Console(tab)
		go func() {
			for m, err := range messages {
				if err != nil {
					return
				}
				if m.Type == chromedp.ConsoleError || m.IsException() {
					mu.Lock()
					problems = append(problems, m.String())
					mu.Unlock()
				}
			}
		}()
	}
	watchConsole(bctx)

	live := chromedp.WaitVisible(`//*[@data-live-status][contains(., "en direct")]`)
	do("log in",
		chromedp.Navigate(a.URL()+"/connexion"),
		chromedp.WaitVisible(chromedp.CSS("#identifiant")),
	)
	shot("1-connexion.png")
	axeCheck(bctx, "the login page")
	do("log in",
		chromedp.SendKeys(chromedp.CSS("#identifiant"), "permanence"),
		chromedp.SendKeys(chromedp.CSS("#motdepasse"), consolePassword),
		chromedp.Submit(chromedp.CSS("#motdepasse")),
		chromedp.WaitVisible(`//h1[contains(., "Tableau de bord")]`),
		live,
	)
	shot("2-tableau-de-bord.png")
	axeCheck(bctx, "the dashboard")

	do("preview an exercise",
		chromedp.Click(`//a[contains(@class, "fr-nav__link")][contains(., "Nouvelle activation")]`),
		chromedp.WaitVisible(chromedp.CSS(`label[for="scenario-test-appel"]`)),
		chromedp.Click(chromedp.CSS(`label[for="scenario-test-appel"]`)),
		chromedp.Click(chromedp.CSS(`label[for="mode-exercice"]`)),
		chromedp.Click(`//button[contains(., "Vérifier avant l'envoi")]`),
		chromedp.WaitVisible(chromedp.CSS("#message")),
	)
	shot("3-apercu.png")
	axeCheck(bctx, "the preview")
	if message := eval("read the message", `document.querySelector("#message").textContent`); !strings.HasPrefix(message, "EXERCICE") {
		t.Errorf("previewed message %q; want it to start with EXERCICE", message)
	}

	launched := time.Now()
	do("launch it",
		chromedp.Click(chromedp.CSS("#lancer")),
		chromedp.WaitVisible(chromedp.CSS("#table-elus")),
		live,
	)
	// A page that reloads loses this mark: the changes below must come
	// through the websocket.
	eval("mark the page", `window.tocsinMark = "42"; window.tocsinMark`)
	shot("4-activation-lancee.png")

	activationURL := eval("the activation's address", `location.origin + location.pathname`)

	// Long before the last mayor joins the list (T+15 s): the « À appeler »
	// view in a second tab, and the calling view on a phone in a third.
	tab := func(what string) (context.Context, context.CancelFunc) {
		t.Helper()
		ctx, cancel := chromedp.NewContext(bctx)
		if err := chromedp.Do(ctx); err != nil {
			t.Fatalf("open a tab for %s: %v", what, err)
		}
		watchConsole(ctx)
		return ctx, cancel
	}
	filtered, filteredCancel := tab("the « À appeler » view")
	defer filteredCancel()
	doIn(filtered, "open the « À appeler » view",
		chromedp.Navigate(activationURL+"?filtre=a-appeler"),
		chromedp.WaitReady(chromedp.CSS("#table-elus")),
		live,
	)
	if got := evalIn(filtered, "before the list's time", `document.querySelector("#elu-maire-5").hidden + " " + document.querySelector('[data-filter-count="a-appeler"]').textContent`); got != "true 0" {
		t.Fatalf("the filtered view opened with maire-5 hidden and a count: %q; want \"true 0\" (opened after T+15 s?)", got)
	}
	phone, phoneCancel := tab("the calling view")
	defer phoneCancel()
	doIn(phone, "open the calling view on a phone",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Navigate(activationURL+"/appeler"),
		chromedp.WaitReady(chromedp.CSS("#cartes")),
		live,
	)
	if got := evalIn(phone, "before the list's time", `String(document.querySelector("#carte-maire-5").hidden)`); got != "true" {
		t.Fatalf("the calling view opened with maire-5's card shown: want it hidden until T+15 s")
	}
	// Any other page raises the alert too: the directory, in a fourth tab.
	elsewhere, elsewhereCancel := tab("the directory")
	defer elsewhereCancel()
	doIn(elsewhere, "open the directory", chromedp.Navigate(strings.TrimSuffix(activationURL, "/activations/"+path.Base(activationURL))+"/annuaire"),
		chromedp.WaitReady(chromedp.CSS("#tc-attention")))
	waitTrue(elsewhere, "the directory page following the activations' counters", `document.body.dataset.connected === "on"`)
	t.Logf("the views open %s after the launch", time.Since(launched).Round(100*time.Millisecond))

	deadline := time.Now().Add(20 * time.Second)
	for {
		n := eval("count informed rows", `String(document.querySelectorAll('#table-elus tr[data-status="informed"]').length)`)
		if n == "3" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20 s, %s officials shown informed; want 3 (the three who reply)", n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`document.querySelector('[data-counter="informed"]').textContent === "3"`,
		chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Errorf("informed counter: %v; want 3", err)
	}
	shot("5-trois-informes-en-direct.png")
	if mark := eval("read the mark", `String(window.tocsinMark)`); mark != "42" {
		t.Errorf("the page reloaded (mark %q): the table must change live", mark)
	}
	if st := eval("the mayor who asked", `document.querySelector("#elu-maire-4").dataset.status`); st == "informed" {
		t.Errorf("the mayor who asked a question is shown %q; want not informed", st)
	}
	waitTrue(bctx, "the question arrives live in the inbox, with a « Traitée » button",
		`(() => { const li = document.querySelector("#boite-reponses li"); return !!li && li.textContent.includes("Faut-il évacuer") && li.textContent.includes("question") && !!li.querySelector("form button") && Number(document.querySelector("[data-unhandled]").textContent) >= 1; })()`)
	if mark := eval("read the mark", `String(window.tocsinMark)`); mark != "42" {
		t.Errorf("the page reloaded (mark %q): the inbox must change live", mark)
	}

	do("confirm the silent mayor by hand",
		chromedp.Click(chromedp.CSS(`#elu-maire-4 .tc-confirm summary`)),
		chromedp.WaitVisible(chromedp.CSS(`#moyen-maire-4`)),
		chromedp.SendKeys(chromedp.CSS(`#moyen-maire-4`), "téléphone"),
		chromedp.SendKeys(chromedp.CSS(`#note-maire-4`), "joint sur son portable personnel"),
	)
	shot("6-confirmation.png")
	do("confirm the silent mayor by hand",
		chromedp.Click(chromedp.CSS(`#elu-maire-4 .tc-confirm form button[type="submit"]`)),
		chromedp.WaitVisible(`//div[contains(@class, "fr-alert--success")][contains(., "Confirmation enregistrée")]`),
	)
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`document.querySelector('[data-counter="informed"]').textContent === "4"`,
		chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Errorf("informed counter after the confirmation: %v; want 4", err)
	}
	shot("7-tous-informes.png")
	axeCheck(bctx, "the activation")
	if st := eval("confirmed mayor", `document.querySelector("#elu-maire-4").dataset.status`); st != "informed" {
		t.Errorf("after the confirmation the mayor is %q; want informed", st)
	}
	waitTrue(phone, "maire-5 arrives at the top of the calling view, highlighted",
		`(() => { const c = document.querySelector("#cartes > li:not([hidden])"); return !!c && c.id === "carte-maire-5" && c.classList.contains("tc-new"); })()`)
	shotIn(phone, "8-appeler-arrivee.png")
	axeCheck(phone, "the calling view on a phone")
	waitTrue(filtered, "maire-5 arrives in the « À appeler » view with the server's counts, the tab's title says so",
		`!document.querySelector("#elu-maire-5").hidden && document.querySelector('[data-filter-count="a-appeler"]').textContent === "1" && document.querySelector('[data-counter="manual"]').textContent === "1" && document.title.startsWith("(1 à appeler) ")`)
	waitTrue(elsewhere, "the directory page alerts: one more official to call, in its title and at the top",
		`document.title.startsWith("(1 à appeler) ") && document.querySelector("#tc-attention").textContent.includes("1 élu de plus à appeler à la main")`)
	axeCheck(elsewhere, "a page with an alert")

	// On the phone: nothing wider than the screen, numbers as large buttons.
	layout := evalIn(phone, "the calling view's layout", `(() => {
		const c = document.querySelector("#carte-maire-5");
		const small = [...c.querySelectorAll("a[href^='tel:']")].filter((b) => { const r = b.getBoundingClientRect(); return r.height < 44 || r.width < 44; }).length;
		return [document.documentElement.scrollWidth <= window.innerWidth, c.querySelectorAll("a[href^='tel:']").length, small, c.querySelector("h2").textContent].join(" ");
	})()`)
	if layout != "true 2 0 Jeanne Leroy" {
		t.Errorf("calling view on a phone: %q; want no horizontal scroll, 2 tel: buttons, none under 44 px, the name (\"true 2 0 Jeanne Leroy\")", layout)
	}

	// Another officer takes her: the phone shows it live, without « J'appelle ».
	paul := loginAs(t, a, "paul", tocsin.RoleOfficer)
	take := strings.TrimPrefix(activationURL, a.URL()) + "/appeler/maire-5/prendre"
	if st, _, _ := paul.postCSRF(take, nil); st != http.StatusSeeOther {
		t.Fatalf("paul takes maire-5: status %d", st)
	}
	waitTrue(phone, "paul's claim shown live",
		`(() => { const c = document.querySelector("#carte-maire-5"); const l = c.querySelector('[data-field="claim"]'); return !l.hidden && l.textContent.includes("Appelé·e par paul") && c.querySelector('[data-when="free"]').hidden; })()`)
	shotIn(phone, "9-appeler-pris-par-un-autre.png")
	if st, _, _ := paul.postCSRF(strings.Replace(take, "prendre", "liberer", 1), nil); st != http.StatusSeeOther {
		t.Fatalf("paul lets maire-5 go: status %d", st)
	}
	waitTrue(phone, "« J'appelle » back once paul let her go", `!document.querySelector('#carte-maire-5 [data-when="free"]').hidden`)
	doIn(phone, "take maire-5 on the phone",
		chromedp.Click(chromedp.CSS(`#carte-maire-5 [data-when="free"] button`)),
		chromedp.WaitVisible(`//*[@id="carte-maire-5"]//*[contains(., "Vous appelez depuis")]`),
	)
	if st, body, _ := paul.postCSRF(take, nil); st != http.StatusConflict || !strings.Contains(body, "déjà appelé·e par permanence") {
		t.Errorf("paul taking maire-5 while the duty officer calls her: status %d; want 409 naming permanence", st)
	}
	doIn(phone, "the voicemail answers",
		chromedp.Click(chromedp.CSS(`#carte-maire-5 [data-when="mine"] summary`)),
		chromedp.Click(chromedp.CSS(`label[for="issue-maire-5-voicemail"]`)),
		chromedp.Click(chromedp.CSS(`#carte-maire-5 [data-when="mine"] form[action$="/echec"] button[type="submit"]`)),
		chromedp.WaitVisible(`//div[contains(@class, "fr-alert--success")][contains(., "Appel sans succès enregistré")]`),
		chromedp.WaitVisible(`//*[@id="carte-maire-5"]//*[@data-field="history"]/li[1][contains(., "messagerie")]`),
	)
	shotIn(phone, "10-appeler-messagerie.png")
	doIn(phone, "she is reached: confirm",
		chromedp.Click(chromedp.CSS(`#carte-maire-5 details:has(form[action*="/confirmer/"]) summary`)),
		chromedp.Click(chromedp.CSS(`#carte-maire-5 form[action*="/confirmer/"] button[type="submit"]`)),
		chromedp.WaitVisible(`//div[contains(@class, "fr-alert--success")][contains(., "Confirmation enregistrée")]`),
		chromedp.WaitVisible(chromedp.CSS("[data-empty-calls]")),
	)
	waitTrue(filtered, "maire-5 leaves the « À appeler » view", `document.querySelector("#elu-maire-5").hidden`)
	axeCheck(filtered, "the « À appeler » view")
	// The search narrows the table, accents and case aside, within the filter.
	doIn(filtered, "search the officials",
		chromedp.Navigate(activationURL),
		chromedp.WaitReady(chromedp.CSS("#table-elus")),
		chromedp.SendKeys(chromedp.CSS("#recherche-elus"), "LÉROY"),
	)
	waitTrue(filtered, "only Jeanne Leroy left", `[...document.querySelectorAll("#table-elus tbody tr")].filter((tr) => !tr.hidden).map((tr) => tr.id).join(" ") === "elu-maire-5"`)
	doIn(filtered, "search for nobody", chromedp.SendKeys(chromedp.CSS("#recherche-elus"), "x"))
	waitTrue(filtered, "nobody matches, and the page says so", `!document.querySelector("[data-search-none]").hidden`)
	for _, page := range []string{"/activations", "/activations/nouvelle", "/annuaire", "/scenarios", "/exercices", "/indicateurs", "/journal", "/jetons"} {
		do("open "+page, chromedp.Navigate(a.URL()+page), chromedp.WaitReady(chromedp.CSS("#contenu")))
		axeCheck(bctx, page)
	}
	var v view
	api(t, a, "GET", "/api/v1/activations", nil, nil)
	var list struct {
		Activations []view `json:"activations"`
	}
	api(t, a, "GET", "/api/v1/activations", nil, &list)
	if len(list.Activations) != 1 {
		t.Fatalf("%d activations; want the one launched from the console", len(list.Activations))
	}
	api(t, a, "GET", "/api/v1/activations/"+list.Activations[0].ID, nil, &v)
	for _, r := range v.Recipients {
		if r.Official.ID == "maire-4" && (r.Confirmation == nil || r.Confirmation.By != "permanence" || r.Confirmation.How != "téléphone") {
			t.Errorf("maire-4's confirmation: %+v; want by permanence, by téléphone", r.Confirmation)
		}
	}
	if !v.Exercise || v.Summary.Informed != 5 {
		t.Errorf("activation: exercise %v, %d informed; want an exercise with 5 informed", v.Exercise, v.Summary.Informed)
	}
	// A large activation, every official to call at once: a page at a
	// time, the server's search, the rows on the page live, and a notice
	// when the list changes beyond the page.
	many := numberedMayors(450)
	many[321].Name, many[321].CommuneName = "Jeanne Leroy", "Étretat"
	if err := a.Store().ReplaceOfficials(t.Context(), many); err != nil {
		t.Fatal(err)
	}
	var large view
	if st := api(t, a, "POST", "/api/v1/activations", map[string]any{"playbook": "tous", "exercise": true}, &large); st != http.StatusCreated {
		t.Fatalf("create the large activation: status %d", st)
	}
	waitFor(t, a, large.ID, 30*time.Second, "every recipient written", func(v *view) bool { return len(v.Recipients) == len(many) })
	do("open the large activation",
		chromedp.Navigate(a.URL()+"/activations/"+large.ID),
		chromedp.WaitVisible(chromedp.CSS("[data-pager-summary]")),
		live,
	)
	if got := eval("the first page", `document.querySelectorAll("#table-elus tbody tr:not([hidden])").length + " " + document.querySelector("[data-pager-summary]").textContent.trim()`); got != "200 Élus 1 à 200 sur 450 de cette liste, les premiers à appeler en tête." {
		t.Errorf("the large activation's first page: %q", got)
	}
	axeCheck(bctx, "a page of a large activation")
	confirmOne := func(id string) {
		t.Helper()
		if st := api(t, a, "POST", "/api/v1/activations/"+large.ID+"/recipients/"+id+"/confirm", map[string]string{"how": "téléphone"}, nil); st != http.StatusOK {
			t.Fatalf("confirm %s: status %d", id, st)
		}
	}
	confirmOne("m005")
	waitTrue(bctx, "a row of the page changes live", `document.querySelector("#elu-m005").dataset.status === "informed" && document.querySelector("[data-paged-stale]").hidden`)
	confirmOne("m400")
	waitTrue(bctx, "a change beyond the page is announced", `!document.querySelector("[data-paged-stale]").hidden`)
	shot("11-grande-activation.png")
	do("search the large activation on the server",
		chromedp.SendKeys(chromedp.CSS("#recherche-elus"), "etretat"),
		chromedp.Submit(chromedp.CSS("#recherche-elus")),
		chromedp.WaitVisible(`//*[@data-pager-summary][contains(., "correspondant à « etretat »")]`),
	)
	if got := eval("the search", `[...document.querySelectorAll("#table-elus tbody tr")].map((tr) => tr.id).join(" ")`); got != "elu-m321" {
		t.Errorf("search « etretat »: rows %q; want elu-m321", got)
	}
	doIn(phone, "open the large calling view on the phone",
		chromedp.Navigate(a.URL()+"/activations/"+large.ID+"/appeler"),
		chromedp.WaitVisible(chromedp.CSS("[data-pager-summary]")),
		live,
	)
	if got := evalIn(phone, "the calling view's first page", `document.querySelectorAll("#cartes > li:not([hidden])").length + " " + (document.documentElement.scrollWidth <= window.innerWidth)`); got != "50 true" {
		t.Errorf("the large calling view on a phone: %q; want 50 cards, no horizontal scroll", got)
	}
	axeCheck(phone, "a page of a large calling view")

	provider.QueueUser(agent("cadre.permanence@seine-maritime.gouv.fr", "grp-cod"))
	eval("log out", `document.querySelector('form[action="/deconnexion"]').submit(); "ok"`)
	do("log out", chromedp.WaitVisible(chromedp.CSS("#connexion-sso")))
	// The button leads to the provider's page, which sends the browser
	// back signed in. The console's opener policy puts the provider's page
	// in another browsing context group: the wait reads the page by script,
	// which follows the browser there and back.
	eval("click the button", `document.querySelector("#connexion-sso").click(); "ok"`)
	var where string
	testingutil.Poll(t, 10*time.Second, 100*time.Millisecond, "the dashboard of the agent back from the identity provider", func() bool {
		sctx, scancel := context.WithTimeout(bctx, 2*time.Second)
		defer scancel()
		where, _ = chromedp.Run(sctx, chromedp.Evaluate[string](`location.pathname + " | " + (document.querySelector("h1")?.textContent ?? "") +
			" | " + (document.querySelector(".tc-whoami")?.textContent ?? "")`))
		return where == "/ | Tableau de bord | cadre.permanence@seine-maritime.gouv.fr (cadre de permanence)"
	})
	shot("8-connexion-proconnect.png")

	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("browser console: %s", p)
	}
	t.Logf("screenshots in %s", shots)
}
