package indicator_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/indicator"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

func paris(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, tocsin.Paris())
	if err != nil {
		panic(err)
	}
	return t
}

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

// act is a closed activation at `at` whose officials were informed after
// the given delays; a negative delay means never informed.
func act(id string, at time.Time, exercise bool, delays ...time.Duration) indicator.Activation {
	a := indicator.Activation{Activation: tocsin.Activation{ID: id, Title: id, ActivatedAt: at.UTC(), Exercise: exercise, State: tocsin.Closed}}
	for i, d := range delays {
		r := tocsin.Recipient{Official: tocsin.Official{ID: fmt.Sprintf("o%d", i)}}
		if d >= 0 {
			t := at.Add(d).UTC()
			r.InformedAt = &t
		}
		a.Recipients = append(a.Recipients, r)
	}
	return a
}

func months(t *testing.T, from, to string) []indicator.Month {
	t.Helper()
	f, err := indicator.ParseMonth(from)
	if err != nil {
		t.Fatal(err)
	}
	l, err := indicator.ParseMonth(to)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := indicator.Months(f, l)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

var later = utc("2030-01-01 00:00")

func TestActivationsAreCountedInTheirParisMonth(t *testing.T) {
	acts := []indicator.Activation{
		// 31 January 23:30 in Paris is still January, though UTC says 22:30.
		act("jan", paris("2026-01-31 23:30"), false, 10*time.Minute),
		// 31 January 23:30 UTC is 1 February 00:30 in Paris.
		act("feb", utc("2026-01-31 23:30"), false, 20*time.Minute),
		// Spring change (29 March): 31 March 23:30 in Paris (UTC+2) is 21:30 UTC.
		act("mar", paris("2026-03-31 23:30"), false, time.Minute),
		// 31 March 22:30 UTC is 1 April 00:30 in Paris.
		act("apr", utc("2026-03-31 22:30"), false, time.Minute),
		// Autumn change (25 October): 31 October 23:30 in Paris (UTC+1) is 22:30 UTC.
		act("oct", paris("2026-10-31 23:30"), false, time.Minute),
		// 31 October 23:30 UTC is 1 November 00:30 in Paris.
		act("nov", utc("2026-10-31 23:30"), false, time.Minute),
	}
	rep := indicator.Compute(months(t, "2026-01", "2026-11"), acts, nil, later)
	want := map[string][]string{"2026-01": {"jan"}, "2026-02": {"feb"}, "2026-03": {"mar"}, "2026-04": {"apr"},
		"2026-10": {"oct"}, "2026-11": {"nov"}}
	for _, m := range rep.Months {
		var got []string
		for _, r := range m.Real.Results {
			got = append(got, r.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(want[m.Month]) {
			t.Errorf("%s: got activations %v, want %v", m.Month, got, want[m.Month])
		}
	}
}

func TestDelayAcrossBothDaylightSavingChanges(t *testing.T) {
	// 29 March 2026: 01:30 CET, then at 02:00 clocks jump to 03:00; the
	// official answers at 03:20 CEST: 50 minutes, not 1 h 50.
	spring := act("spring", paris("2026-03-29 01:30"), false, -1)
	informed := paris("2026-03-29 03:20").UTC()
	spring.Recipients[0].InformedAt = &informed
	// 25 October 2026: 02:30 CEST (00:30 UTC), clocks go back at 03:00 to
	// 02:00; the official answers at 02:10 CET (01:10 UTC): 40 minutes.
	start := utc("2026-10-25 00:30")
	autumn := act("autumn", start, false, -1)
	back := utc("2026-10-25 01:10")
	autumn.Recipients[0].InformedAt = &back
	if got := start.In(tocsin.Paris()).Format("15:04 MST"); got != "02:30 CEST" {
		t.Fatalf("setup: start is %s", got)
	}
	if got := back.In(tocsin.Paris()).Format("15:04 MST"); got != "02:10 CET" {
		t.Fatalf("setup: informed at %s", got)
	}
	rep := indicator.Compute(months(t, "2026-03", "2026-10"), []indicator.Activation{spring, autumn}, nil, later)
	mar, oct := rep.Months[0], rep.Months[7]
	if got := *mar.Real.WorstDelaySeconds; got != 50*60 {
		t.Errorf("March: delay %v s, want 3000", got)
	}
	if got := *oct.Real.WorstDelaySeconds; got != 40*60 {
		t.Errorf("October: delay %v s, want 2400", got)
	}
	if mar.Real.WithinTarget != 1 || oct.Real.WithinTarget != 1 {
		t.Errorf("both activations are within the hour: got %d and %d", mar.Real.WithinTarget, oct.Real.WithinTarget)
	}
}

func TestOfficialNeverInformedMissesTheTarget(t *testing.T) {
	acts := []indicator.Activation{
		act("ok", paris("2026-05-04 10:00"), false, 5*time.Minute, 50*time.Minute),
		act("ko", paris("2026-05-20 10:00"), false, 2*time.Minute, -1),
	}
	rep := indicator.Compute(months(t, "2026-05", "2026-05"), acts, nil, later)
	f := rep.Months[0].Real
	if !f.Never {
		t.Error("an official never informed must make the worst delay infinite")
	}
	if f.Judged != 2 || f.WithinTarget != 1 {
		t.Errorf("got %d of %d within target, want 1 of 2", f.WithinTarget, f.Judged)
	}
	if f.Officials != 4 || f.OfficialsWithinTarget != 3 {
		t.Errorf("got %d of %d officials within 1 h, want 3 of 4", f.OfficialsWithinTarget, f.Officials)
	}
	if f.Results[1].DelaySeconds != nil || f.Results[1].WithinTarget {
		t.Errorf("the activation with someone never informed has a delay: %+v", f.Results[1])
	}
	_, rows := indicator.Table(rep)
	if got := rows[1][2]; !strings.Contains(got, "jamais informé") {
		t.Errorf("worst delay cell = %q, want it to say an official was never informed", got)
	}
	if got := rows[3][2]; got != "1 sur 2 (50 %)" {
		t.Errorf("within-target cell = %q", got)
	}
}

func TestOpenActivationBeforeItsTargetIsNotJudged(t *testing.T) {
	a := act("live", utc("2026-06-01 10:00"), false, 5*time.Minute, -1)
	a.State = tocsin.Open
	rep := indicator.Compute(months(t, "2026-06", "2026-06"), []indicator.Activation{a}, nil, utc("2026-06-01 10:30"))
	if f := rep.Months[0].Real; f.Activations != 1 || f.Judged != 0 || f.Never {
		t.Errorf("got %+v, want one activation, not judged", f)
	}
	rep = indicator.Compute(months(t, "2026-06", "2026-06"), []indicator.Activation{a}, nil, utc("2026-06-01 11:01"))
	if f := rep.Months[0].Real; f.Judged != 1 || !f.Never {
		t.Errorf("past its target, got %+v, want judged and missed", f)
	}
}

func TestExercisesAndRealActivationsInTheSameMonthAreCountedApart(t *testing.T) {
	real := act("real", paris("2026-02-10 14:00"), false, 90*time.Minute)
	real.CIP = &tocsin.CIP{DelaySeconds: 1800, AnnouncedSeconds: 3600, WithinDelay: true}
	acts := []indicator.Activation{
		act("ex-jan", paris("2026-01-15 10:00"), true, 10*time.Minute),
		real,
		act("ex-feb", paris("2026-02-12 10:00"), true, 20*time.Minute, 30*time.Minute),
		act("ex-2025", paris("2025-12-12 10:00"), true, time.Minute),
	}
	missed := []time.Time{paris("2026-02-20 10:00")}
	rep := indicator.Compute(months(t, "2026-01", "2026-02"), acts, missed, later)
	feb := rep.Months[1]
	if feb.Real.Activations != 1 || feb.Exercise.Activations != 1 {
		t.Fatalf("February: %d real, %d exercises; want 1 and 1", feb.Real.Activations, feb.Exercise.Activations)
	}
	if *feb.Real.WorstDelaySeconds != 5400 || feb.Real.WithinTarget != 0 {
		t.Errorf("real: worst %v s, %d within target; want 5400 and 0", *feb.Real.WorstDelaySeconds, feb.Real.WithinTarget)
	}
	if *feb.Exercise.WorstDelaySeconds != 1800 || feb.Exercise.WithinTarget != 1 {
		t.Errorf("exercise: worst %v s, %d within; want 1800 and 1", *feb.Exercise.WorstDelaySeconds, feb.Exercise.WithinTarget)
	}
	if feb.ExercisesYTD != 2 || rep.Months[0].ExercisesYTD != 1 {
		t.Errorf("year to date: January %d, February %d; want 1 and 2 (December 2025 not counted)", rep.Months[0].ExercisesYTD, feb.ExercisesYTD)
	}
	if feb.Real.CIPActivations != 1 || feb.Real.CIPWithin != 1 || feb.Exercise.CIPActivations != 0 {
		t.Errorf("CIP: %+v / %+v", feb.Real, feb.Exercise)
	}
	if len(feb.Missed) != 1 || len(rep.Months[0].Missed) != 0 {
		t.Errorf("missed exercises: January %v, February %v", rep.Months[0].Missed, feb.Missed)
	}
	header, rows := indicator.Table(rep)
	if header[2] != "Résultats janvier 2026" || header[3] != "Résultats février 2026" {
		t.Errorf("header %v", header)
	}
	if rows[7][3] != "2 sur 4" || rows[8][3] != "20/02/2026 10:00:00" || rows[9][3] != "1 : 20/02/2026 10:00:00" || rows[9][2] != "0" {
		t.Errorf("exercise rows: %v / %v / %v", rows[7], rows[8], rows[9])
	}
}

func TestMonthWithNothingIsSansObjet(t *testing.T) {
	rep := indicator.Compute(months(t, "2026-07", "2026-07"), nil, nil, later)
	header, rows := indicator.Table(rep)
	if len(header) != 3 {
		t.Fatalf("header %v", header)
	}
	want := map[int]string{0: "0", 1: indicator.NotApplicable, 2: indicator.NotApplicable, 3: indicator.NotApplicable,
		4: indicator.NotApplicable, 5: indicator.NotApplicable, 6: "0", 7: "0 sur 4", 8: "aucun", 9: "0",
		10: indicator.NotApplicable, 11: indicator.NotApplicable, 12: indicator.NotApplicable, 13: indicator.NotApplicable,
		14: indicator.NotApplicable}
	if len(rows) != len(want) {
		t.Errorf("%d rows, want %d", len(rows), len(want))
	}
	for i, w := range want {
		if got := rows[i][2]; got != w {
			t.Errorf("%s: got %q, want %q", rows[i][0], got, w)
		}
	}
}

func TestMonthsRejectsBadPeriods(t *testing.T) {
	for _, s := range []string{"2026-13", "2026/01", "", "janvier"} {
		if _, err := indicator.ParseMonth(s); err == nil {
			t.Errorf("ParseMonth(%q) accepted", s)
		}
	}
	a, _ := indicator.ParseMonth("2026-03")
	b, _ := indicator.ParseMonth("2026-01")
	if _, err := indicator.Months(a, b); err == nil {
		t.Error("a period that ends before it starts was accepted")
	}
	c, _ := indicator.ParseMonth("2020-01")
	if _, err := indicator.Months(c, a); err == nil {
		t.Error("a period of more than three years was accepted")
	}
}

// A report on October alone still shows the exercises held and missed
// since 1 January, and not those of the year before.
func TestOctoberAloneShowsTheExercisesHeldAndMissedSinceJanuary(t *testing.T) {
	acts := []indicator.Activation{
		act("ex-2025", paris("2025-10-10 10:00"), true, time.Minute),
		act("ex-jan", paris("2026-01-10 10:00"), true, time.Minute),
		act("ex-oct", paris("2026-10-10 10:00"), true, time.Minute),
	}
	missed := []time.Time{paris("2025-07-10 10:00"), paris("2026-04-10 10:00"), paris("2026-08-10 10:00"), paris("2026-11-10 10:00")}
	rep := indicator.Compute(months(t, "2026-10", "2026-10"), acts, missed, later)
	oct := rep.Months[0]
	if oct.ExercisesYTD != 2 || oct.ExercisesMissedYTD != 2 || len(oct.Missed) != 0 {
		t.Errorf("October: %d held and %d missed since January, %d missed in the month; want 2, 2 and 0",
			oct.ExercisesYTD, oct.ExercisesMissedYTD, len(oct.Missed))
	}
	_, rows := indicator.Table(rep)
	if got, want := rows[9][2], "2 : 10/04/2026 10:00:00 ; 10/08/2026 10:00:00"; got != want {
		t.Errorf("missed since January: %q, want %q", got, want)
	}
}

// The table has a row for each figure of the JSON, exercises as real
// activations, and a delay a second over the hour never reads like one
// within it.
func TestTableHasTheRowsOfTheJSONAndDelaysNearTheHourInSeconds(t *testing.T) {
	acts := []indicator.Activation{
		act("real", paris("2026-05-04 10:00"), false, time.Hour),
		act("ex-late", paris("2026-05-12 10:00"), true, 10*time.Minute, time.Hour+59*time.Second),
		act("ex-ok", paris("2026-05-20 10:00"), true, 59*time.Minute+59*time.Second),
	}
	rep := indicator.Compute(months(t, "2026-05", "2026-05"), acts, nil, later)
	_, rows := indicator.Table(rep)
	cells := map[string]string{}
	for _, r := range rows {
		cells[r[0]] = r[2]
	}
	for name, want := range map[string]string{
		"Délai d'information des élus (le plus long)":                 "1 h 00 min 00 s",
		"Délai d'information des élus, par activation":                "04/05/2026 10:00:00 : 1 h 00 min 00 s",
		"Activations où tous les élus ont été informés dans le délai": "1 sur 1 (100 %)",
		"Exercices : délai d'information des élus (le plus long)":     "1 h 00 min 59 s (hors délai)",
		"Exercices : délai d'information des élus, par exercice": "12/05/2026 10:00:00 : 1 h 00 min 59 s (hors délai) ; " +
			"20/05/2026 10:00:00 : 59 min 59 s",
		"Exercices où tous les élus ont été informés dans le délai": "1 sur 2 (50 %)",
		"Exercices : élus informés en moins d'une heure":            "2 sur 3 (67 %)",
	} {
		if got, ok := cells[name]; !ok || got != want {
			t.Errorf("row %q = %q, want %q", name, got, want)
		}
	}
}
