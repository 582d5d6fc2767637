package tocsin

import (
	"strconv"
	"time"
)

// Manual is the channel of a rung that sends nothing: from its time on,
// the officials not yet informed are on the duty officer's "à appeler"
// list.
const Manual Channel = "manual"

// DefaultManualAfter is when an official not yet informed goes on the "à
// appeler" list if the ladder has no manual rung.
const DefaultManualAfter = 30 * time.Minute

// Default retry delays: how long after a failed attempt (undelivered,
// busy, no answer, answered without the key press) the same rung tries
// that number again, unless the rung says otherwise. SMS wait longer:
// carriers block bursts of identical messages.
const (
	DefaultSMSRetryDelay   = 5 * time.Minute
	DefaultVoiceRetryDelay = 3 * time.Minute
)

// RetryDelay is how long after a failed attempt this rung tries the same
// number again: its own RetryAfter, or its channel's default.
func (rg *Rung) RetryDelay() time.Duration {
	switch {
	case rg.RetryAfter > 0:
		return rg.RetryAfter
	case rg.Channel == SMS:
		return DefaultSMSRetryDelay
	}
	return DefaultVoiceRetryDelay
}

// Plan returns the attempts the ladder calls for now that r does not have
// yet, and the next moment another one falls due (zero when none will).
//
// A rung falls due at its delay from the activation, or earlier, as soon
// as the rung before it is exhausted for this official: every number it
// reaches failed for good, or it reaches none (a landline-only mayor goes
// straight to the call), or at a duty officer's rush (r.Rushes) for the
// first rung not started by then. A failed attempt is tried again after the rung's RetryDelay,
// up to the rung's Retries; a permanent refusal is not. An informed
// recipient, or one of a closed activation, needs nothing.
func (a *Activation) Plan(r *Recipient, now time.Time) (due []Attempt, next time.Time) {
	if r.InformedAt != nil || a.State != Open {
		return nil, time.Time{}
	}
	var prevStart, prevExhausted time.Time
	rush := 0 // the next of r.Rushes to apply
	for i, rung := range a.Ladder {
		if rung.Channel == Manual {
			continue
		}
		start := a.ActivatedAt.Add(rung.After)
		if !prevExhausted.IsZero() && prevExhausted.Before(start) {
			start = prevExhausted
		}
		if start.Before(prevStart) {
			start = prevStart
		}
		// A duty officer's « Relancer maintenant » brings forward the
		// first rung that had not started when they pressed it.
		if rush < len(r.Rushes) && r.Rushes[rush].At.Before(start) {
			start = r.Rushes[rush].At
			rush++
		}
		numbers := rungNumbers(rung, r)
		prevStart = start
		prevExhausted = time.Time{}
		if start.After(now) {
			next = earliest(next, start)
			continue
		}
		exhausted, exhaustedAt := true, start
		for _, n := range numbers {
			tries := r.attemptsOn(i, n.E164)
			if len(tries) == 0 {
				due = append(due, a.newAttempt(r, i, rung, n, len(due)))
				exhausted = false
				continue
			}
			last := tries[len(tries)-1]
			switch {
			case !last.failed():
				exhausted = false // under way, or reached
			case last.Status == AttemptRejected || len(tries) > rung.Retries:
				if last.UpdatedAt.After(exhaustedAt) {
					exhaustedAt = last.UpdatedAt
				}
			default:
				exhausted = false
				retryAt := last.UpdatedAt.Add(rung.RetryDelay())
				if retryAt.After(now) {
					next = earliest(next, retryAt)
				} else {
					due = append(due, a.newAttempt(r, i, rung, n, len(due)))
				}
			}
		}
		if exhausted {
			prevExhausted = exhaustedAt
		}
	}
	return due, next
}

// RushNext brings r's next rung forward to now, for a duty officer who
// asks for it (« Relancer maintenant »), and returns the channel of the
// attempts that fall due. It changes nothing and returns false when
// nothing more would be sent: r is informed, the activation is closed, or
// every automatic rung has started for r (only the call by hand is left).
func (a *Activation) RushNext(r *Recipient, now time.Time, by string) (Channel, bool) {
	if r.InformedAt != nil || a.State != Open {
		return "", false
	}
	before, _ := a.Plan(r, now)
	r.Rushes = append(r.Rushes, Rush{At: now, By: by})
	after, _ := a.Plan(r, now)
	if len(after) <= len(before) {
		r.Rushes = r.Rushes[:len(r.Rushes)-1]
		return "", false
	}
	return after[len(after)-1].Channel, true
}

// failed reports whether the attempt ended without informing: a failure,
// or a call that ended without the key press (a voicemail, a hang-up).
func (at *Attempt) failed() bool {
	return at.Status.Failed() || (at.Channel == Voice && at.Status == AttemptCompleted)
}

func (a *Activation) newAttempt(r *Recipient, rung int, rg Rung, n Number, pending int) Attempt {
	return Attempt{
		ID:      "r" + strconv.Itoa(rung) + "-" + strconv.Itoa(len(r.Attempts)+pending+1),
		Rung:    rung,
		Channel: rg.Channel,
		To:      n.E164,
		Status:  AttemptCreated,
	}
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// attemptsOn returns r's attempts on one rung to one number, oldest first.
func (r *Recipient) attemptsOn(rung int, to string) []Attempt {
	var out []Attempt
	for _, at := range r.Attempts {
		if at.Rung == rung && at.To == to {
			out = append(out, at)
		}
	}
	return out
}

// rungNumbers lists the numbers a rung reaches for r, keeping to what the
// channel can reach: SMS goes to mobiles only.
func rungNumbers(rung Rung, r *Recipient) []Number {
	var out []Number
	add := func(numbers []Number) {
		for _, n := range numbers {
			if n.Kind == Mobile || rung.Channel == Voice {
				out = append(out, n)
			}
		}
	}
	for _, t := range rung.Targets {
		switch t {
		case TargetMobile:
			out = append(out, r.Official.NumbersOf(Mobile)...)
		case TargetLandline:
			if rung.Channel == Voice {
				out = append(out, r.Official.NumbersOf(Landline)...)
			}
		case TargetDeputies:
			for _, d := range r.Deputies {
				add(d.Numbers)
			}
		}
	}
	return out
}

// ManualAfter is when officials not yet informed go on the "à appeler"
// list: the manual rung's delay, or DefaultManualAfter.
func (a *Activation) ManualAfter() time.Duration {
	for _, rung := range a.Ladder {
		if rung.Channel == Manual {
			return rung.After
		}
	}
	return DefaultManualAfter
}

// OnManualList reports whether the duty officer should call r by hand: not
// informed, and either every automatic means failed or the manual rung's
// time has come.
func (a *Activation) OnManualList(r *Recipient, now time.Time) bool {
	if r.InformedAt != nil || a.State != Open {
		return false
	}
	return r.Status == StatusFailed || !now.Before(a.ActivatedAt.Add(a.ManualAfter()))
}

// FirstContact reports whether r has had no attempt yet: dispatch serves
// those before any retry or later rung.
func (r *Recipient) FirstContact() bool { return len(r.Attempts) == 0 }
