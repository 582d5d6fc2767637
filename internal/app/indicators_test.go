package app_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// get fetches path as the administrator and returns the status and body.
func get(t *testing.T, base, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type indicatorReport struct {
	Months []struct {
		Month string `json:"month"`
		Real  struct {
			Activations       int      `json:"activations"`
			Never             bool     `json:"never_informed"`
			WorstDelaySeconds *float64 `json:"worst_delay_seconds"`
		} `json:"real"`
		Exercise struct {
			Activations       int      `json:"activations"`
			WithinTarget      int      `json:"within_target"`
			WorstDelaySeconds *float64 `json:"worst_delay_seconds"`
		} `json:"exercise"`
		ExercisesYTD int `json:"exercises_ytd"`
	} `json:"months"`
}

type auditEntries struct {
	Entries []tocsin.AuditEntry `json:"entries"`
}

// countAudit counts the entries of the audit trail (of one activation,
// or all when activation is empty) with action, by actor when given.
func countAudit(tb testing.TB, a *app.App, activation, action string, actor ...string) int {
	tb.Helper()
	path := "/api/v1/audit"
	if activation != "" {
		path += "?activation=" + activation
	}
	var trail auditEntries
	if st := api(tb, a, "GET", path, nil, &trail); st != http.StatusOK {
		tb.Fatalf("audit trail: status %d", st)
	}
	n := 0
	for _, e := range trail.Entries {
		if e.Action == action && (len(actor) == 0 || e.Actor == actor[0]) {
			n++
		}
	}
	return n
}

// An exercise where the duty officer confirms the mayor by hand after 20
// minutes, then a real activation where the mayor is never informed: the
// indicators count them apart, and the audit trail has every step.
func TestIndicatorsAndAuditTrailOfAnExerciseAndARealActivation(t *testing.T) {
	t.Parallel()
	m := fictionMobile(1)
	e := startEscalation(t, []tocsin.Official{mayorOf("dieppe", mobile(m))}, map[string]twiliosim.Persona{m: {Behaviour: twiliosim.Silent}})
	e.clock.Advance(20 * time.Minute)
	if st := api(t, e.app, "POST", "/api/v1/activations/"+e.id+"/recipients/dieppe/confirm", map[string]string{"how": "téléphone"}, nil); st != http.StatusOK {
		t.Fatalf("confirm: status %d", st)
	}
	api(t, e.app, "POST", "/api/v1/activations/"+e.id+"/close", nil, nil)

	var real view
	if st := api(t, e.app, "POST", "/api/v1/activations", map[string]any{"playbook": "test-tous"}, &real); st != http.StatusCreated {
		t.Fatalf("create: status %d", st)
	}
	e.clock.Advance(70 * time.Minute)
	api(t, e.app, "POST", "/api/v1/activations/"+real.ID+"/close", nil, nil)

	var rep indicatorReport
	if st := api(t, e.app, "GET", "/api/v1/indicators?from=2026-11&to=2026-12", nil, &rep); st != http.StatusOK {
		t.Fatalf("indicators: status %d", st)
	}
	nov, dec := rep.Months[0], rep.Months[1]
	if nov.Real.Activations != 1 || !nov.Real.Never {
		t.Errorf("November real: %+v; want one activation, someone never informed", nov.Real)
	}
	if nov.Exercise.Activations != 1 || nov.Exercise.WithinTarget != 1 || *nov.Exercise.WorstDelaySeconds != 1200 {
		t.Errorf("November exercise: %+v; want one, within target, 20 min", nov.Exercise)
	}
	if dec.Real.Activations != 0 || dec.ExercisesYTD != 1 {
		t.Errorf("December: %+v", dec)
	}
	st, csv := get(t, e.app.URL(), "/api/v1/indicators?from=2026-11&to=2026-12&format=csv")
	if st != http.StatusOK || !strings.HasPrefix(csv, "Indicateurs,Cible,Résultats novembre 2026,Résultats décembre 2026\n") ||
		!strings.Contains(csv, "Sans objet") {
		t.Errorf("CSV: status %d\n%s", st, csv)
	}
	st, html := get(t, e.app.URL(), "/api/v1/indicators?from=2026-11&format=html")
	if st != http.StatusOK || !strings.Contains(html, "<th scope=\"col\">Résultats novembre 2026</th>") {
		t.Errorf("HTML: status %d\n%s", st, html)
	}
	if st := api(t, e.app, "GET", "/api/v1/indicators?from=2026-13", nil, nil); st != http.StatusBadRequest {
		t.Errorf("bad month: status %d, want 400", st)
	}

	var all auditEntries
	api(t, e.app, "GET", "/api/v1/audit", nil, &all)
	var actions []string
	for _, en := range all.Entries {
		actions = append(actions, en.Action)
	}
	want := []string{tocsin.AuditActivationCreated, tocsin.AuditConfirmed, tocsin.AuditActivationClosed,
		tocsin.AuditActivationCreated, tocsin.AuditActivationClosed, tocsin.AuditExport, tocsin.AuditExport}
	if strings.Join(actions, " ") != strings.Join(want, " ") {
		t.Errorf("audit actions %v, want %v", actions, want)
	}
	var only auditEntries
	api(t, e.app, "GET", "/api/v1/audit?activation="+real.ID, nil, &only)
	if len(only.Entries) != 2 {
		t.Errorf("entries of %s: %+v, want created and closed", real.ID, only.Entries)
	}
	st, body := get(t, e.app.URL(), "/api/v1/audit?format=csv")
	if st != http.StatusOK || !strings.HasPrefix(body, "n°,horodatage (UTC)") || strings.Count(body, "\n") != len(want)+1 {
		t.Errorf("audit CSV: status %d\n%s", st, body)
	}
	var res struct {
		OK      bool `json:"ok"`
		Entries int  `json:"entries"`
	}
	if st := api(t, e.app, "GET", "/api/v1/audit/verify", nil, &res); st != http.StatusOK || !res.OK || res.Entries != len(want)+1 {
		t.Errorf("verify: status %d, %+v", st, res)
	}
	// An edit made behind Tocsin's back is found and named.
	cli := e.app.Store().Client()
	k := "/tocsin/audit/e/00000000000000000002"
	resp, err := cli.Get(t.Context(), k)
	if err != nil || len(resp.Kvs) == 0 {
		t.Fatalf("read entry 2: %v", err)
	}
	cli.Put(t.Context(), k, strings.Replace(string(resp.Kvs[0].Value), "téléphone", "en personne", 1))
	var broken struct {
		OK    bool `json:"ok"`
		Break struct {
			Seq    int    `json:"seq"`
			Reason string `json:"reason"`
		} `json:"break"`
	}
	api(t, e.app, "GET", "/api/v1/audit/verify", nil, &broken)
	if broken.OK || broken.Break.Seq != 2 {
		t.Errorf("verify after an edit: %+v; want entry 2 named", broken)
	}
}
