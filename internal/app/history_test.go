package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/indicator"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
	"github.com/prefecture76/tocsin/internal/web"
)

// historyApp runs the app on a manual clock at now, over officials (by
// default the mayors of Dieppe and Rouen), for imports.
func historyApp(t *testing.T, now time.Time, officials ...tocsin.Official) *app.App {
	t.Helper()
	a := mustRunApp(t, app.Config{Clock: twiliosim.NewManualClock(now)})
	if len(officials) == 0 {
		officials = []tocsin.Official{mayorOf("dieppe", mobile(fictionMobile(401))), mayorOf("rouen", mobile(fictionMobile(402)))}
	}
	if err := a.Store().ReplaceOfficials(t.Context(), officials); err != nil {
		t.Fatal(err)
	}
	return a
}

// importResult is the answer of POST /api/v1/history.
type importResult struct {
	Imported       int      `json:"imported"`
	AlreadyPresent int      `json:"already_present"`
	ImportedIDs    []string `json:"imported_ids"`
	Error          struct {
		Code    string   `json:"code"`
		Details []string `json:"details"`
	} `json:"error"`
}

func importHistory(t *testing.T, a *app.App, token, file string) (int, importResult) {
	t.Helper()
	st, body := rawRequest(t, a, "POST", "/api/v1/history?file=registre.jsonl", token, "application/jsonl", file)
	var res importResult
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatalf("import answer %d %s: %v", st, body, err)
	}
	return st, res
}

func exportHistory(t *testing.T, a *app.App, query string) string {
	t.Helper()
	st, body := get(t, a.URL(), "/api/v1/history"+query)
	if st != http.StatusOK {
		t.Fatalf("export %s: status %d %s", query, st, body)
	}
	return body
}

// indicatorsOf reads the module 7 report and its table.
func indicatorsOf(t *testing.T, a *app.App, from, to string) (indicator.Report, string) {
	t.Helper()
	var rep indicator.Report
	if st := api(t, a, "GET", "/api/v1/indicators?from="+from+"&to="+to, nil, &rep); st != http.StatusOK {
		t.Fatalf("indicators: status %d", st)
	}
	_, csv := get(t, a.URL(), "/api/v1/indicators?from="+from+"&to="+to+"&format=csv")
	return rep, csv
}

// storeDump is every activation record, recipient and event, with its
// mod revision: what an import may change.
func storeDump(t *testing.T, a *app.App) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range []string{"act/", "rcpt/", "evt/", "open/", "num/", "audit/"} {
		resp, err := a.Store().Client().Get(t.Context(), "/tocsin/"+p, clientv3.WithPrefix())
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range resp.Kvs {
			if string(kv.Key) == "/tocsin/audit/mark" {
				continue // the leader's progress through recipients' changes, set when it starts
			}
			out[string(kv.Key)] = fmt.Sprintf("%d %s", kv.ModRevision, kv.Value)
		}
	}
	return out
}

// An exercise (SMS reply, a mayor confirmed by hand, the CIP) and a real
// activation where a mayor is never informed, run with the simulator; the
// mayor of Rouen then leaves the directory. Their export imports into an
// empty Tocsin with the same directory, which computes the same
// indicators and exports the same bytes.
func TestHistoryRoundTripGivesTheSameIndicatorsAndTheSameLines(t *testing.T) {
	t.Parallel()
	m1, m2 := fictionMobile(301), fictionMobile(302)
	e := startEscalation(t, []tocsin.Official{mayorOf("dieppe", mobile(m1)), mayorOf("rouen", mobile(m2))}, map[string]twiliosim.Persona{
		m1: {Behaviour: twiliosim.Reply, Delay: twiliosim.Fixed(30 * time.Second)},
		m2: {Behaviour: twiliosim.Silent, Call: twiliosim.NoAnswer},
	})
	e.informed("dieppe", 5*time.Minute)
	e.clock.Advance(20 * time.Minute)
	if st := api(t, e.app, "POST", "/api/v1/activations/"+e.id+"/recipients/rouen/confirm", map[string]string{"how": "téléphone"}, nil); st != http.StatusOK {
		t.Fatalf("confirm: status %d", st)
	}
	if st := api(t, e.app, "POST", "/api/v1/activations/"+e.id+"/cip", map[string]string{"note": "ouverte"}, nil); st != http.StatusOK {
		t.Fatalf("CIP: status %d", st)
	}
	api(t, e.app, "POST", "/api/v1/activations/"+e.id+"/close", nil, nil)
	var real view
	if st := api(t, e.app, "POST", "/api/v1/activations", map[string]any{"playbook": "test-tous"}, &real); st != http.StatusCreated {
		t.Fatalf("create: status %d", st)
	}
	e.until("dieppe informed of the real one", 3*time.Hour, func() bool {
		r, err := e.app.Store().Recipient(t.Context(), real.ID, "dieppe")
		return err == nil && r.InformedAt != nil
	})
	e.clock.Advance(70 * time.Minute)
	api(t, e.app, "POST", "/api/v1/activations/"+real.ID+"/close", nil, nil)
	if err := e.app.Store().ReplaceOfficials(t.Context(), []tocsin.Official{mayorOf("dieppe", mobile(m1))}); err != nil {
		t.Fatal(err)
	}

	exported := exportHistory(t, e.app, "?from=2026-11&to=2026-11")
	lines := strings.Split(strings.TrimSuffix(exported, "\n"), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"kind":"exercise"`) || !strings.Contains(lines[1], `"kind":"real"`) ||
		!strings.Contains(lines[0], `{"id":"rouen","name":"Maire rouen","external":true,"informed_at":`) ||
		!strings.Contains(lines[0], `"how":"manual"}],"cip_activated_at":`) || !strings.Contains(lines[0], `"how":"sms"}`) ||
		!strings.Contains(lines[1], `{"id":"rouen","name":"Maire rouen","external":true}]`) || !strings.HasSuffix(lines[1], `"source":"tocsin"}`) {
		t.Fatalf("export:\n%s", exported)
	}
	if all := exportHistory(t, e.app, ""); all != exported {
		t.Errorf("export of everything differs from November's:\n%s", all)
	}
	if none := exportHistory(t, e.app, "?from=2026-12"); none != "" {
		t.Errorf("export of December: %q", none)
	}

	b := historyApp(t, e.clock.Now().Add(time.Hour), mayorOf("dieppe", mobile(m1)))
	if st, res := importHistory(t, b, adminToken, exported); st != http.StatusOK || res.Imported != 2 {
		t.Fatalf("import: status %d, %+v", st, res)
	}
	wantRep, wantTable := indicatorsOf(t, e.app, "2026-11", "2026-12")
	gotRep, gotTable := indicatorsOf(t, b, "2026-11", "2026-12")
	if gotTable != wantTable {
		t.Errorf("indicators after the round trip:\n%s\nwant\n%s", gotTable, wantTable)
	}
	// Who activated the CIP is not part of the interchange format; an
	// imported activation says where it comes from.
	for _, rep := range []*indicator.Report{&wantRep, &gotRep} {
		for i := range rep.Months {
			for _, f := range []*indicator.Figures{&rep.Months[i].Real, &rep.Months[i].Exercise} {
				for j := range f.Results {
					if c := f.Results[j].CIP; c != nil {
						c.By, c.Note = "", ""
					}
					if rep == &gotRep && f.Results[j].ImportedFrom != "tocsin" {
						t.Errorf("result %+v not marked imported", f.Results[j])
					}
					f.Results[j].ImportedFrom = ""
				}
			}
		}
	}
	if !reflect.DeepEqual(gotRep, wantRep) {
		t.Errorf("report after the round trip\n%+v\nwant\n%+v", gotRep, wantRep)
	}
	if again := exportHistory(t, b, "?from=2026-11&to=2026-11"); again != exported {
		t.Errorf("re-export:\n%s\nwant\n%s", again, exported)
	}
	if st, res := importHistory(t, b, adminToken, exported); st != http.StatusOK || res.Imported != 0 || res.AlreadyPresent != 2 {
		t.Errorf("import into B again: status %d, %+v", st, res)
	}
	// Tocsin's own activations are not overwritten by their export.
	if st, res := importHistory(t, e.app, adminToken, exported); st != http.StatusUnprocessableEntity ||
		!strings.Contains(strings.Join(res.Error.Details, "\n"), "ligne 1, colonne 7, champ id : l'identifiant "+e.id+" est celui d'une activation menée dans Tocsin") {
		t.Errorf("import into A: status %d, %+v", st, res)
	}
}

// registre is a paper register of 2026 written out: an exercise and two
// real activations, one of them across the end of March.
const registre = `{"id":"reg-1","kind":"exercise","title":"Exercice crue","activated_at":"2026-02-10T10:00:00+01:00","deadline":"2026-02-10T11:00:00+01:00","officials":[{"id":"dieppe","name":"Maire de Dieppe","informed_at":"2026-02-10T10:20:00+01:00","how":"voice"}],"source":"registre papier SIDPC 2026"}

{"id":"reg-2","kind":"real","playbook":"crue","activated_at":"2026-03-31T23:30:00+02:00","deadline":"2026-04-01T00:30:00+02:00","officials":[{"id":"dieppe","name":"Maire de Dieppe","informed_at":"2026-04-01T00:00:00+02:00","how":"sms"},{"id":"ancien-maire","name":"Ancien maire","external":true}],"closed_at":"2026-04-01T02:00:00+02:00","source":"registre papier SIDPC 2026"}
`

func TestHistoryImportOfAFileWithOneBadLineImportsNothing(t *testing.T) {
	t.Parallel()
	a := historyApp(t, parisAt(2026, 12, 1, 9, 0))
	before := storeDump(t, a)
	bad := registre + `{"id":"reg-3","kind":"real","title":"Tempête","activated_at":"2026-10-25T02:30:00","deadline":"2026-10-25T04:00:00+01:00",` +
		`"officials":[{"id":"inconnu","name":"Élu inconnu","informed_at":"2026-12-25T00:00:00Z","how":"sms"}],"source":"registre"}` + "\n"
	// The format error and the line's other faults show at once.
	st, res := importHistory(t, a, adminToken, bad)
	if st != http.StatusUnprocessableEntity || res.Error.Code != tocsin.EUnprocessable || len(res.Error.Details) != 3 ||
		!strings.HasPrefix(res.Error.Details[0], "ligne 4, colonne 62, champ activated_at : horodatage \"2026-10-25T02:30:00\" sans décalage horaire") ||
		!strings.HasPrefix(res.Error.Details[1], "ligne 4, colonne 142, champ officials[0].id : l'élu inconnu (Élu inconnu) n'est pas dans l'annuaire") ||
		!strings.HasPrefix(res.Error.Details[2], "ligne 4, colonne 187, champ officials[0].informed_at : 2026-12-25T00:00:00Z est dans le futur") {
		t.Fatalf("import: status %d, %+v", st, res)
	}
	if after := storeDump(t, a); !reflect.DeepEqual(after, before) {
		t.Errorf("a refused import changed the store:\n%v\nwant\n%v", after, before)
	}
	if st, _ := importHistory(t, a, "", registre); st != http.StatusUnauthorized {
		t.Errorf("import without a token: status %d", st)
	}
	if err := a.Store().CreateUserWithToken(t.Context(), tocsin.User{Name: "permanence", Role: tocsin.RoleOfficer}, "officer-token"); err != nil {
		t.Fatal(err)
	}
	if st, _ := importHistory(t, a, "officer-token", registre); st != http.StatusForbidden {
		t.Errorf("import by a duty officer: status %d, want 403", st)
	}
	if st, _ := rawRequest(t, a, "GET", "/api/v1/history", "officer-token", "", ""); st != http.StatusOK {
		t.Errorf("export by a duty officer: status %d, want 200", st)
	}
}

// Errors of every kind on several lines — format, directory, future date,
// an id already used — are all reported by one import, each with its line,
// column and field, and nothing is imported.
func TestHistoryImportReportsEveryErrorOfEveryLineAtOnce(t *testing.T) {
	t.Parallel()
	a := historyApp(t, parisAt(2026, 12, 1, 9, 0))
	if st, res := importHistory(t, a, adminToken, registre); st != http.StatusOK || res.Imported != 2 {
		t.Fatalf("first import: status %d, %+v", st, res)
	}
	before := storeDump(t, a)
	rec := func(id, kind, at, official string) string {
		return fmt.Sprintf(`{"id":%q,"kind":%q,"title":"Alerte","activated_at":%q,"deadline":%q,"officials":[{"id":%q,"name":"Élu"}],"source":"main courante"}`,
			id, kind, at, at, official) + "\n"
	}
	file := strings.Replace(registre, `"how":"voice"`, `"how":"manual"`, 1) + // line 1: reg-1 with other content; line 3 as imported
		rec("reg-4", "real", "2026-05-01T10:00:00+02:00", "dieppe") + // line 4: good
		rec("reg-5", "exercice", "2026-05-02T10:00:00+02:00", "dieppe") + // line 5: format
		rec("reg-6", "real", "2027-01-05T10:00:00+01:00", "rouen") + // line 6: in the future
		rec("reg-7", "real", "2026-05-03T10:00:00+02:00", "76999-maire") + // line 7: not in the directory
		`{"id":"reg-8",` + "\n" // line 8: not JSON
	st, res := importHistory(t, a, adminToken, file)
	want := []string{
		"ligne 1, colonne 7, champ id : l'activation reg-1 est déjà importée avec un autre contenu",
		`ligne 5, colonne 22, champ kind : type "exercice" inconnu`,
		"ligne 6, colonne 61, champ activated_at : 2027-01-05T09:00:00Z est dans le futur",
		"ligne 7, colonne 147, champ officials[0].id : l'élu 76999-maire (Élu) n'est pas dans l'annuaire",
		"ligne 8, colonne 15 : JSON invalide : fin de ligne inattendue",
	}
	if st != http.StatusUnprocessableEntity || len(res.Error.Details) != len(want) {
		t.Fatalf("import: status %d, errors %q; want 422 and %d errors", st, res.Error.Details, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(res.Error.Details[i], w) {
			t.Errorf("error %d: %q, want it to start with %q", i, res.Error.Details[i], w)
		}
	}
	if after := storeDump(t, a); !reflect.DeepEqual(after, before) {
		t.Errorf("a refused import changed the store")
	}
}

func TestHistoryImportedTwiceChangesNothingTheSecondTime(t *testing.T) {
	t.Parallel()
	a := historyApp(t, parisAt(2026, 12, 1, 9, 0))
	st, res := importHistory(t, a, adminToken, registre)
	if st != http.StatusOK || res.Imported != 2 || res.AlreadyPresent != 0 || strings.Join(res.ImportedIDs, ",") != "reg-1,reg-2" {
		t.Fatalf("first import: status %d, %+v", st, res)
	}
	before := storeDump(t, a)
	st, res = importHistory(t, a, adminToken, registre)
	if st != http.StatusOK || res.Imported != 0 || res.AlreadyPresent != 2 {
		t.Fatalf("second import: status %d, %+v", st, res)
	}
	if after := storeDump(t, a); !reflect.DeepEqual(after, before) {
		t.Errorf("the second import changed the store or the audit trail")
	}
	// The first import is in the trail: one entry per activation, written
	// with it, then the summary; the second import added nothing.
	var all auditEntries
	api(t, a, "GET", "/api/v1/audit", nil, &all)
	imported := map[string]bool{}
	for _, e := range all.Entries {
		if e.Action == tocsin.AuditHistoryImported && e.Actor == "admin" && strings.Contains(e.Detail, "activation importée de l'historique par admin") {
			imported[e.Activation] = true
		}
	}
	if n := len(all.Entries); n != 3 || !imported["reg-1"] || !imported["reg-2"] || all.Entries[2].Activation != "" ||
		!strings.Contains(all.Entries[2].Detail, "historique importé (fichier « registre.jsonl ») : 2 activations importées, 0 déjà présentes ; empreinte") {
		t.Errorf("audit trail %+v; want an entry for each activation of the first import, then its summary", all.Entries)
	}
	// The same id with other content is refused, naming the line.
	changed := strings.Replace(registre, `"how":"voice"`, `"how":"manual"`, 1)
	if st, res := importHistory(t, a, adminToken, changed); st != http.StatusUnprocessableEntity ||
		!strings.HasPrefix(strings.Join(res.Error.Details, "\n"), "ligne 1, colonne 7, champ id : l'activation reg-1 est déjà importée avec un autre contenu") {
		t.Errorf("changed record: status %d, %+v", st, res)
	}

	// The imported activation is shown as such, and takes no action.
	var v view
	api(t, a, "GET", "/api/v1/activations/reg-2", nil, &v)
	if v.Imported == nil || v.Imported.Source != "registre papier SIDPC 2026" || v.Imported.By != "admin" || v.State != tocsin.Closed ||
		v.Title != "crue" || len(v.Recipients) != 2 || !v.Recipients[0].External || len(v.Timeline) != 1 || v.Timeline[0].Kind != tocsin.EventImported {
		t.Errorf("imported activation %+v", v)
	}
	for path, body := range map[string]string{"/api/v1/activations/reg-2/recipients/ancien-maire/confirm": `{"how":"téléphone"}`,
		"/api/v1/activations/reg-2/cip": "", "/api/v1/activations/reg-2/close": ""} {
		if st, body := rawRequest(t, a, "POST", path, adminToken, "", body); st != http.StatusConflict || !strings.Contains(body, "importée de l'historique") {
			t.Errorf("POST %s: status %d %s; want 409", path, st, body)
		}
	}
	b := loginAs(t, a, "auditrice", tocsin.RoleAuditor)
	for _, path := range []string{"/activations", "/activations/reg-2", "/exercices"} {
		st, page := b.get(path)
		if st != http.StatusOK || !strings.Contains(page, "data-imported") || !strings.Contains(page, "registre papier SIDPC 2026") {
			t.Errorf("%s: status %d; want the imported badge and the source", path, st)
		}
	}
	admin := loginAs(t, a, "administratrice", tocsin.RoleAdmin)
	if _, page := admin.get("/activations/reg-2"); strings.Contains(page, "Confirmer") || strings.Contains(page, "Clore l'activation") ||
		strings.Contains(page, "Activer la CIP") || !strings.Contains(page, "Importée le") {
		t.Errorf("the page of an imported activation offers actions:\n%s", page)
	}
}

// Records across the end of March and both daylight-saving changes give
// the figures the definitions say: months in Paris time, delays in real
// elapsed time.
func TestHistoryFiguresAcrossMonthsAndDaylightSavingChanges(t *testing.T) {
	t.Parallel()
	a := historyApp(t, parisAt(2026, 12, 1, 9, 0))
	rec := func(id, kind, at, informed, extra string) string {
		return fmt.Sprintf(`{"id":%q,"kind":%q,"title":"Alerte","activated_at":%q,"deadline":%q,"officials":[{"id":"dieppe","name":"Maire de Dieppe","informed_at":%q,"how":"sms"}]%s,"source":"registre"}`,
			id, kind, at, at, informed, extra)
	}
	file := strings.Join([]string{
		// 31 March 23:30 in Paris is 21:30 UTC: March, informed in 30 minutes.
		rec("fin-mars", "real", "2026-03-31T23:30:00+02:00", "2026-04-01T00:00:00+02:00", ""),
		// 29 March, 01:30 winter time to 03:10 summer time: 40 minutes.
		rec("printemps", "real", "2026-03-29T01:30:00+01:00", "2026-03-29T03:10:00+02:00", ""),
		// 30 April 23:59:59 is April; 1 May 00:15 is May though still April in UTC.
		rec("fin-avril", "real", "2026-04-30T23:59:59+02:00", "2026-05-01T00:09:59+02:00", ""),
		rec("mai", "exercise", "2026-05-01T00:15:00+02:00", "2026-05-01T00:45:00+02:00", ""),
		// 25 October, 02:30 happens twice: summer time, then winter time.
		rec("automne-ete", "real", "2026-10-25T02:30:00+02:00", "2026-10-25T02:20:00+01:00", ""),
		rec("automne-hiver", "real", "2026-10-25T02:30:00+01:00", "2026-10-25T03:40:00+01:00",
			`,"cip_activated_at":"2026-10-25T03:20:00+01:00"`),
	}, "\n")
	if st, res := importHistory(t, a, adminToken, file); st != http.StatusOK || res.Imported != 6 {
		t.Fatalf("import: status %d, %+v", st, res)
	}
	rep, _ := indicatorsOf(t, a, "2026-03", "2026-10")
	month := map[string]indicator.MonthReport{}
	for _, m := range rep.Months {
		month[m.Month] = m
	}
	secs := func(f indicator.Figures) float64 {
		if f.WorstDelaySeconds == nil {
			return -1
		}
		return *f.WorstDelaySeconds
	}
	for _, c := range []struct {
		month                      string
		real, within, exercises    int
		worst                      float64
		cip, cipWithin, exercisYTD int
	}{
		{"2026-03", 2, 2, 0, 40 * 60, 0, 0, 0},
		{"2026-04", 1, 1, 0, 10 * 60, 0, 0, 0},
		{"2026-05", 0, 0, 1, -1, 0, 0, 1},
		{"2026-10", 2, 1, 0, 70 * 60, 1, 1, 1},
	} {
		m := month[c.month]
		if m.Real.Activations != c.real || m.Real.WithinTarget != c.within || m.Exercise.Activations != c.exercises ||
			secs(m.Real) != c.worst || m.Real.CIPActivations != c.cip || m.Real.CIPWithin != c.cipWithin || m.ExercisesYTD != c.exercisYTD {
			t.Errorf("%s: real %+v, exercise %+v, exercises to date %d; want %+v", c.month, m.Real, m.Exercise, m.ExercisesYTD, c)
		}
	}
	var delays []float64
	for _, r := range month["2026-10"].Real.Results {
		delays = append(delays, *r.DelaySeconds)
	}
	if fmt.Sprint(delays) != "[3000 4200]" {
		t.Errorf("October delays %v; want 50 and 70 minutes of real time", delays)
	}
	if r := month["2026-10"].Real.Results[1]; r.CIP == nil || r.CIP.DelaySeconds != 3000 || r.ImportedFrom != "registre" {
		t.Errorf("October CIP %+v", r)
	}
}

// A scheduled exercise no replica ran, but held on paper that day and
// imported, is no longer missed.
func TestHistoryImportedExerciseFulfilsAMissedScheduledOne(t *testing.T) {
	t.Parallel()
	a := historyApp(t, parisAt(2026, 12, 1, 9, 0))
	due := parisAt(2026, 4, 10, 10, 0).UTC()
	if _, err := a.Store().ClaimExerciseRun(context.Background(), tocsin.ExerciseRun{Due: due, Status: tocsin.RunMissed, ClaimedAt: due.Add(time.Hour), By: "r1"}); err != nil {
		t.Fatal(err)
	}
	missed := func() []time.Time {
		rep, _ := indicatorsOf(t, a, "2026-04", "2026-04")
		return rep.Months[0].Missed
	}
	if m := missed(); len(m) != 1 || !m[0].Equal(due) {
		t.Fatalf("missed before the import: %v", m)
	}
	line := `{"id":"exercice-avril","kind":"exercise","title":"Exercice sur table","activated_at":"2026-04-10T10:05:00+02:00","deadline":"2026-04-10T11:05:00+02:00",` +
		`"officials":[{"id":"dieppe","name":"Maire de Dieppe","informed_at":"2026-04-10T10:30:00+02:00","how":"manual"}],"exercise_due":"2026-04-10T08:00:00Z","source":"main courante SIDPC"}`
	if st, res := importHistory(t, a, adminToken, line); st != http.StatusOK || res.Imported != 1 {
		t.Fatalf("import: status %d, %+v", st, res)
	}
	if m := missed(); len(m) != 0 {
		t.Errorf("missed after the import: %v; want none", m)
	}
	rep, _ := indicatorsOf(t, a, "2026-04", "2026-04")
	if rep.Months[0].Exercise.Activations != 1 || rep.Months[0].ExercisesYTD != 1 {
		t.Errorf("April: %+v", rep.Months[0])
	}
}

// The example of docs/history.md imports into the demo directory.
func TestHistoryExampleOfTheDocsImportsIntoTheDemo(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../docs/history-example.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	a := mustRunApp(t, app.Config{DemoDirectory: true, Clock: twiliosim.NewManualClock(parisAt(2026, 12, 1, 9, 0))})
	st, res := importHistory(t, a, adminToken, string(data))
	if st != http.StatusOK || res.Imported != 4 {
		t.Fatalf("import: status %d, %+v", st, res)
	}
	if rep, _ := indicatorsOf(t, a, "2026-04", "2026-04"); rep.Months[0].ExercisesYTD != 1 || len(rep.Months[0].Missed) != 1 ||
		rep.Months[0].ExercisesMissedYTD != 1 {
		t.Errorf("April of the example: %+v, want the exercise not held", rep.Months[0])
	}
	rep, _ := indicatorsOf(t, a, "2026-01", "2026-03")
	if jan, feb, mar := rep.Months[0], rep.Months[1], rep.Months[2]; jan.Exercise.Activations != 1 || feb.Real.CIPWithin != 1 ||
		feb.Real.WithinTarget != 0 || mar.Real.WithinTarget != 1 || *mar.Real.WorstDelaySeconds != 32*60 {
		t.Errorf("indicators of the example: %+v", rep.Months)
	}
}

// An activation still open is not exported as if closed: it is left out
// and named, unless asked for, and then written without closed_at.
func TestHistoryExportLeavesOutTheActivationStillOpenUnlessAsked(t *testing.T) {
	t.Parallel()
	a := historyApp(t, parisAt(2026, 12, 1, 9, 0))
	if st, res := importHistory(t, a, adminToken, registre); st != http.StatusOK || res.Imported != 2 {
		t.Fatalf("import: status %d, %+v", st, res)
	}
	var open view
	if st := api(t, a, "POST", "/api/v1/activations", map[string]any{"playbook": "test-tous"}, &open); st != http.StatusCreated {
		t.Fatalf("create: status %d", st)
	}
	export := func(query string) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", a.URL()+"/api/v1/history"+query, nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get(web.LeftOutHeader), string(body)
	}
	st, left, body := export("")
	if st != http.StatusOK || left != open.ID || strings.Count(body, "\n") != 2 || strings.Contains(body, open.ID) {
		t.Errorf("export: status %d, left out %q, %d lines; want the 2 closed ones and %s left out", st, left, strings.Count(body, "\n"), open.ID)
	}
	st, left, body = export("?include_open=true")
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	if st != http.StatusOK || left != "" || len(lines) != 3 || !strings.Contains(lines[2], `"id":"`+open.ID+`"`) || strings.Contains(lines[2], "closed_at") {
		t.Errorf("export with the open ones: status %d, left out %q, lines %q", st, left, lines)
	}
	if st, _, body := export("?include_open=peut-être"); st != http.StatusBadRequest || !strings.Contains(body, "include_open") {
		t.Errorf("bad include_open: status %d %s", st, body)
	}
	var all auditEntries
	api(t, a, "GET", "/api/v1/audit", nil, &all)
	var exports []string
	for _, e := range all.Entries {
		if e.Action == "export" {
			exports = append(exports, e.Detail)
		}
	}
	if len(exports) != 2 || !strings.Contains(exports[0], "1 en cours non exportées : "+open.ID) || !strings.Contains(exports[1], "en cours comprises") {
		t.Errorf("export entries %q", exports)
	}
}

// A CIP that Tocsin stamped itself (Anne and Paul in position, the
// playbook's minimum) travels with its activation: the export says how
// many operators were in position; imported into another Tocsin, the
// activation's CIP is stamped the same, the indicators are the same, and
// its export is the same bytes.
func TestHistoryCarriesTheOperatorsInPositionOfTheCIP(t *testing.T) {
	t.Parallel()
	a, clock, id := startCIP(t, nil)
	api(t, a, "POST", "/api/v1/activations/"+id+"/cip/open", nil, nil)
	clock.Advance(20 * time.Minute)
	mark(t, a, id, "cip-01", tocsin.OperatorInPosition)
	if p := mark(t, a, id, "cip-02", tocsin.OperatorInPosition); p.Activated == nil || p.Activated.Staffed != 2 {
		t.Fatalf("CIP not stamped with two in position: %+v", p.Activated)
	}
	api(t, a, "POST", "/api/v1/activations/"+id+"/cip/close", nil, nil)
	clock.Advance(time.Hour)
	if st := api(t, a, "POST", "/api/v1/activations/"+id+"/close", nil, nil); st != http.StatusOK {
		t.Fatalf("close: status %d", st)
	}
	exported := exportHistory(t, a, "?from=2026-11&to=2026-11")
	var line string
	for l := range strings.SplitSeq(strings.TrimSuffix(exported, "\n"), "\n") {
		if strings.Contains(l, `"id":"`+id+`"`) {
			line = l
		}
	}
	if !strings.Contains(line, `"cip_announced_delay_seconds":2700,"cip_operators_in_position":2,`) {
		t.Fatalf("export of the activation lacks its operators in position:\n%s", exported)
	}

	b := historyApp(t, clock.Now().Add(time.Hour), mayorOf("dieppe", mobile(fictionMobile(1))))
	if st, res := importHistory(t, b, adminToken, exported); st != http.StatusOK || res.Imported == 0 {
		t.Fatalf("import: status %d, %+v", st, res)
	}
	var got view
	if st := api(t, b, "GET", "/api/v1/activations/"+id, nil, &got); st != http.StatusOK || got.CIP == nil || got.CIP.Staffed != 2 || !got.CIP.ActivatedAt.Equal(clock.Now().Add(-time.Hour)) {
		t.Errorf("imported activation's CIP: status %d, %+v; want stamped with 2 in position", st, got.CIP)
	}
	_, wantTable := indicatorsOf(t, a, "2026-11", "2026-11")
	if _, gotTable := indicatorsOf(t, b, "2026-11", "2026-11"); gotTable != wantTable {
		t.Errorf("indicators after the round trip:\n%s\nwant\n%s", gotTable, wantTable)
	}
	if again := exportHistory(t, b, "?from=2026-11&to=2026-11"); again != exported {
		t.Errorf("re-export:\n%s\nwant\n%s", again, exported)
	}
}
