package reconcile

import (
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// view is what one pass knows of the open activations: the replies their
// recipients record, the numbers whose reply could still inform someone,
// and the attempts with a provider SID whose status may still move.
type view struct {
	since   time.Time
	applied map[string]bool
	// waiting maps a number to the activation times of the open
	// activations where it answers for someone not informed yet.
	waiting map[string][]time.Time
	sent    []staleAttempt
}

type staleAttempt struct {
	ref Ref
	at  tocsin.Attempt
}

func newView(acts []tocsin.Activation) *view {
	v := &view{applied: map[string]bool{}, waiting: map[string][]time.Time{}}
	for i := range acts {
		if v.since.IsZero() || acts[i].ActivatedAt.Before(v.since) {
			v.since = acts[i].ActivatedAt
		}
	}
	return v
}

// add takes in the recipients of one open activation.
func (v *view) add(a *tocsin.Activation, rs []tocsin.Recipient) {
	for i := range rs {
		r := &rs[i]
		for _, sid := range r.Replies {
			v.applied[sid] = true
		}
		if r.InformedAt == nil {
			for _, n := range r.Official.Numbers {
				v.waiting[n.E164] = append(v.waiting[n.E164], a.ActivatedAt)
			}
			for _, d := range r.Deputies {
				for _, n := range d.Numbers {
					v.waiting[n.E164] = append(v.waiting[n.E164], a.ActivatedAt)
				}
			}
		}
		// Notices are settled like attempts: their statuses too.
		for _, ats := range [][]tocsin.Attempt{r.Attempts, r.Notices} {
			for _, at := range ats {
				if at.SID != "" && !at.Status.Final() {
					v.sent = append(v.sent, staleAttempt{ref: Ref{a.ID, r.Official.ID, at.ID}, at: at})
				}
			}
		}
	}
}

// waitsFor reports whether a reply from number received at `at` could
// inform someone: an official it answers for, not informed yet, in an
// activation open by then.
func (v *view) waitsFor(number string, at time.Time) bool {
	for _, t := range v.waiting[number] {
		if !t.After(at) {
			return true
		}
	}
	return false
}

// stale returns the attempts whose status has not moved for `after`.
func (v *view) stale(now time.Time, after time.Duration) []staleAttempt {
	var out []staleAttempt
	for _, s := range v.sent {
		if now.Sub(s.at.UpdatedAt) >= after {
			out = append(out, s)
		}
	}
	return out
}
