package app_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// registre2026 is the paper register of a prefecture that installs Tocsin
// in September: the January exercise was held, the April one was not, and
// it says nothing of July's.
const registre2026 = `{"id":"reg-2026-01","kind":"exercise","title":"Exercice crue","activated_at":"2026-01-10T10:00:00+01:00","deadline":"2026-01-10T11:00:00+01:00",` +
	`"officials":[{"id":"dieppe","name":"Maire de Dieppe","informed_at":"2026-01-10T10:20:00+01:00","how":"sms"}],"exercise_due":"2026-01-10T10:00:00+01:00","source":"registre papier SIDPC 2026"}
{"id":"reg-2026-04","kind":"exercise_not_held","exercise_due":"2026-04-10T10:00:00+02:00","note":"annulé : crue réelle en cours","source":"registre papier SIDPC 2026"}
`

// exerciseCalendarRun is a past run as GET /api/v1/exercises gives it.
type exerciseCalendarRun struct {
	Due    time.Time `json:"due"`
	Status string    `json:"status"`
	Missed bool      `json:"missed"`
	Source string    `json:"source"`
}

// A prefecture installs Tocsin on 15 September 2026 and says its schedule
// (four a year) started on 1 January. With its register imported, the
// report on September alone says one exercise held since January and two
// missed, April (stated not held) and July (nothing records it); the
// export writes both back, and another Tocsin importing it, with no start
// date, computes the same figures.
func TestExercisesMissedBeforeTocsinCountFromTheScheduleStart(t *testing.T) {
	t.Parallel()
	now := parisAt(2026, 9, 15, 10, 0)
	directory := []tocsin.Official{mayorOf("dieppe", mobile(fictionMobile(501)))}
	a := mustRunApp(t, app.Config{Clock: twiliosim.NewManualClock(now), ExerciseScheduleSince: parisAt(2026, 1, 1, 0, 0)})
	if err := a.Store().ReplaceOfficials(t.Context(), directory); err != nil {
		t.Fatal(err)
	}
	if st, res := importHistory(t, a, adminToken, registre2026); st != http.StatusOK || res.Imported != 2 {
		t.Fatalf("import: status %d, %+v", st, res)
	}
	april, july := parisAt(2026, 4, 10, 10, 0), parisAt(2026, 7, 10, 10, 0)
	figures := func(a *app.App, who string) {
		t.Helper()
		rep, csv := indicatorsOf(t, a, "2026-09", "2026-09")
		sep := rep.Months[0]
		if sep.ExercisesYTD != 1 || sep.ExercisesMissedYTD != 2 || len(sep.MissedYTD) != 2 || !sep.MissedYTD[0].Equal(april) ||
			!sep.MissedYTD[1].Equal(july) || len(sep.Missed) != 0 {
			t.Errorf("%s: September: %d held, missed since January %v, in the month %v; want 1 held, April and July missed",
				who, sep.ExercisesYTD, sep.MissedYTD, sep.Missed)
		}
		if want := "Exercices prévus non réalisés depuis le 1er janvier,0,2 : 10/04/2026 10:00:00 ; 10/07/2026 10:00:00"; !strings.Contains(csv, want) {
			t.Errorf("%s: CSV lacks %q:\n%s", who, want, csv)
		}
	}
	figures(a, "with the schedule's start")

	var cal struct {
		Past []exerciseCalendarRun `json:"past"`
	}
	api(t, a, "GET", "/api/v1/exercises", nil, &cal)
	if len(cal.Past) != 3 || cal.Past[0].Status != tocsin.RunUnrecorded || !cal.Past[0].Missed || !cal.Past[0].Due.Equal(july) ||
		cal.Past[1].Status != tocsin.RunNotHeld || cal.Past[1].Source != "registre papier SIDPC 2026" ||
		cal.Past[2].Status != tocsin.RunFulfilled || cal.Past[2].Missed {
		t.Errorf("past runs %+v; want July unrecorded, April not held from the register, January fulfilled", cal.Past)
	}

	exported := exportHistory(t, a, "?from=2026-01&to=2026-09")
	lines := strings.Split(strings.TrimSuffix(exported, "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], `{"id":"reg-2026-01","kind":"exercise"`) ||
		lines[1] != `{"id":"reg-2026-04","kind":"exercise_not_held","exercise_due":"2026-04-10T08:00:00Z","note":"annulé : crue réelle en cours","source":"registre papier SIDPC 2026"}` ||
		!strings.HasPrefix(lines[2], `{"id":"non-tenu-20260710-0800","kind":"exercise_not_held","title":"Exercice programmé du 10/07/2026 à 10:00 (heure de Paris)","exercise_due":"2026-07-10T08:00:00Z","note":"dû avant la mise en service de Tocsin`) {
		t.Errorf("export:\n%s", exported)
	}

	// A register that contradicts itself or what Tocsin holds is refused
	// whole, every contradiction on its line.
	contradictions := `{"id":"jan-non-tenu","kind":"exercise_not_held","exercise_due":"2026-01-10T09:00:00Z","source":"main courante"}
{"id":"avril-tenu","kind":"exercise","title":"Exercice","activated_at":"2026-04-10T10:00:00+02:00","deadline":"2026-04-10T11:00:00+02:00","officials":[{"id":"dieppe","name":"Maire de Dieppe"}],"exercise_due":"2026-04-10T10:00:00+02:00","source":"main courante"}
{"id":"juillet-non-tenu","kind":"exercise_not_held","exercise_due":"2026-07-10T08:00:00Z","source":"main courante"}
{"id":"juillet-tenu","kind":"exercise","title":"Exercice","activated_at":"2026-07-10T10:00:00+02:00","deadline":"2026-07-10T11:00:00+02:00","officials":[{"id":"dieppe","name":"Maire de Dieppe"}],"exercise_due":"2026-07-10T10:00:00+02:00","source":"main courante"}
`
	before := storeDump(t, a)
	st, res := importHistory(t, a, adminToken, contradictions)
	want := []string{
		"l'exercice prévu le 10/01/2026 10:00:00 a été tenu : l'exercice reg-2026-01 le remplit",
		"l'exercice prévu le 10/04/2026 10:00:00 est déclaré non tenu (reg-2026-04, importé le",
		"l'exercice prévu le 10/07/2026 10:00:00 est déclaré non tenu ligne 3",
	}
	if st != http.StatusUnprocessableEntity || len(res.Error.Details) != len(want) {
		t.Fatalf("contradictions: status %d, errors %q", st, res.Error.Details)
	}
	for i, w := range want {
		if d := res.Error.Details[i]; !strings.Contains(d, "champ exercise_due : "+w) || !strings.HasPrefix(d, []string{"ligne 1,", "ligne 2,", "ligne 4,"}[i]) {
			t.Errorf("error %d: %q, want it to say %q", i, d, w)
		}
	}
	if after := storeDump(t, a); len(after) != len(before) {
		t.Error("a refused import changed the store")
	}

	b := mustRunApp(t, app.Config{Clock: twiliosim.NewManualClock(now)})
	if err := b.Store().ReplaceOfficials(t.Context(), directory); err != nil {
		t.Fatal(err)
	}
	if st, res := importHistory(t, b, adminToken, exported); st != http.StatusOK || res.Imported != 3 {
		t.Fatalf("import of the export: status %d, %+v", st, res)
	}
	figures(b, "imported into another Tocsin")
	if again := exportHistory(t, b, "?from=2026-01&to=2026-09"); again != exported {
		t.Errorf("export of the other Tocsin:\n%s\nwant\n%s", again, exported)
	}
}
