package app_test

import (
	"fmt"
	stdhtml "html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/indicator"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// The auditor's pages: indicators with their exports, the audit trail
// with its filters, verification and exports, the exercise log.
func TestConsoleIndicatorsAuditTrailAndExercisePages(t *testing.T) {
	t.Parallel()
	a := silentApp(t, app.Config{})
	id := mustActivate(t, a)
	b := loginAs(t, a, "auditrice", tocsin.RoleAuditor)
	page := func(path string, want int) string {
		t.Helper()
		st, body := b.get(path)
		if st != want {
			t.Fatalf("GET %s: status %d, want %d\n%s", path, st, want, body)
		}
		return stdhtml.UnescapeString(body)
	}
	has := func(path, body string, wants ...string) {
		t.Helper()
		for _, w := range wants {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s lacks %q", path, w)
			}
		}
	}

	p := "/indicateurs?from=2026-01&to=2026-02"
	has(p, page(p, 200), "Résultats janvier 2026", "Résultats février 2026", "Sans objet",
		"/indicateurs/export?from=2026-01&to=2026-02&format=csv")
	page("/indicateurs?from=2026-13", http.StatusBadRequest)
	p = "/indicateurs/export?from=2026-01&to=2026-01&format=csv"
	if csv := page(p, 200); !strings.HasPrefix(csv, "Indicateurs,Cible,Résultats janvier 2026\n") {
		t.Errorf("CSV export:\n%s", csv)
	}
	p = "/indicateurs/export?from=2026-01&to=2026-01&format=json"
	has(p, page(p, 200), `"from"`, `"months"`)
	p = "/indicateurs/export?from=2026-01&to=2026-01&format=html"
	has(p, page(p, 200), `<th scope="col">Résultats janvier 2026</th>`)
	page("/indicateurs/export?format=pdf", http.StatusBadRequest)
	has("/indicateurs", page("/indicateurs?from=2026-01&to=2026-02", 200), "/indicateurs/historique?from=2026-01&to=2026-02")
	page("/indicateurs/historique?from=hier", http.StatusBadRequest)

	p = "/journal?activation=" + id
	has(p, page(p, 200), "Vérifier la chaîne : intègre", "activation lancée", `href="/activations/`+id+`"`,
		"/journal/export?activation="+id+"&from=&to=&format=csv")
	p = "/journal?from=2999-01-01"
	has(p, page(p, 200), "0 entrée(s)", "Aucune entrée pour ces filtres")
	page("/journal?from=hier", http.StatusBadRequest)
	// The activation's entries: its creation, and the deliveries once the
	// leader has recorded them, which may be before or after the export.
	p = "/journal/export?activation=" + id + "&format=csv"
	csv := page(p, 200)
	exported := strings.Count(csv, "\n") - 1
	if !strings.HasPrefix(csv, "n°,horodatage (UTC)") || exported < 1 || !strings.Contains(csv, tocsin.AuditActivationCreated) {
		t.Errorf("audit CSV export:\n%s", csv)
	}
	p = "/journal/export?format=json"
	has(p, page(p, 200), `"entries"`, `"hash"`)
	// Exports are themselves recorded, under the auditor's name, with the
	// number of entries they hold.
	p = "/journal"
	has(p, page(p, 200), fmt.Sprintf("export du journal d'audit (csv, %d entrées)", exported), "export des indicateurs 2026-01 à 2026-01 (html)", "auditrice")

	// An edit made behind Tocsin's back is named on the page.
	cli := a.Store().Client()
	k := "/tocsin/audit/e/00000000000000000001"
	resp, err := cli.Get(t.Context(), k)
	if err != nil || len(resp.Kvs) == 0 {
		t.Fatalf("read entry 1: %v", err)
	}
	cli.Put(t.Context(), k, strings.Replace(string(resp.Kvs[0].Value), "Alerte de test", "Alerte modifiée", 1))
	// The page shows this replica's verification of the last minute, and
	// says when it ran; « Vérifier maintenant » verifies again.
	has(p, page(p, 200), "Vérifier la chaîne : intègre", "Vérification de la chaîne faite à", `href="/journal?verifier=1"`)
	p = "/journal?verifier=1"
	has(p, page(p, 200), "Vérifier la chaîne : rompue à l'entrée n° 1")

	// The exercise log: the next runs, past ones with their activation,
	// the missed ones.
	jan := time.Date(2026, 1, 10, 10, 0, 0, 0, tocsin.Paris()).UTC()
	apr := time.Date(2026, 4, 10, 10, 0, 0, 0, tocsin.Paris()).UTC()
	for _, run := range []tocsin.ExerciseRun{{Due: jan, Status: tocsin.RunLaunched, Activation: id}, {Due: apr, Status: tocsin.RunMissed}} {
		if _, err := a.Store().ClaimExerciseRun(t.Context(), run); err != nil {
			t.Fatal(err)
		}
	}
	p = "/exercices"
	has(p, page(p, 200), "Prochains exercices", "à 10:00 (heure de Paris)", "10/01/2026 à 10:00", `href="/activations/`+id+`"`,
		"lancé", "manqué", "Exercice(s) manqué(s) : 10/04/2026 à 10:00.")

	// The activation is still open: the history export leaves it out, the
	// page says so and links to the export that writes it.
	// The missed April run is written as a scheduled exercise not held.
	notHeld := `{"id":"non-tenu-20260410-0800","kind":"exercise_not_held","title":"Exercice programmé du 10/04/2026 à 10:00 (heure de Paris)",` +
		`"exercise_due":"2026-04-10T08:00:00Z","note":"manqué : aucun leader pour le lancer à temps","source":"tocsin"}` + "\n"
	p = "/indicateurs/historique?from=2000-01"
	if lines := page(p, 200); lines != notHeld {
		t.Errorf("history export with the activation open:\n%s\nwant\n%s", lines, notHeld)
	}
	var v view
	api(t, a, "GET", "/api/v1/activations/"+id, nil, &v)
	month := indicator.MonthOf(v.ActivatedAt).String()
	p = "/indicateurs?from=" + month + "&to=" + month
	has(p, page(p, 200), "1 activation(s) en cours ne figurent pas dans l'export de l'historique", `href="/activations/`+id+`"`,
		"/indicateurs/historique?from="+month+"&to="+month+"&include_open=true")
	p = "/indicateurs/historique?from=2000-01&include_open=true"
	if lines := page(p, 200); strings.Count(lines, "\n") != 2 || !strings.HasPrefix(lines, notHeld) || !strings.Contains(lines, `"id":"`+id+`"`) ||
		!strings.Contains(lines, `"source":"tocsin"`) || strings.Contains(lines, "closed_at") {
		t.Errorf("history export: %s", lines)
	}
}

// The RETEX: entered once the exercise is closed, by a duty officer, shown
// on the activation and exercise pages, audited; refused on a real
// activation and to an auditor.
func TestRetexOfAClosedExercise(t *testing.T) {
	t.Parallel()
	a := silentApp(t, app.Config{})
	id := mustActivate(t, a)
	officer := loginAs(t, a, "officier", tocsin.RoleOfficer)
	auditor := loginAs(t, a, "auditrice", tocsin.RoleAuditor)
	path := "/activations/" + id + "/retex"
	text := "Les maires de la côte ont répondu vite.\nÀ améliorer : les numéros fixes."
	if st, _, _ := officer.postCSRF(path, url.Values{"retex": {text}}); st != http.StatusConflict {
		t.Errorf("RETEX on an open exercise: status %d, want 409", st)
	}
	if st := api(t, a, "POST", "/api/v1/activations/"+id+"/close", nil, nil); st != http.StatusOK {
		t.Fatalf("close: status %d", st)
	}
	if st, _, _ := officer.postCSRF(path, url.Values{"retex": {"  "}}); st != http.StatusBadRequest {
		t.Errorf("empty RETEX: status %d, want 400", st)
	}
	if st, _, _ := auditor.postCSRF(path, url.Values{"retex": {text}}); st != http.StatusForbidden {
		t.Errorf("auditor's RETEX: status %d, want 403", st)
	}
	st, _, loc := officer.postCSRF(path, url.Values{"retex": {text}})
	if st != http.StatusSeeOther || loc != "/activations/"+id+"?info=retex" {
		t.Fatalf("RETEX: status %d to %q", st, loc)
	}
	_, body := officer.get(loc)
	if html := stdhtml.UnescapeString(body); !strings.Contains(html, "RETEX enregistré.") || !strings.Contains(html, text) ||
		!strings.Contains(html, "Saisi par officier") || !strings.Contains(html, `action="/activations/`+id+`/retex"`) {
		t.Errorf("the activation page lacks the RETEX or its form")
	}
	_, body = auditor.get("/activations/" + id)
	if html := stdhtml.UnescapeString(body); !strings.Contains(html, text) || strings.Contains(html, `action="/activations/`+id+`/retex"`) {
		t.Errorf("the auditor's activation page: want the RETEX, no form")
	}

	// Through the API, a second RETEX replaces the first.
	if st := api(t, a, "POST", "/api/v1/activations/"+id+"/retex", map[string]string{"text": "Version revue en réunion."}, nil); st != http.StatusOK {
		t.Errorf("API RETEX: status %d", st)
	}
	_, body = auditor.get("/exercices")
	if html := stdhtml.UnescapeString(body); !strings.Contains(html, "Exercices réalisés") || !strings.Contains(html, "Version revue en réunion.") ||
		!strings.Contains(html, `href="/activations/`+id+`"`) {
		t.Errorf("the exercises page lacks the exercise and its RETEX")
	}
	var entries auditEntries
	api(t, a, "GET", "/api/v1/audit?activation="+id, nil, &entries)
	var retex []string
	for _, e := range entries.Entries {
		if e.Action == tocsin.AuditRetex {
			retex = append(retex, e.Detail)
		}
	}
	if len(retex) != 2 || !strings.HasPrefix(retex[0], "RETEX saisi : Les maires") || retex[1] != "RETEX remplacé : Version revue en réunion." {
		t.Errorf("audited RETEX %q", retex)
	}

	// Not on a real activation.
	var real view
	if st := api(t, a, "POST", "/api/v1/activations", map[string]any{"playbook": "test-tous"}, &real); st != http.StatusCreated {
		t.Fatalf("create: status %d", st)
	}
	api(t, a, "POST", "/api/v1/activations/"+real.ID+"/close", nil, nil)
	if st := api(t, a, "POST", "/api/v1/activations/"+real.ID+"/retex", map[string]string{"text": "non"}, nil); st != http.StatusConflict {
		t.Errorf("RETEX on a real activation: status %d, want 409", st)
	}
}
