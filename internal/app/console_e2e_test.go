package app_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
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

// The duty officer logs in, launches an exercise for four mayors, watches
// three of them acknowledge live without reloading, and confirms by hand
// the one who never answers; then logs out, and back in through the
// identity provider (ProConnect).
func TestConsoleEndToEndInChromium(t *testing.T) {
	exe := chromium(t)
	profile := twiliosim.Profile{
		Numbers:  map[string]twiliosim.Persona{},
		Delivery: twiliosim.Range{Min: 50 * time.Millisecond, Max: 200 * time.Millisecond},
	}
	var officials []tocsin.Official
	names := []string{"Anne Martin", "Paul Durand", "Lucie Bernard", "Marc Petit"}
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
		} else {
			profile.Numbers[n] = twiliosim.Persona{Behaviour: twiliosim.Silent}
		}
	}
	provider, sso := mustRunProvider(t)
	a := mustRunApp(t, app.Config{SimulatorProfile: &profile, SSO: sso})
	if err := a.Store().ReplaceOfficials(t.Context(), officials); err != nil {
		t.Fatal(err)
	}
	mustCreateUser(t, a, "permanence", tocsin.RoleOfficer)
	shots := t.TempDir()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Second)
	defer cancel()
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, scancel := context.WithTimeout(bctx, 15*time.Second)
		defer scancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			// Say where the browser was: a screenshot and the page's text.
			sctx, scancel := context.WithTimeout(bctx, 5*time.Second)
			defer scancel()
			if png, serr := chromedp.Run(sctx, chromedp.FullScreenshot(100)); serr == nil {
				os.WriteFile(filepath.Join(shots, "echec.png"), png, 0o644)
			}
			where, _ := chromedp.Run(sctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText.slice(0, 2000)`))
			t.Fatalf("%s: %v\npage: %s\nscreenshot: %s", what, err, where, filepath.Join(shots, "echec.png"))
		}
	}
	eval := func(what, js string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name), png, 0o644); err != nil {
			t.Fatal(err)
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
	messages := chromedp.Console(bctx)
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

	live := chromedp.WaitVisible(`//*[@data-live-status][contains(., "en direct")]`)
	do("log in",
		chromedp.Navigate(a.URL()+"/connexion"),
		chromedp.WaitVisible(chromedp.CSS("#identifiant")),
	)
	shot("1-connexion.png")
	do("log in",
		chromedp.SendKeys(chromedp.CSS("#identifiant"), "permanence"),
		chromedp.SendKeys(chromedp.CSS("#motdepasse"), consolePassword),
		chromedp.Submit(chromedp.CSS("#motdepasse")),
		chromedp.WaitVisible(`//h1[contains(., "Tableau de bord")]`),
		live,
	)
	shot("2-tableau-de-bord.png")

	do("preview an exercise",
		chromedp.Click(`//a[contains(@class, "fr-nav__link")][contains(., "Nouvelle activation")]`),
		chromedp.WaitVisible(chromedp.CSS(`label[for="scenario-test-tous"]`)),
		chromedp.Click(chromedp.CSS(`label[for="scenario-test-tous"]`)),
		chromedp.Click(chromedp.CSS(`label[for="mode-exercice"]`)),
		chromedp.Click(`//button[contains(., "Vérifier avant l'envoi")]`),
		chromedp.WaitVisible(chromedp.CSS("#message")),
	)
	shot("3-apercu.png")
	if message := eval("read the message", `document.querySelector("#message").textContent`); !strings.HasPrefix(message, "EXERCICE") {
		t.Errorf("previewed message %q; want it to start with EXERCICE", message)
	}

	do("launch it",
		chromedp.Click(chromedp.CSS("#lancer")),
		chromedp.WaitVisible(chromedp.CSS("#table-elus")),
		live,
	)
	// A page that reloads loses this mark: the changes below must come
	// through the websocket.
	eval("mark the page", `window.tocsinMark = "42"; window.tocsinMark`)
	shot("4-activation-lancee.png")

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
	if st := eval("silent mayor", `document.querySelector("#elu-maire-4").dataset.status`); st == "informed" {
		t.Errorf("the silent mayor is shown %q; want not informed", st)
	}

	do("confirm the silent mayor by hand",
		chromedp.Click(chromedp.CSS(`#elu-maire-4 summary`)),
		chromedp.WaitVisible(chromedp.CSS(`#moyen-maire-4`)),
		chromedp.SendKeys(chromedp.CSS(`#moyen-maire-4`), "téléphone"),
		chromedp.SendKeys(chromedp.CSS(`#note-maire-4`), "joint sur son portable personnel"),
	)
	shot("6-confirmation.png")
	do("confirm the silent mayor by hand",
		chromedp.Click(chromedp.CSS(`#elu-maire-4 form button[type="submit"]`)),
		chromedp.WaitVisible(`//div[contains(@class, "fr-alert--success")][contains(., "Confirmation enregistrée")]`),
	)
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`document.querySelector('[data-counter="informed"]').textContent === "4"`,
		chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Errorf("informed counter after the confirmation: %v; want 4", err)
	}
	shot("7-tous-informes.png")
	if st := eval("confirmed mayor", `document.querySelector("#elu-maire-4").dataset.status`); st != "informed" {
		t.Errorf("after the confirmation the mayor is %q; want informed", st)
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
	if !v.Exercise || v.Summary.Informed != 4 {
		t.Errorf("activation: exercise %v, %d informed; want an exercise with 4 informed", v.Exercise, v.Summary.Informed)
	}
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
