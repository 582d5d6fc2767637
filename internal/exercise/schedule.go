package exercise

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// DefaultSpecs hold four exercises a year, one a quarter: the second
// Tuesday-ish of January, April, July and October at 10:00, Paris time.
var DefaultSpecs = []string{"0 10 10 1,4,7,10 *"}

// Schedule is a set of cron specs in Europe/Paris.
type Schedule struct {
	specs []cron.Schedule
}

// Parse reads cron specs (minute hour day month weekday) in Paris time.
// Errors are in French, for users.
func Parse(specs []string) (s *Schedule, err error) {
	if len(specs) == 0 {
		return nil, tocsin.Errorf(tocsin.EInvalid, "calendrier des exercices vide")
	}
	s = &Schedule{}
	for _, spec := range specs {
		spec = strings.TrimSpace(spec)
		if strings.HasPrefix(spec, "CRON_TZ=") || strings.HasPrefix(spec, "TZ=") {
			return nil, tocsin.Errorf(tocsin.EInvalid, "calendrier %q : pas de fuseau, les heures sont celles de Paris", spec)
		}
		cs, err := parseOne(spec)
		if err != nil {
			return nil, tocsin.Errorf(tocsin.EInvalid, "calendrier %q invalide : %v", spec, err)
		}
		// Keep runs out of the hour the daylight-saving changes skip or double.
		t := time.Date(2026, 1, 1, 0, 0, 0, 0, tocsin.Paris())
		for range 50 {
			if t = cs.Next(t); t.IsZero() {
				break
			}
			if t.In(tocsin.Paris()).Hour() == 2 {
				return nil, tocsin.Errorf(tocsin.EInvalid, "calendrier %q : évitez 02:00–03:00, heure sautée ou doublée aux changements d'heure", spec)
			}
		}
		s.specs = append(s.specs, cs)
	}
	return s, nil
}

// parseOne parses with robfig/cron, whose parser can panic on some inputs.
func parseOne(spec string) (cs cron.Schedule, err error) {
	defer func() {
		if v := recover(); v != nil {
			cs, err = nil, fmt.Errorf("%v", v)
		}
	}()
	return cron.ParseStandard("CRON_TZ=Europe/Paris " + spec)
}

// next returns the first run strictly after t, zero when none.
func (s *Schedule) next(t time.Time) time.Time {
	var best time.Time
	for _, cs := range s.specs {
		n := cs.Next(t)
		if !n.IsZero() && (best.IsZero() || n.Before(best)) {
			best = n
		}
	}
	return best.UTC()
}

// Next returns the n runs after t, in UTC.
func (s *Schedule) Next(t time.Time, n int) []time.Time {
	var out []time.Time
	for len(out) < n {
		if t = s.next(t); t.IsZero() {
			break
		}
		out = append(out, t)
	}
	return out
}

// maxCatchUp bounds how many past runs one look finds.
const maxCatchUp = 100

// Between returns the runs in (after, upTo], oldest first.
func (s *Schedule) Between(after, upTo time.Time) []time.Time {
	var out []time.Time
	for t := s.next(after); !t.IsZero() && !t.After(upTo) && len(out) < maxCatchUp; t = s.next(t) {
		out = append(out, t)
	}
	return slices.Clip(out)
}
