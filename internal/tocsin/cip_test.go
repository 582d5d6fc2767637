package tocsin

import (
	"testing"
	"time"
)

// An operator called for the queue counts as busy while their phone may
// ring, and for the whole conversation once they picked up; a call whose
// end was never told stops holding them: soon when nobody picked up.
func TestADeskIsBusyWhileItRingsOrTalks(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name    string
		desk    Desk
		after   time.Duration
		busy    bool
		ringing bool
	}{
		{"free", Desk{}, 0, false, false},
		{"ringing", Desk{Claim: "k", Since: t0}, OperatorRing, true, true},
		{"never picked up, its end lost", Desk{Claim: "k", Since: t0}, RingHold, false, false},
		{"talking", Desk{Claim: "k", Since: t0, Talking: true}, 20 * time.Minute, true, false},
		{"talking, its end lost", Desk{Claim: "k", Since: t0, Talking: true}, DeskHold, false, false},
	} {
		now := t0.Add(c.after)
		if got := c.desk.Busy(now); got != c.busy {
			t.Errorf("%s: busy %t, want %t", c.name, got, c.busy)
		}
		if got := c.desk.Ringing(now); got != c.ringing {
			t.Errorf("%s: ringing %t, want %t", c.name, got, c.ringing)
		}
	}
}
