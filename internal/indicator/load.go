package indicator

import (
	"context"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Source is what the indicators read from storage.
type Source interface {
	Activations(ctx context.Context) ([]tocsin.Activation, error)
	Recipients(ctx context.Context, id string) ([]tocsin.Recipient, error)
}

// MissedFunc returns the due times of scheduled exercises in [from, to)
// that did not run; nil when no schedule is kept.
type MissedFunc func(ctx context.Context, from, to time.Time) ([]time.Time, error)

// Load reads the activations the months need (with the recipients of those
// that fall in them) and computes the report.
func Load(ctx context.Context, src Source, months []Month, missed MissedFunc, now time.Time) (Report, error) {
	if len(months) == 0 {
		return Report{}, nil
	}
	first, last := months[0], months[len(months)-1]
	yearStart := time.Date(first.Year, time.January, 1, 0, 0, 0, 0, tocsin.Paris())
	all, err := src.Activations(ctx)
	if err != nil {
		return Report{}, err
	}
	var acts []Activation
	for _, a := range all {
		switch {
		case a.ActivatedAt.Before(yearStart) || !a.ActivatedAt.Before(last.End()):
			continue
		case a.ActivatedAt.Before(first.Start()):
			// Only counted in the exercises of the year to date.
			if a.Exercise {
				acts = append(acts, Activation{Activation: a})
			}
			continue
		}
		rs, err := src.Recipients(ctx, a.ID)
		if err != nil {
			return Report{}, err
		}
		acts = append(acts, Activation{Activation: a, Recipients: rs})
	}
	var due []time.Time
	if missed != nil {
		if due, err = missed(ctx, yearStart, last.End()); err != nil {
			return Report{}, err
		}
	}
	return Compute(months, acts, due, now), nil
}
