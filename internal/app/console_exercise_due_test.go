package app_test

import (
	stdhtml "html"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// exercisePlaybook is the one playbook meant for exercises.
const exercisePlaybook = `id: exo
title: Exercice trimestriel
exercise: true
audience: {everyone: true}
message: "Exercice pour {{.Commune}}."
`

// A scheduled exercise left to the duty officer: the dashboard says it is
// due and links to the launch form, exercise playbook chosen, until an
// exercise is launched after its due time; the API says the same. An
// exercise launched before, or a real activation, does not answer it.
func TestDashboardAlertsWhileAScheduledExerciseWaitsForTheDutyOfficer(t *testing.T) {
	t.Parallel()
	clock := twiliosim.NewManualClock(parisAt(2026, 1, 10, 9, 50))
	cfg := app.Config{Clock: clock, PlaybooksDir: t.TempDir()}
	writeFile(t, filepath.Join(cfg.PlaybooksDir, "test.yaml"), testPlaybook)
	writeFile(t, filepath.Join(cfg.PlaybooksDir, "exo.yaml"), exercisePlaybook)
	a := mustRunApp(t, cfg)
	if err := a.Store().ReplaceOfficials(t.Context(), []tocsin.Official{mayorOf("dieppe", mobile(fictionMobile(60)))}); err != nil {
		t.Fatal(err)
	}
	officer := loginAs(t, a, "officier", tocsin.RoleOfficer)
	auditor := loginAs(t, a, "auditrice", tocsin.RoleAuditor)
	dashboard := func(b *browser) string {
		t.Helper()
		st, body := b.get("/")
		if st != http.StatusOK {
			t.Fatalf("dashboard: status %d", st)
		}
		return stdhtml.UnescapeString(body)
	}
	launch := func(exercise bool) {
		t.Helper()
		pb := "test-tous"
		if exercise {
			pb = "exo"
		}
		if st := api(t, a, "POST", "/api/v1/activations", map[string]any{"playbook": pb, "exercise": exercise}, nil); st != http.StatusCreated {
			t.Fatalf("launch %s: status %d", pb, st)
		}
	}
	const alert = "fr-alert--warning"

	launch(true) // at 09:50, before the exercise is due
	due := parisAt(2026, 1, 10, 10, 0).UTC()
	if _, err := a.Store().ClaimExerciseRun(t.Context(), tocsin.ExerciseRun{Due: due, Status: tocsin.RunNotified, By: "test"}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(40 * time.Minute)
	launch(false) // a real activation at 10:30

	html := dashboard(officer)
	link := `href="/activations/nouvelle?mode=exercice&scenario=exo"`
	if !strings.Contains(html, alert) || !strings.Contains(html, "Exercice à lancer") ||
		!strings.Contains(html, "programmé le 10/01/2026 à 10:00 (heure de Paris) n'a pas encore été lancé") || !strings.Contains(html, link) {
		t.Fatalf("the duty officer's dashboard lacks the alert with its link:\n%s", html)
	}
	if html := dashboard(auditor); !strings.Contains(html, "Exercice à lancer") || strings.Contains(html, link) {
		t.Errorf("the auditor's dashboard: want the alert, no launch link")
	}
	awaiting := func() bool {
		t.Helper()
		var cal struct {
			Past []struct {
				Due      time.Time
				Awaiting bool `json:"awaiting_launch"`
			}
		}
		if st := api(t, a, "GET", "/api/v1/exercises", nil, &cal); st != http.StatusOK || len(cal.Past) != 1 || !cal.Past[0].Due.Equal(due) {
			t.Fatalf("exercise calendar: status %d, %+v", st, cal)
		}
		return cal.Past[0].Awaiting
	}
	if !awaiting() {
		t.Errorf("the API does not say the exercise waits for the duty officer")
	}
	st, form := officer.get("/activations/nouvelle?mode=exercice&scenario=exo")
	if st != http.StatusOK || !strings.Contains(form, `value="exo" required checked`) || !strings.Contains(form, `value="exercice" checked`) {
		t.Errorf("the launch form does not preselect the exercise playbook in exercise mode (status %d)", st)
	}

	launch(true) // at 10:30, after the due time
	if html := dashboard(officer); strings.Contains(html, "Exercice à lancer") || strings.Contains(html, alert) {
		t.Errorf("the alert stays once the exercise was launched")
	}
	if awaiting() {
		t.Errorf("the API still says the exercise waits once it was launched")
	}
}
