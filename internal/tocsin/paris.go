package tocsin

import (
	"sync"
	"time"
	_ "time/tzdata" // Europe/Paris must load on a machine without a zoneinfo database
)

var paris = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic("Europe/Paris: " + err.Error()) // embedded by time/tzdata: cannot fail
	}
	return loc
})

// Paris returns the Europe/Paris time zone: times are stored in UTC and
// shown, and counted in calendar periods, in Paris time.
func Paris() *time.Location { return paris() }

// ParisTime formats t in Paris time, to the second: "28/11/2026 06:31:03".
func ParisTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(Paris()).Format("02/01/2006 15:04:05")
}
