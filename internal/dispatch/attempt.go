package dispatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// step does what one recipient needs now, one provider call at a time,
// until nothing more is due; it then arms a timer for what falls due later.
// It starts from the state last known of the recipient, when there is one:
// no read between two attempts, nor before the first.
func (r *run) step(it item) error {
	s, ok := r.recall(it)
	for r.ctx.Err() == nil {
		if !ok {
			a, rc, rev, err := r.st.RecipientWith(r.ctx, it.activation, it.official)
			if err != nil {
				return err
			}
			s, ok = snapshot{a, rc, rev}, true
		}
		s.a = r.latest(s.a)
		if !s.a.NeedsWork(s.rc) {
			return nil
		}
		now := r.d.cfg.Clock.Now()
		todo, wake := r.next(s.a, s.rc, now)
		if todo == nil {
			r.remember(it, s)
			if !wake.IsZero() {
				r.after(it, wake.Sub(now))
			}
			return nil
		}
		if todo.Status == tocsin.AttemptCreated && todo.Tries > 0 && todo.SID == "" {
			found, err := r.reconcile(it, s, todo)
			if err != nil {
				return err
			}
			if found != nil {
				s = *found
				continue
			}
			// Proven not sent: the same attempt goes again.
		}
		var err error
		if s, err = r.send(it, s, *todo); err != nil {
			return err
		}
		ok = s.rev != 0
	}
	return nil
}

// next picks the attempt to work on now: one left unsettled first (a retry
// after a refusal, an unknown outcome), then what the ladder calls for,
// then the notices (those recorded first, then the follow-up messages
// not yet recorded for rc). It also returns when something falls due
// later. An informed recipient gets notices only.
func (r *run) next(a *tocsin.Activation, rc *tocsin.Recipient, now time.Time) (todo *tocsin.Attempt, wake time.Time) {
	unsettled := func(ats []tocsin.Attempt) *tocsin.Attempt {
		for i := range ats {
			at := &ats[i]
			if !at.Status.Unsettled() || r.d.channels[at.Channel] == nil {
				continue
			}
			if at.NextTry != nil && at.NextTry.After(now) {
				wake = earliest(wake, *at.NextTry)
				continue
			}
			return at
		}
		return nil
	}
	if rc.InformedAt == nil {
		if at := unsettled(rc.Attempts); at != nil {
			return at, wake
		}
	}
	due, next := a.Plan(rc, now)
	wake = earliest(wake, next)
	for i := range due {
		if r.d.channels[due[i].Channel] == nil {
			continue // no provider for this channel here
		}
		if due[i].Channel == tocsin.SMS {
			if free := r.smsFreeAt(rc, due[i].To, now); free.After(now) {
				wake = earliest(wake, free)
				continue
			}
		}
		return &due[i], wake
	}
	if at := unsettled(rc.Notices); at != nil {
		return at, wake
	}
	if r.d.channels[tocsin.SMS] != nil {
		if due := a.PlanNotices(rc); len(due) > 0 {
			return &due[0], wake
		}
	}
	return nil, wake
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// smsFreeAt returns when another SMS may go to a number without passing
// MaxSMSPerHour: carriers block bursts of identical messages.
func (r *run) smsFreeAt(rc *tocsin.Recipient, to string, now time.Time) time.Time {
	var recent []time.Time
	for _, at := range rc.Attempts {
		if at.Channel == tocsin.SMS && at.To == to && at.Tries > 0 && now.Sub(at.CreatedAt) < time.Hour {
			recent = append(recent, at.CreatedAt)
		}
	}
	if len(recent) < r.d.cfg.MaxSMSPerHour {
		return now
	}
	return recent[len(recent)-r.d.cfg.MaxSMSPerHour].Add(time.Hour)
}

// send hands one attempt to the provider: paced, written before, settled
// after. It returns the recipient as the last write left it, or a zero
// snapshot when the caller must read it again.
func (r *run) send(it item, s snapshot, at tocsin.Attempt) (snapshot, error) {
	c := r.d.channels[at.Channel]
	key := lineKey(it, at.ID)
	if err := c.acquire(r.ctx, key, r.d.cfg.Clock.Now); err != nil {
		return snapshot{}, err
	}
	paced := time.Now() // a refusal of this send slows the channel only if the slot was taken after the last slow-down
	if err := c.wait(r.ctx); err != nil {
		c.release(key)
		return snapshot{}, err
	}
	// The route is written with the attempt: an outcome left unknown is
	// settled on the route it went by, never resent by another first.
	route, err := r.route()
	if err != nil {
		c.release(key)
		return snapshot{}, err
	}
	// written tells whether the last call of fn, the one that counts,
	// asked for a write: fn runs again after a lost race.
	written := false
	a, rc, rev, err := r.st.UpdateRecipientFrom(r.ctx, it.activation, it.official, s.a, s.rc, s.rev, func(a *tocsin.Activation, rc *tocsin.Recipient) ([]tocsin.Event, error) {
		written = false
		if a.State != tocsin.Open || (at.Notice == "" && rc.InformedAt != nil) {
			return nil, tocsin.ErrNoChange
		}
		now := r.d.cfg.Clock.Now().UTC()
		cur := rc.Outgoing(at.ID)
		var events []tocsin.Event
		switch {
		case cur == nil && at.Notice != "":
			at.CreatedAt = now
			rc.Notices = append(rc.Notices, at)
			cur = &rc.Notices[len(rc.Notices)-1]
		case cur == nil:
			at.CreatedAt = now
			rc.Attempts = append(rc.Attempts, at)
			cur = &rc.Attempts[len(rc.Attempts)-1]
			events = append(events, tocsin.Event{Kind: tocsin.EventAttempt, Attempt: at.ID, Channel: at.Channel,
				Detail: fmt.Sprintf("%s au %s (échelon %d)%s", attemptVerb(at.Channel), at.To, at.Rung+1, routeNote(route))})
		}
		if cur.CreatedAt.IsZero() {
			// A notice a reply recorded: its provider records, should its
			// outcome be unknown, are looked for from its first try.
			cur.CreatedAt = now
		}
		if cur.Notice != "" && cur.Tries == 0 {
			// The notice's first provider call: the timeline says what goes.
			events = append(events, tocsin.Event{Kind: tocsin.EventNotice, Attempt: cur.ID, Channel: cur.Channel,
				Detail: fmt.Sprintf("SMS de %s au %s%s : « %s »", tocsin.NoticeLabel(cur.Notice), cur.To, routeNote(route), cur.Body)})
		}
		if !cur.Status.Unsettled() || (cur.NextTry != nil && cur.NextTry.After(now)) {
			return nil, tocsin.ErrNoChange // settled meanwhile (a status callback), or not due
		}
		// A try proven not sent (refused, or settled with its route's
		// records) may go by another route: the timeline says so.
		stored := ""
		if route != tocsin.PrimaryRoute {
			stored = route
		}
		if cur.Tries > 0 && cur.Route != stored {
			events = append(events, tocsin.Event{Kind: tocsin.EventRetry, Attempt: cur.ID, Channel: cur.Channel,
				Detail: fmt.Sprintf("%s au %s : nouvel essai par la route %s", attemptVerb(cur.Channel), cur.To, tocsin.RouteLabel(route))})
		}
		cur.Route = stored
		cur.Status = tocsin.AttemptCreated
		cur.Tries++
		cur.NextTry = nil
		cur.UpdatedAt = now
		a.Refresh(rc, now)
		written = true
		return events, nil
	})
	if err != nil {
		c.release(key)
		return snapshot{}, err
	}
	cur := rc.Outgoing(at.ID)
	if !written || cur == nil || cur.Status != tocsin.AttemptCreated || (cur.Notice == "" && rc.InformedAt != nil) {
		// Nothing written: read the recipient again before deciding.
		c.release(key)
		return snapshot{}, nil
	}
	start := time.Now()
	sid, status, sendErr := c.on(cur.Route).send(r.ctx, cur.To, rc.BodyOf(cur), it, cur.ID)
	return r.settle(it, c, snapshot{a, rc, rev}, cur.ID, cur.Tries, sid, status, sendErr, sendTimes{paced, start, routeName(cur.Route)})
}

// routeName names an attempt's route; attempts on the primary record none.
func routeName(route string) string {
	if route == "" {
		return tocsin.PrimaryRoute
	}
	return route
}

// routeNote says in the timeline that an attempt took the secondary route.
func routeNote(route string) string {
	if route == tocsin.SecondaryRoute {
		return ", route de secours"
	}
	return ""
}

// route waits, while the primary route is failing, for the failover
// decision, and returns the route the send takes.
func (r *run) route() (string, error) {
	for {
		route, wait := r.d.router.pick(time.Now())
		if wait <= 0 {
			return route, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-r.ctx.Done():
			t.Stop()
			return "", r.ctx.Err()
		}
	}
}

func attemptVerb(c tocsin.Channel) string {
	if c == tocsin.Voice {
		return "appel"
	}
	return "envoi du SMS"
}

func channelName(c tocsin.Channel) string {
	if c == tocsin.Voice {
		return "appel"
	}
	return "SMS"
}

// settle records the outcome of a provider call on s, the state the
// attempt was written in, and returns the recipient as written.
// sendTimes are when a send took its slot in the channel's pace, when its
// provider call started, and the route it took.
type sendTimes struct {
	paced, started time.Time
	route          string
}

func (r *run) settle(it item, c *channel, s snapshot, attemptID string, tries int, sid string, status tocsin.AttemptStatus, sendErr error, at sendTimes) (snapshot, error) {
	key := lineKey(it, attemptID)
	var se *tocsin.SendError
	if sendErr != nil && !errors.As(sendErr, &se) {
		se = &tocsin.SendError{Outcome: tocsin.Unknown, Reason: tocsin.ReasonUnknown, Err: sendErr}
	}
	reason := tocsin.ReasonUnknown
	if se != nil {
		reason = se.Reason
	}
	r.d.cfg.Observer.Sent(c.kind, at.route, resultOf(se), reason, time.Since(at.started))
	r.d.router.result(at.route, se, time.Now())
	if se != nil {
		r.d.log.Warn("send failed", "activation", it.activation, "official", it.official, "attempt", attemptID,
			"channel", string(c.kind), "outcome", se.Outcome.String(), "reason", se.Reason.String(), "code", se.Code)
		if se.Reason == tocsin.ReasonRateLimited {
			// Slower from now on; a pause only when the provider asked for one.
			c.rateLimited(at.paced)
			if se.RetryAfter > 0 {
				c.hold(se.RetryAfter)
			}
		}
		if se.Outcome != tocsin.Unknown {
			c.release(key) // proven not placed
		}
	} else {
		r.d.handed.Add(1)
		c.accepted()
	}
	// The write must happen even if the term is ending: it records a fact.
	// The fence still refuses it if another replica leads.
	ctx := context.WithoutCancel(r.ctx)
	a, rc, rev, err := r.st.UpdateRecipientFrom(ctx, it.activation, it.official, s.a, s.rc, s.rev, func(a *tocsin.Activation, rc *tocsin.Recipient) ([]tocsin.Event, error) {
		at := rc.Outgoing(attemptID)
		if at == nil {
			return nil, fmt.Errorf("attempt %s vanished", attemptID)
		}
		now := r.d.cfg.Clock.Now().UTC()
		at.UpdatedAt = now
		name := channelName(at.Channel)
		var ev tocsin.Event
		switch {
		case se == nil:
			if at.SID != "" && at.SID != sid {
				return nil, fmt.Errorf("attempt %s: provider sid %s, callback said %s", attemptID, sid, at.SID)
			}
			at.SID = sid
			if at.Status.Advances(status) {
				at.Status = status
			}
			ev = tocsin.Event{Kind: tocsin.EventAccepted, Detail: name + " remis à l'opérateur"}
		case at.SID != "":
			// A status callback proved it went out while the call failed.
			return nil, tocsin.ErrNoChange
		case se.Outcome == tocsin.NotSentPermanent:
			at.Status = tocsin.AttemptRejected
			at.ErrorCode, at.Error = se.Code, se.Reason.String()
			ev = tocsin.Event{Kind: tocsin.EventRejected, Detail: fmt.Sprintf("%s : refus définitif de l'opérateur (%s, code %d)", name, se.Reason.String(), se.Code)}
		case se.Outcome == tocsin.NotSentRetry:
			at.Status = tocsin.AttemptRetry
			next := now.Add(max(r.d.backoff(tries), se.RetryAfter))
			if se.Reason == tocsin.ReasonRateLimited {
				// Not sent: it goes again at the slower pace, after any
				// pause the provider asked for.
				next = now.Add(se.RetryAfter)
			}
			at.NextTry = &next
			at.ErrorCode, at.Error = se.Code, se.Reason.String()
			ev = tocsin.Event{Kind: tocsin.EventRetry, Detail: fmt.Sprintf("%s : refus temporaire de l'opérateur (%s), nouvel essai", name, se.Reason.String())}
		default: // Unknown: stays created without SID, to be settled before any resend.
			next := now.Add(r.d.backoff(tries))
			at.NextTry = &next
			at.ErrorCode, at.Error = se.Code, se.Reason.String()
			ev = tocsin.Event{Kind: tocsin.EventRetry, Detail: fmt.Sprintf("%s : issue incertaine (%s), vérification auprès de l'opérateur avant tout nouvel essai", name, se.Reason)}
		}
		ev.Attempt, ev.Channel = attemptID, at.Channel
		a.Refresh(rc, now)
		return []tocsin.Event{ev}, nil
	})
	if err != nil {
		return snapshot{}, err
	}
	return snapshot{a, rc, rev}, nil
}

// reconcile settles an attempt whose outcome is unknown by looking for it
// in the provider's records. When it was found, it returns the recipient
// as written with the attempt recorded.
func (r *run) reconcile(it item, s snapshot, at *tocsin.Attempt) (*snapshot, error) {
	c := r.d.channels[at.Channel]
	found, err := findAttempt(r.ctx, c, s.rc, at)
	if err != nil {
		return r.deferSettling(it, s, at, err)
	}
	r.d.cfg.Observer.Settled(c.kind, routeName(at.Route), found != nil)
	if found == nil {
		r.d.log.Info("unknown outcome settled: not sent", "activation", it.activation, "official", it.official, "attempt", at.ID)
		c.release(lineKey(it, at.ID))
		return nil, nil
	}
	written := false
	a, rc, rev, err := r.st.UpdateRecipientFrom(r.ctx, it.activation, it.official, s.a, s.rc, s.rev, func(a *tocsin.Activation, rc *tocsin.Recipient) ([]tocsin.Event, error) {
		written = false
		cur := rc.Outgoing(at.ID)
		if cur == nil || cur.SID != "" {
			return nil, tocsin.ErrNoChange
		}
		now := r.d.cfg.Clock.Now().UTC()
		cur.SID, cur.NextTry, cur.UpdatedAt = found.SID, nil, now
		status := found.Status
		if !cur.Status.Advances(status) {
			status = tocsin.AttemptQueued
		}
		cur.Status = status
		a.Refresh(rc, now)
		written = true
		return []tocsin.Event{{Kind: tocsin.EventRecovered, Attempt: at.ID, Channel: cur.Channel,
			Detail: channelName(cur.Channel) + " retrouvé chez l'opérateur : pas de nouvel essai"}}, nil
	})
	if err != nil {
		return nil, err
	}
	if !written {
		return &snapshot{a, rc, rev}, nil // settled meanwhile
	}
	r.d.handed.Add(1)
	return &snapshot{a, rc, rev}, nil
}

// deferSettling puts off settling an attempt whose route cannot list its
// records (that route is down): nothing goes to that number on this rung
// meanwhile — it may have been sent — but the ladder goes on, and the
// next rungs may take another route. It returns the recipient as written.
func (r *run) deferSettling(it item, s snapshot, at *tocsin.Attempt, cause error) (*snapshot, error) {
	r.d.log.Warn("unknown outcome not settled yet: its route's records are unreadable", "activation", it.activation,
		"official", it.official, "attempt", at.ID, "route", routeName(at.Route), "err", cause)
	a, rc, rev, err := r.st.UpdateRecipientFrom(r.ctx, it.activation, it.official, s.a, s.rc, s.rev, func(a *tocsin.Activation, rc *tocsin.Recipient) ([]tocsin.Event, error) {
		cur := rc.Outgoing(at.ID)
		if cur == nil || cur.SID != "" || cur.Status != tocsin.AttemptCreated {
			return nil, tocsin.ErrNoChange
		}
		next := r.d.cfg.Clock.Now().UTC().Add(r.d.backoff(cur.Tries + 2))
		cur.NextTry = &next
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	return &snapshot{a, rc, rev}, nil
}

// findAttempt looks for an attempt in the provider's records: a message or
// call to the same number since the attempt, with the same body for an
// SMS, that no other attempt of the recipient claims.
func findAttempt(ctx context.Context, c *channel, rc *tocsin.Recipient, at *tocsin.Attempt) (*tocsin.ProviderMessage, error) {
	got, err := c.on(at.Route).list(ctx, at.To, at.CreatedAt.Add(-5*time.Second))
	if err != nil {
		return nil, fmt.Errorf("list provider records: %w", err)
	}
	claimed := map[string]bool{}
	for _, o := range append(rc.Attempts[:len(rc.Attempts):len(rc.Attempts)], rc.Notices...) {
		if o.SID != "" {
			claimed[o.SID] = true
		}
	}
	for i := range got {
		if claimed[got[i].SID] || (at.Channel == tocsin.SMS && got[i].Body != rc.BodyOf(at)) {
			continue
		}
		return &got[i], nil
	}
	return nil, nil
}
