package indicator

import (
	"fmt"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Month is a calendar month.
type Month struct {
	Year  int
	Month time.Month
}

// ParseMonth reads "2026-03". Errors are in French, for users.
func ParseMonth(s string) (Month, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil {
		return Month{}, tocsin.Errorf(tocsin.EInvalid, "mois %q invalide : AAAA-MM attendu (par exemple 2026-03)", s)
	}
	return Month{Year: t.Year(), Month: t.Month()}, nil
}

// MonthOf returns the Paris month t falls in.
func MonthOf(t time.Time) Month {
	p := t.In(tocsin.Paris())
	return Month{Year: p.Year(), Month: p.Month()}
}

// String returns "2026-03".
func (m Month) String() string { return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month)) }

// Label returns the month in French: "mars 2026".
func (m Month) Label() string { return monthNames[m.Month-1] + " " + fmt.Sprint(m.Year) }

var monthNames = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet",
	"août", "septembre", "octobre", "novembre", "décembre"}

// Start returns local midnight on the first day of m in Paris.
func (m Month) Start() time.Time { return time.Date(m.Year, m.Month, 1, 0, 0, 0, 0, tocsin.Paris()) }

// End returns the start of the next month: a period is [Start, End).
func (m Month) End() time.Time { return m.Next().Start() }

// Next returns the month after m.
func (m Month) Next() Month {
	if m.Month == time.December {
		return Month{Year: m.Year + 1, Month: time.January}
	}
	return Month{Year: m.Year, Month: m.Month + 1}
}

// Contains reports whether t falls in m, in Paris time.
func (m Month) Contains(t time.Time) bool { return !t.Before(m.Start()) && t.Before(m.End()) }

// Before reports whether m comes before o.
func (m Month) Before(o Month) bool {
	return m.Year < o.Year || (m.Year == o.Year && m.Month < o.Month)
}

// maxMonths bounds a report.
const maxMonths = 36

// Months returns the months from from to to, both included. Errors are in
// French, for users.
func Months(from, to Month) ([]Month, error) {
	if to.Before(from) {
		return nil, tocsin.Errorf(tocsin.EInvalid, "période vide : %s est après %s", from, to)
	}
	var out []Month
	for m := from; !to.Before(m); m = m.Next() {
		if len(out) == maxMonths {
			return nil, tocsin.Errorf(tocsin.EInvalid, "période trop longue : %d mois au plus", maxMonths)
		}
		out = append(out, m)
	}
	return out, nil
}
