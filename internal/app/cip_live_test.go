package app_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// The duty officer keeps the CIP's page open while callers ring the
// public line: the callers waiting, then those Anne took, appear without
// a reload; the page passes axe.
func TestCIPPageIsLiveInChromium(t *testing.T) {
	t.Parallel()
	exe := chromium(t)
	anne := "+33639981001"
	a, clock, id := startCIPWith(t, twiliosim.Profile{
		Numbers: map[string]twiliosim.Persona{anne: {Behaviour: twiliosim.Silent, Call: twiliosim.Answer, AnswerAfter: twiliosim.Fixed(5 * time.Second)}},
		Talk:    twiliosim.Fixed(30 * time.Second),
	})
	api(t, a, "POST", "/api/v1/activations/"+id+"/cip/open", nil, nil)
	mark(t, a, id, "cip-01", tocsin.OperatorInPosition)
	mustCreateUser(t, a, "permanence", tocsin.RoleOfficer)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-dev-shm-usage", true))
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	// On a loaded machine Chromium sometimes exits as it starts: it is
	// given three tries, each a browser of its own.
	var bctx context.Context
	for try := 1; ; try++ {
		actx, acancel := chromedp.NewExecAllocator(ctx, append(opts, chromedp.UserDataDir(t.TempDir()))...)
		defer acancel()
		var bcancel context.CancelFunc
		bctx, bcancel = chromedp.NewContext(actx)
		defer bcancel()
		err := chromedp.Do(bctx)
		if err == nil {
			break
		}
		if try == 3 {
			t.Fatalf("start Chromium (%d tries): %v", try, err)
		}
		t.Logf("Chromium did not start (try %d): %v", try, err)
		bcancel()
		acancel()
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, scancel := context.WithTimeout(bctx, 20*time.Second)
		defer scancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			where, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText.slice(0, 1500)`))
			t.Fatalf("%s: %v\npage: %s", what, err, where)
		}
	}
	figure := func(label string) string {
		return `//dl[@id="cip-appels"]/div[dt="` + label + `"]/dd`
	}
	do("log in",
		chromedp.Navigate(a.URL()+"/connexion"),
		chromedp.WaitVisible(chromedp.CSS("#identifiant")),
		chromedp.SendKeys(chromedp.CSS("#identifiant"), "permanence"),
		chromedp.SendKeys(chromedp.CSS("#motdepasse"), consolePassword),
		chromedp.Submit(chromedp.CSS("#motdepasse")),
		chromedp.WaitVisible(`//h1[contains(., "Tableau de bord")]`),
	)
	do("open the CIP page",
		chromedp.Navigate(a.URL()+"/activations/"+id+"/cip"),
		chromedp.WaitVisible(`//*[@data-live-status][contains(., "en direct")]`),
		chromedp.WaitVisible(figure("Appels")+`[. = "0"]`),
	)
	before, _ := chromedp.Run(bctx, chromedp.Evaluate[float64](`performance.timeOrigin`))

	line := a.URL() + "/twilio/voice/public"
	for i := range 2 {
		if _, err := a.Simulator().Arrive(twiliosim.Caller{URL: line, From: fictionMobile(600 + i), To: publicNumber}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(15 * time.Second) // both in the queue, Anne rung
	do("the callers waiting show", chromedp.WaitVisible(figure("En attente")+`[. = "2"]`))
	for range 12 {
		clock.Advance(10 * time.Second)
	}
	do("the callers Anne took show",
		chromedp.WaitVisible(figure("Pris par un opérateur")+`[. = "2"]`),
		chromedp.WaitVisible(figure("En attente")+`[. = "0"]`),
	)
	after, _ := chromedp.Run(bctx, chromedp.Evaluate[float64](`performance.timeOrigin`))
	if before != after {
		t.Errorf("the page was reloaded; it should have changed in place")
	}

	axeSource, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`(() => { `+string(axeSource)+`; return true; })()`)); err != nil {
		t.Fatalf("axe: inject: %v", err)
	}
	serious, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`axe.run(document).then((r) => r.violations
		.filter((v) => v.impact === "serious" || v.impact === "critical")
		.map((v) => v.id + " : " + v.help + " — " + v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe: %v", err)
	}
	if len(serious) > 0 {
		t.Errorf("axe on the CIP page:\n%s", strings.Join(serious, "\n"))
	}
}
