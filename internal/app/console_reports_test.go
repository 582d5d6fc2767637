package app_test

import (
	stdhtml "html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// The auditor's pages: indicators with their exports, the audit trail
// with its filters, verification and exports, the exercise log.
func TestConsoleIndicatorsAuditTrailAndExercisePages(t *testing.T) {
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
	p = "/indicateurs/historique?from=2000-01"
	if lines := page(p, 200); strings.Count(lines, "\n") != 1 || !strings.Contains(lines, `"id":"`+id+`"`) || !strings.Contains(lines, `"source":"tocsin"`) {
		t.Errorf("history export: %s", lines)
	}
	page("/indicateurs/historique?from=hier", http.StatusBadRequest)

	p = "/journal?activation=" + id
	has(p, page(p, 200), "Vérifier la chaîne : intègre", "activation lancée", `href="/activations/`+id+`"`,
		"/journal/export?activation="+id+"&from=&to=&format=csv")
	p = "/journal?from=2999-01-01"
	has(p, page(p, 200), "0 entrée(s)", "Aucune entrée pour ces filtres")
	page("/journal?from=hier", http.StatusBadRequest)
	p = "/journal/export?activation=" + id + "&format=csv"
	if csv := page(p, 200); !strings.HasPrefix(csv, "n°,horodatage (UTC)") || strings.Count(csv, "\n") != 2 {
		t.Errorf("audit CSV export:\n%s", csv)
	}
	p = "/journal/export?format=json"
	has(p, page(p, 200), `"entries"`, `"hash"`)
	// Exports are themselves recorded, under the auditor's name.
	p = "/journal"
	has(p, page(p, 200), "export du journal d'audit (csv, 1 entrées)", "export des indicateurs 2026-01 à 2026-01 (html)", "auditrice")

	// An edit made behind Tocsin's back is named on the page.
	cli := a.Store().Client()
	k := "/tocsin/audit/e/00000000000000000001"
	resp, err := cli.Get(t.Context(), k)
	if err != nil || len(resp.Kvs) == 0 {
		t.Fatalf("read entry 1: %v", err)
	}
	cli.Put(t.Context(), k, strings.Replace(string(resp.Kvs[0].Value), "Alerte de test", "Alerte modifiée", 1))
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
}

// The RETEX: entered once the exercise is closed, by a duty officer, shown
// on the activation and exercise pages, audited; refused on a real
// activation and to an auditor.
func TestRetexOfAClosedExercise(t *testing.T) {
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
