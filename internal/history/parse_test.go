package history

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// good is a valid line: an exercise of the paper register, the mayor of
// Dieppe informed by hand after 40 minutes, across the spring change.
const good = `{"id":"registre-2026-03-29","kind":"exercise","title":"Exercice inondation","activated_at":"2026-03-29T01:30:00+01:00",` +
	`"deadline":"2026-03-29T03:30:00+02:00","officials":[{"id":"76217-maire","name":"Claire Aubrelin","informed_at":"2026-03-29T03:10:00+02:00","how":"manual"},` +
	`{"id":"ancien-maire","name":"Jean Bocquenet","external":true}],"cip_activated_at":"2026-03-29T02:00:00Z","source":"registre papier SIDPC 2026"}`

func parseErrors(t *testing.T, file string) []string {
	t.Helper()
	recs, err := Parse(strings.NewReader(file))
	var list *tocsin.ListError
	if !errors.As(err, &list) {
		t.Fatalf("Parse(%q): %v, records %+v; want a list of errors", file, err, recs)
	}
	if recs != nil {
		t.Errorf("records %+v returned with errors", recs)
	}
	if tocsin.ErrorCode(err) != tocsin.EUnprocessable {
		t.Errorf("code %q, want %q", tocsin.ErrorCode(err), tocsin.EUnprocessable)
	}
	var out []string
	for _, e := range list.Errs {
		out = append(out, e.Field+" : "+e.Message)
	}
	return out
}

func TestParseReadsAGoodLineInUTCWithItsDefaults(t *testing.T) {
	recs, err := Parse(strings.NewReader("\n" + good + "\r\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	r := recs[0]
	if r.Line != 2 || r.Kind != KindExercise || !r.Exercise() || r.Title != "Exercice inondation" {
		t.Errorf("record %+v", r)
	}
	if want := time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC); !r.ActivatedAt.Equal(want) || r.ActivatedAt.Location() != time.UTC {
		t.Errorf("activated_at %v, want %v in UTC", r.ActivatedAt, want)
	}
	// 01:30 winter time to 03:10 summer time is 40 minutes of real time.
	if d := r.Officials[0].InformedAt.Sub(r.ActivatedAt); d != 40*time.Minute {
		t.Errorf("informed after %s, want 40m", d)
	}
	if r.Officials[0].ID != "76217-maire" || !r.Officials[1].External {
		t.Errorf("officials not sorted by id: %+v", r.Officials)
	}
	if r.CIPAnnouncedDelaySeconds != DefaultCIPDelaySeconds {
		t.Errorf("CIP delay %d, want the default 3600", r.CIPAnnouncedDelaySeconds)
	}
	line, err := Encode(&r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"registre-2026-03-29","kind":"exercise","title":"Exercice inondation","activated_at":"2026-03-29T00:30:00Z",` +
		`"deadline":"2026-03-29T01:30:00Z","officials":[{"id":"76217-maire","name":"Claire Aubrelin","informed_at":"2026-03-29T01:10:00Z","how":"manual"},` +
		`{"id":"ancien-maire","name":"Jean Bocquenet","external":true}],"cip_activated_at":"2026-03-29T02:00:00Z","cip_announced_delay_seconds":3600,` +
		`"source":"registre papier SIDPC 2026"}`
	if string(line) != want {
		t.Errorf("canonical line\n%s\nwant\n%s", line, want)
	}
}

// notHeld states that the exercise due on 10 August 2026 was not held.
const notHeld = `{"id":"registre-2026-08","kind":"exercise_not_held","exercise_due":"2026-08-10T10:00:00+02:00",` +
	`"note":"annulé : feux de forêt","source":"registre papier SIDPC 2026"}`

func TestParseReadsAScheduledExerciseNotHeld(t *testing.T) {
	recs, err := Parse(strings.NewReader(notHeld))
	if err != nil {
		t.Fatal(err)
	}
	r := recs[0]
	if !r.NotHeld() || r.Exercise() || !r.ExerciseDue.Equal(time.Date(2026, 8, 10, 8, 0, 0, 0, time.UTC)) || r.Title != "" || len(r.Officials) != 0 {
		t.Errorf("record %+v", r)
	}
	line, err := Encode(&r)
	if want := `{"id":"registre-2026-08","kind":"exercise_not_held","exercise_due":"2026-08-10T08:00:00Z","note":"annulé : feux de forêt",` +
		`"source":"registre papier SIDPC 2026"}`; err != nil || string(line) != want {
		t.Errorf("canonical line %s (%v), want %s", line, err, want)
	}
	run := r.Run(tocsin.Import{Source: r.Source, By: "admin"})
	if run.Status != tocsin.RunNotHeld || !run.Due.Equal(*r.ExerciseDue) || run.ID != r.ID {
		t.Errorf("run %+v", run)
	}
	back := FromRun(run)
	back.Line = r.Line
	if !reflect.DeepEqual(back, r) {
		t.Errorf("back\n%+v\nwant\n%+v", back, r)
	}
	// A run of Tocsin's own schedule that did not happen is written as not
	// held, and reads back.
	own := FromRun(tocsin.ExerciseRun{Due: *r.ExerciseDue, Status: tocsin.RunUnrecorded})
	line, _ = Encode(&own)
	again, err := Parse(bytes.NewReader(line))
	if err != nil || own.ID != "non-tenu-20260810-0800" || own.Source != SourceTocsin || !strings.Contains(own.Title, "10/08/2026 à 10:00") {
		t.Errorf("own run's record %s: %v", line, err)
	} else if again[0].Line = 0; !reflect.DeepEqual(again[0], own) {
		t.Errorf("re-read %+v, want %+v", again[0], own)
	}

	errs := parseErrors(t, strings.Replace(notHeld, `"exercise_due":"2026-08-10T10:00:00+02:00"`, `"activated_at":"2026-08-10T10:00:00+02:00","officials":[]`, 1))
	want := []string{
		"ligne 1, champ exercise_due : champ requis",
		`ligne 1, colonne 68, champ activated_at : champ sans objet pour un exercice non tenu (kind "exercise_not_held")`,
		`ligne 1, colonne 108, champ officials : champ sans objet pour un exercice non tenu`,
	}
	if len(errs) != len(want) {
		t.Fatalf("errors %q, want %d", errs, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(errs[i], want[i]) {
			t.Errorf("error %d: %q, want it to start with %q", i, errs[i], want[i])
		}
	}
}

func TestParseTakesTheTitleFromThePlaybook(t *testing.T) {
	recs, err := Parse(strings.NewReader(strings.Replace(good, `"title":"Exercice inondation"`, `"playbook":"crue-seine"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].Title != "crue-seine" || recs[0].Playbook != "crue-seine" {
		t.Errorf("title %q, playbook %q", recs[0].Title, recs[0].Playbook)
	}
}

// Each kind of error names its line and its field.
func TestParseErrorsNameTheLineAndTheField(t *testing.T) {
	set := func(old, new string) string { return strings.Replace(good, old, new, 1) }
	for _, c := range []struct {
		name, line, want string
	}{
		{"no offset", set(`"2026-03-29T01:30:00+01:00"`, `"2026-03-29T01:30:00"`),
			"ligne 2, champ activated_at : horodatage \"2026-03-29T01:30:00\" sans décalage horaire : une heure de Paris sans décalage est ambiguë"},
		{"offset-less informed_at", set(`"2026-03-29T03:10:00+02:00"`, `"2026-03-29 03:10"`), "ligne 2, champ officials[0].informed_at : horodatage \"2026-03-29 03:10\" sans décalage"},
		{"not a time", set(`"2026-03-29T01:30:00+01:00"`, `"29/03/2026"`), "ligne 2, champ activated_at : horodatage \"29/03/2026\" invalide : RFC 3339"},
		{"unknown field", set(`"kind"`, `"telephone":"06","kind"`), "ligne 2, champ telephone : champ inconnu"},
		{"unknown official field", set(`"external":true`, `"external":true,"mobile":"06"`), "ligne 2, champ officials[1].mobile : champ inconnu"},
		{"wrong kind", set(`"kind":"exercise"`, `"kind":"exercice"`), `ligne 2, champ kind : type "exercice" inconnu : "real" (activation réelle), "exercise" (exercice) ou "exercise_not_held"`},
		{"how missing", set(`,"how":"manual"`, ``), "ligne 2, champ officials[0].how : champ requis avec informed_at"},
		{"how unknown", set(`"how":"manual"`, `"how":"pigeon"`), `ligne 2, champ officials[0].how : moyen "pigeon" inconnu`},
		{"how without informed_at", set(`"external":true`, `"external":true,"how":"sms"`), "ligne 2, champ officials[1].how : moyen donné sans informed_at"},
		{"informed before activated", set(`"2026-03-29T03:10:00+02:00"`, `"2026-03-29T00:10:00+01:00"`), "ligne 2, champ officials[0].informed_at : 2026-03-28T23:10:00Z est avant activated_at"},
		{"deadline before", set(`"deadline":"2026-03-29T03:30:00+02:00"`, `"deadline":"2026-03-29T00:00:00Z"`), "ligne 2, champ deadline : 2026-03-29T00:00:00Z est avant activated_at"},
		{"deadline missing", set(`"deadline":"2026-03-29T03:30:00+02:00",`, ``), "ligne 2, champ deadline : champ requis"},
		{"closed before", set(`"source"`, `"closed_at":"2026-03-28T00:00:00Z","source"`), "ligne 2, champ closed_at : 2026-03-28T00:00:00Z est avant activated_at"},
		{"cip before", set(`"2026-03-29T02:00:00Z"`, `"2026-03-29T00:00:00Z"`), "ligne 2, champ cip_activated_at : 2026-03-29T00:00:00Z est avant"},
		{"cip delay alone", set(`"cip_activated_at":"2026-03-29T02:00:00Z"`, `"cip_announced_delay_seconds":3600`), "ligne 2, champ cip_announced_delay_seconds : délai annoncé sans cip_activated_at"},
		{"cip operators alone", set(`"cip_activated_at":"2026-03-29T02:00:00Z"`, `"cip_operators_in_position":2`), "ligne 2, champ cip_operators_in_position : opérateurs en poste sans cip_activated_at"},
		{"cip operators none", set(`"source"`, `"cip_operators_in_position":0,"source"`), "ligne 2, champ cip_operators_in_position : 0 opérateurs : entre 1 et 500"},
		{"cip delay not whole", set(`"source"`, `"cip_announced_delay_seconds":90.5,"source"`), "ligne 2, champ cip_announced_delay_seconds : nombre entier de secondes attendu"},
		{"exercise_due of a real one", set(`"kind":"exercise"`, `"kind":"real","exercise_due":"2026-01-10T09:00:00Z"`), "ligne 2, champ exercise_due : seul un exercice"},
		{"duplicate official", set(`"ancien-maire"`, `"76217-maire"`), `ligne 2, champ officials[1].id : élu "76217-maire" déjà cité en officials[0]`},
		{"no officials", set(`"officials":[`, `"officials":[],"x":[`), "ligne 2, champ officials : liste vide"},
		{"external without name", set(`"name":"Jean Bocquenet",`, ``), "ligne 2, champ officials[1].name : champ requis"},
		{"bad id", set(`"registre-2026-03-29"`, `"Registre 29 mars"`), `ligne 2, champ id : identifiant "Registre 29 mars" invalide`},
		{"no title nor playbook", set(`"title":"Exercice inondation",`, ``), "ligne 2, champ title : champ requis"},
		{"no source", set(`,"source":"registre papier SIDPC 2026"`, ``), "ligne 2, champ source : champ requis"},
		{"wrong type", set(`"external":true`, `"external":"oui"`), "ligne 2, champ officials[1].external : true ou false attendu"},
		{"not JSON", `{"id": "x",`, "ligne 2 : JSON invalide : fin de ligne inattendue"},
		{"not an object", `["x"]`, "ligne 2 : objet JSON attendu"},
		{"not UTF-8", "{\"id\":\"\xff\"}", "ligne 2 : texte non UTF-8"},
		{"ancient", set(`"2026-03-29T01:30:00+01:00"`, `"1969-12-31T23:00:00Z"`), "ligne 2, champ activated_at : horodatage \"1969-12-31T23:00:00Z\" hors des bornes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			errs := parseErrors(t, "\n"+c.line+"\n"+good+"\n")
			var found bool
			for _, e := range errs {
				if strings.HasPrefix(column.ReplaceAllString(e, ""), c.want) {
					found = true
				}
			}
			if !found {
				t.Errorf("errors %q\nwant one starting with %q", errs, c.want)
			}
		})
	}
}

// column is the column of an error's place, left out where the test is
// about something else.
var column = regexp.MustCompile(`, colonne [0-9]+`)

// Each error names the column where its field's value starts, in
// characters, so that an editor finds it; a field missing from an
// official points at the official.
func TestParseErrorsGiveTheColumnOfTheirField(t *testing.T) {
	line := strings.Replace(good, `"name":"Jean Bocquenet",`, ``, 1)
	line = strings.Replace(line, `"Exercice inondation"`, `"Exercice inondé","kind":"x"`, 1)
	line = strings.Replace(line, `"kind":"exercise",`, ``, 1)
	col := func(s string) int { return utf8.RuneCountInString(line[:strings.Index(line, s)]) + 1 }
	errs := parseErrors(t, line+"\n"+`{"id":"a","kind":"real",`+"\n")
	want := []string{
		fmt.Sprintf(`ligne 1, colonne %d, champ kind : type "x" inconnu`, col(`"x"`)),
		fmt.Sprintf("ligne 1, colonne %d, champ officials[1].name : champ requis", col(`{"id":"ancien-maire"`)),
		"ligne 2, colonne 25 : JSON invalide : fin de ligne inattendue",
	}
	if len(errs) != len(want) {
		t.Fatalf("errors %q, want %d", errs, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(errs[i], want[i]) {
			t.Errorf("error %d: %q, want it to start with %q", i, errs[i], want[i])
		}
	}
}

func TestParseReportsEveryErrorOfTheFileInLineOrder(t *testing.T) {
	other := strings.Replace(good, "registre-2026-03-29", "registre-2", 1)
	file := good + "\n" + strings.Replace(good, `"kind":"exercise"`, `"kind":"x"`, 1) + "\n\n" + good + "\n" +
		strings.Replace(other, `"2026-03-29T01:30:00+01:00"`, `"2026-03-29T01:30:00"`, 1) + "\n"
	errs := parseErrors(t, file)
	for i := range errs {
		errs[i] = column.ReplaceAllString(errs[i], "")
	}
	// Line 2 has a wrong kind and, like line 4, the id of line 1: every
	// error shows, not only the first of each line.
	if len(errs) != 4 || errs[0] != `ligne 2, champ id : identifiant "registre-2026-03-29" déjà utilisé ligne 1` ||
		!strings.HasPrefix(errs[1], "ligne 2, champ kind") ||
		errs[2] != `ligne 4, champ id : identifiant "registre-2026-03-29" déjà utilisé ligne 1` || !strings.HasPrefix(errs[3], "ligne 5, champ activated_at") {
		t.Errorf("errors %q", errs)
	}
}

func TestParseRefusesALineTooLongAndGoesOn(t *testing.T) {
	long := `{"note":"` + strings.Repeat("a", MaxLine) + `"}`
	errs := parseErrors(t, good+"\n"+long+"\n"+strings.Replace(good, `"kind":"exercise"`, `"kind":"x"`, 1))
	if len(errs) != 3 || !strings.HasPrefix(errs[0], "ligne 2 : ligne trop longue") ||
		!strings.HasPrefix(errs[1], "ligne 3, colonne 7, champ id : identifiant \"registre-2026-03-29\" déjà utilisé ligne 1") ||
		!strings.HasPrefix(errs[2], "ligne 3, colonne 36, champ kind") {
		t.Errorf("errors %q", errs)
	}
}

func TestParseBoundsTheErrorsItLists(t *testing.T) {
	bad := strings.Repeat(`{"id":"x"}`+"\n", 40)
	errs := parseErrors(t, bad)
	if len(errs) != maxErrors+1 || !strings.Contains(errs[maxErrors], "autres erreurs ne sont pas affichées") {
		t.Errorf("%d errors, last %q", len(errs), errs[len(errs)-1])
	}
}

// An imported record converts into an activation and back without loss,
// and an activation Tocsin ran marks the officials who left the directory.
func TestRecordAndActivationConvertWithoutLoss(t *testing.T) {
	recs, err := Parse(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	dir := map[string]tocsin.Official{"76217-maire": {ID: "76217-maire", Name: "Autre nom", CommuneName: "Dieppe"}}
	known := func(id string) (tocsin.Official, bool) { o, ok := dir[id]; return o, ok }
	a, rs := recs[0].Activation(known, tocsin.Import{Source: recs[0].Source, By: "admin"})
	if a.State != tocsin.Closed || a.Targeted != 2 || a.CIP == nil || a.CIP.WithinDelay || a.CIP.DelaySeconds != 5400 {
		t.Errorf("activation %+v, CIP %+v", a, a.CIP)
	}
	if rs[0].Official.CommuneName != "Dieppe" || rs[0].Official.Name != "Claire Aubrelin" || rs[0].Status != tocsin.StatusInformed {
		t.Errorf("known official %+v", rs[0])
	}
	if !rs[1].External || rs[1].Status != tocsin.StatusFailed {
		t.Errorf("external official %+v", rs[1])
	}
	back := FromActivation(a, rs, func(string) bool { return false })
	back.Line = recs[0].Line
	if !reflect.DeepEqual(back, recs[0]) {
		t.Errorf("back\n%+v\nwant\n%+v", back, recs[0])
	}

	a.Imported = nil
	native := FromActivation(a, rs, func(id string) bool { return id == "76217-maire" })
	if native.Source != SourceTocsin || native.Officials[0].External || !native.Officials[1].External {
		t.Errorf("native record %+v", native)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte(good + "\n" + strings.Replace(good, "registre-2026-03-29", "r2", 1)))
	f.Add([]byte(`{"id":"a","kind":"real","playbook":"p","activated_at":"2026-10-25T02:30:00+02:00","deadline":"2026-10-25T02:30:00+01:00",` +
		`"officials":[{"id":"b","name":" B ","informed_at":"2026-10-25T02:20:00+01:00","how":"sms"}],"note":"l1\nl2","source":"s","exercise_due":null}`))
	f.Add([]byte("{\"id\":\"a\",\"officials\":[1,{},null]}\n\xef\xbb\xbf{}"))
	f.Add([]byte(notHeld))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := Parse(bytes.NewReader(data))
		if err != nil {
			if tocsin.ErrorCode(err) != tocsin.EUnprocessable {
				t.Fatalf("error %v with code %q", err, tocsin.ErrorCode(err))
			}
			return
		}
		for _, r := range recs {
			line, err := Encode(&r)
			if err != nil {
				t.Fatalf("accepted record does not encode: %v", err)
			}
			again, err := Parse(bytes.NewReader(line))
			if err != nil {
				t.Fatalf("canonical line %s refused: %v", line, err)
			}
			again[0].Line = r.Line
			if !reflect.DeepEqual(again[0], r) {
				t.Fatalf("re-parsed\n%+v\nwant\n%+v", again[0], r)
			}
			line2, _ := Encode(&again[0])
			if !bytes.Equal(line, line2) {
				t.Fatalf("canonical line changed:\n%s\n%s", line, line2)
			}
		}
	})
}
