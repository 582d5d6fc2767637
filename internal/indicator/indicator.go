package indicator

import (
	"slices"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Target is the delay within which every official must be informed.
const Target = time.Hour

// ExercisesPerYear is the label's yearly target of exercises.
const ExercisesPerYear = 4

// Activation is an activation with its recipients, as the indicators read it.
type Activation struct {
	tocsin.Activation
	Recipients []tocsin.Recipient
}

// Result is how one activation stands against the target.
type Result struct {
	ID          string    `json:"id"`
	Title       string    `json:"title"`
	ActivatedAt time.Time `json:"activated_at"`
	Targeted    int       `json:"targeted"`
	Informed    int       `json:"informed"`
	// InformedWithinTarget counts officials informed at most Target after
	// the activation.
	InformedWithinTarget int `json:"informed_within_target"`
	// DelaySeconds is the time from the activation to the moment the last
	// targeted official was informed; nil while someone is not informed.
	DelaySeconds *float64 `json:"delay_seconds,omitempty"`
	// Open is set while the activation is not closed.
	Open bool `json:"open,omitempty"`
	// Pending is set while the activation is open, someone is not informed
	// and the target is not past yet: it is not judged yet.
	Pending bool `json:"pending,omitempty"`
	// WithinTarget is set when everyone was informed within Target.
	WithinTarget bool `json:"within_target"`
	// CIP is the public information cell's record, when it was activated.
	CIP *tocsin.CIP `json:"cip,omitempty"`
	// ImportedFrom is the source of an activation imported from the
	// history; empty for one Tocsin ran.
	ImportedFrom string `json:"imported_from,omitempty"`
}

// Figures are the indicators over one kind of activation (real or
// exercise) in one period.
type Figures struct {
	// Activations counts the activations whose activated_at falls in the
	// period (indicator 1; for exercises, indicator 3).
	Activations int      `json:"activations"`
	Results     []Result `json:"results"`
	// Judged counts the activations that are not pending.
	Judged       int `json:"judged"`
	WithinTarget int `json:"within_target"`
	// WorstDelaySeconds is the worst finite delay; Never is set when an
	// activation has someone never informed, which is worse than any delay.
	WorstDelaySeconds *float64 `json:"worst_delay_seconds,omitempty"`
	Never             bool     `json:"never_informed,omitempty"`
	// Officials and OfficialsWithinTarget count targeted officials of the
	// judged activations, and those informed within Target.
	Officials             int `json:"officials"`
	OfficialsWithinTarget int `json:"officials_within_target"`
	// CIPActivations counts activations where the CIP was activated, and
	// CIPWithin those where it was within its announced delay (indicator 4).
	CIPActivations int `json:"cip_activations"`
	CIPWithin      int `json:"cip_within"`
}

// MonthReport holds the indicators of one month.
type MonthReport struct {
	Month    string  `json:"month"` // 2026-03
	Label    string  `json:"label"` // mars 2026
	Real     Figures `json:"real"`
	Exercise Figures `json:"exercise"`
	// ExercisesYTD counts the exercises held from 1 January to the end of
	// the month, against ExercisesTarget.
	ExercisesYTD    int `json:"exercises_ytd"`
	ExercisesTarget int `json:"exercises_target"`
	// Missed lists scheduled exercises of the month that did not happen.
	Missed []time.Time `json:"missed,omitempty"`
	// MissedYTD lists the scheduled exercises that did not happen from
	// 1 January to the end of the month; ExercisesMissedYTD counts them.
	MissedYTD          []time.Time `json:"missed_ytd,omitempty"`
	ExercisesMissedYTD int         `json:"exercises_missed_ytd"`
}

// Report holds the indicators of consecutive months.
type Report struct {
	From   string        `json:"from"`
	To     string        `json:"to"`
	Months []MonthReport `json:"months"`
}

// Compute returns the indicators of months over acts (every activation, of
// any date: each month takes those whose activated_at falls in it, in Paris
// time). missed are the due times of scheduled exercises that did not run,
// from 1 January of the first month's year at least, for the year to date.
// now decides which activations are still pending.
func Compute(months []Month, acts []Activation, missed []time.Time, now time.Time) Report {
	var rep Report
	if len(months) == 0 {
		return rep
	}
	rep.From, rep.To = months[0].String(), months[len(months)-1].String()
	sorted := slices.Clone(acts)
	slices.SortFunc(sorted, func(x, y Activation) int { return x.ActivatedAt.Compare(y.ActivatedAt) })
	for _, m := range months {
		mr := MonthReport{Month: m.String(), Label: m.Label(), ExercisesTarget: ExercisesPerYear}
		yearStart := time.Date(m.Year, time.January, 1, 0, 0, 0, 0, tocsin.Paris())
		for i := range sorted {
			a := &sorted[i]
			if a.Exercise && !a.ActivatedAt.Before(yearStart) && a.ActivatedAt.Before(m.End()) {
				mr.ExercisesYTD++
			}
			if !m.Contains(a.ActivatedAt) {
				continue
			}
			if a.Exercise {
				mr.Exercise.add(a, now)
			} else {
				mr.Real.add(a, now)
			}
		}
		for _, t := range missed {
			if m.Contains(t) {
				mr.Missed = append(mr.Missed, t)
			}
			if !t.Before(yearStart) && t.Before(m.End()) {
				mr.MissedYTD = append(mr.MissedYTD, t)
			}
		}
		slices.SortFunc(mr.Missed, time.Time.Compare)
		slices.SortFunc(mr.MissedYTD, time.Time.Compare)
		mr.ExercisesMissedYTD = len(mr.MissedYTD)
		rep.Months = append(rep.Months, mr)
	}
	return rep
}

// Judge returns how one activation stands against Target at now.
func Judge(a *Activation, now time.Time) Result {
	r := Result{ID: a.ID, Title: a.Title, ActivatedAt: a.ActivatedAt, Targeted: len(a.Recipients), CIP: a.CIP, Open: a.State != tocsin.Closed}
	if a.Imported != nil {
		r.ImportedFrom = a.Imported.Source
	}
	var last time.Time
	for _, rc := range a.Recipients {
		if rc.InformedAt == nil {
			continue
		}
		r.Informed++
		if rc.InformedAt.Sub(a.ActivatedAt) <= Target {
			r.InformedWithinTarget++
		}
		if rc.InformedAt.After(last) {
			last = *rc.InformedAt
		}
	}
	if r.Targeted > 0 && r.Informed == r.Targeted {
		d := last.Sub(a.ActivatedAt)
		secs := d.Seconds()
		r.DelaySeconds = &secs
		r.WithinTarget = d <= Target
		return r
	}
	// Someone is not informed: the delay is infinite once the activation
	// is closed or its target is past; before, it is not judged yet.
	r.Pending = a.State == tocsin.Open && now.Before(a.ActivatedAt.Add(Target))
	return r
}

func (f *Figures) add(a *Activation, now time.Time) {
	f.Activations++
	r := Judge(a, now)
	f.Results = append(f.Results, r)
	if a.CIP != nil {
		f.CIPActivations++
		if a.CIP.WithinDelay {
			f.CIPWithin++
		}
	}
	if r.Pending {
		return
	}
	f.Judged++
	f.Officials += r.Targeted
	f.OfficialsWithinTarget += r.InformedWithinTarget
	if r.WithinTarget {
		f.WithinTarget++
	}
	switch {
	case r.DelaySeconds == nil:
		f.Never = true
	case f.WorstDelaySeconds == nil || *r.DelaySeconds > *f.WorstDelaySeconds:
		d := *r.DelaySeconds
		f.WorstDelaySeconds = &d
	}
}
