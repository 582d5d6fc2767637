package indicator

import (
	"fmt"
	"strings"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// NotApplicable is written where a period has nothing to measure.
const NotApplicable = "Sans objet"

// Table returns the report in the shape of the label's table: a header
// (Indicateurs | Cible | Résultats <mois>…) and one row per indicator,
// real activations first, then exercises, each figure of the JSON with its
// row. CSV, HTML, the console and the command line all print it.
func Table(rep Report) (header []string, rows [][]string) {
	header = []string{"Indicateurs", "Cible"}
	for _, m := range rep.Months {
		header = append(header, "Résultats "+m.Label)
	}
	type line struct {
		name, target string
		cell         func(m *MonthReport) string
	}
	lines := []line{
		{"Nombre d'activations de la cellule", "—", func(m *MonthReport) string { return fmt.Sprint(m.Real.Activations) }},
		{"Délai d'information des élus (le plus long)", "1 h", func(m *MonthReport) string { return worst(&m.Real) }},
		{"Délai d'information des élus, par activation", "1 h", func(m *MonthReport) string { return each(&m.Real) }},
		{"Activations où tous les élus ont été informés dans le délai", "100 %", func(m *MonthReport) string {
			return share(m.Real.WithinTarget, m.Real.Judged)
		}},
		{"Élus informés en moins d'une heure", "100 %", func(m *MonthReport) string {
			return share(m.Real.OfficialsWithinTarget, m.Real.Officials)
		}},
		{"CIP activée dans le délai annoncé", "100 %", func(m *MonthReport) string {
			return share(m.Real.CIPWithin, m.Real.CIPActivations)
		}},
		{"Exercices réalisés dans le mois", "—", func(m *MonthReport) string { return fmt.Sprint(m.Exercise.Activations) }},
		{"Exercices réalisés depuis le 1er janvier", fmt.Sprintf("%d par an", ExercisesPerYear), func(m *MonthReport) string {
			return fmt.Sprintf("%d sur %d", m.ExercisesYTD, m.ExercisesTarget)
		}},
		{"Exercices prévus non réalisés dans le mois", "0", func(m *MonthReport) string { return dates(m.Missed) }},
		{"Exercices prévus non réalisés depuis le 1er janvier", "0", func(m *MonthReport) string {
			if len(m.MissedYTD) == 0 {
				return "0"
			}
			return fmt.Sprintf("%d : %s", len(m.MissedYTD), dates(m.MissedYTD))
		}},
		{"Exercices : délai d'information des élus (le plus long)", "1 h", func(m *MonthReport) string { return worst(&m.Exercise) }},
		{"Exercices : délai d'information des élus, par exercice", "1 h", func(m *MonthReport) string { return each(&m.Exercise) }},
		{"Exercices où tous les élus ont été informés dans le délai", "100 %", func(m *MonthReport) string {
			return share(m.Exercise.WithinTarget, m.Exercise.Judged)
		}},
		{"Exercices : élus informés en moins d'une heure", "100 %", func(m *MonthReport) string {
			return share(m.Exercise.OfficialsWithinTarget, m.Exercise.Officials)
		}},
		{"Exercices : CIP activée dans le délai annoncé", "100 %", func(m *MonthReport) string {
			return share(m.Exercise.CIPWithin, m.Exercise.CIPActivations)
		}},
	}
	for _, l := range lines {
		row := []string{l.name, l.target}
		for i := range rep.Months {
			row = append(row, l.cell(&rep.Months[i]))
		}
		rows = append(rows, row)
	}
	return header, rows
}

func worst(f *Figures) string {
	switch {
	case f.Activations == 0:
		return NotApplicable
	case f.Never:
		return "non atteint : élu jamais informé"
	case f.WorstDelaySeconds == nil:
		return "en cours"
	}
	return delay(seconds(*f.WorstDelaySeconds))
}

// delay writes a finite delay, saying when it is over Target.
func delay(d time.Duration) string {
	if d <= Target {
		return FormatDelay(d)
	}
	return FormatDelay(d) + " (hors délai)"
}

// dates writes due times in Paris, or « aucun ».
func dates(ts []time.Time) string {
	if len(ts) == 0 {
		return "aucun"
	}
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = tocsin.ParisTime(t)
	}
	return strings.Join(s, " ; ")
}

func each(f *Figures) string {
	if f.Activations == 0 {
		return NotApplicable
	}
	var s []string
	for _, r := range f.Results {
		v := "en cours"
		switch {
		case r.DelaySeconds != nil:
			v = delay(seconds(*r.DelaySeconds))
		case !r.Pending:
			v = fmt.Sprintf("jamais (%d élu(s) sur %d non informé(s))", r.Targeted-r.Informed, r.Targeted)
		}
		s = append(s, tocsin.ParisTime(r.ActivatedAt)+" : "+v)
	}
	return strings.Join(s, " ; ")
}

func share(n, of int) string {
	if of == 0 {
		return NotApplicable
	}
	return fmt.Sprintf("%d sur %d (%d %%)", n, of, (n*100+of/2)/of)
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
