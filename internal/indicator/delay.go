package indicator

import (
	"fmt"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// nearTarget is how close to Target a delay is written to the second.
const nearTarget = 2 * time.Minute

// FormatDelay writes a delay against Target so that its side of the
// target is never in doubt: within nearTarget of it the seconds are shown
// (« 59 min 59 s », « 1 h 00 min 01 s »), a delay over Target rounded up
// to the second and one within it rounded down, so that a delay written
// « 1 h 00 min 00 s » is within target and anything over it reads more.
// Further from the target, minutes are enough (tocsin.FormatDuration).
func FormatDelay(d time.Duration) string {
	if d < Target-nearTarget || d > Target+nearTarget {
		return tocsin.FormatDuration(d)
	}
	s := d.Truncate(time.Second)
	if d > Target && s < d {
		s += time.Second
	}
	m, sec := int(s/time.Minute), int(s%time.Minute/time.Second)
	if m >= 60 {
		return fmt.Sprintf("%d h %02d min %02d s", m/60, m%60, sec)
	}
	return fmt.Sprintf("%d min %02d s", m, sec)
}
