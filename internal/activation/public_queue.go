package activation

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// QueueStore keeps what the public line's queue needs beyond the calls'
// records: each call's record changed by compare-and-swap, and the
// operators' desks.
type QueueStore interface {
	UpdatePublicCall(ctx context.Context, activation, sid string, fn func(c *tocsin.PublicCall) *tocsin.PublicCall) (bool, error)
	WaitingCalls(ctx context.Context, activation string, seenSince time.Time) (int, error)
	Desks(ctx context.Context, activation string) ([]tocsin.Desk, error)
	UpdateDesk(ctx context.Context, activation, operator string, fn func(d *tocsin.Desk) bool) (bool, error)
}

// CallOperatorFunc places a call to an operator's number whose TwiML
// takes the next caller of the activation's queue (<Dial><Queue>), with a
// status callback that carries operator and claim; it returns the call's
// SID.
type CallOperatorFunc func(ctx context.Context, to, activation, operator, claim string) (sid string, err error)

// QueueName is the name of the Twilio queue of an activation's public
// line: at most 64 characters, as Twilio requires.
func QueueName(activation string) string {
	n := "cip-" + activation
	if len(n) > 64 {
		n = n[:64]
	}
	return n
}

// QueueName is QueueName, for the web layer.
func (s *Service) QueueName(activation string) string { return QueueName(activation) }

// Queued reports whether the public line queues its callers (and places
// calls to the operators) rather than ringing the operators at once.
func (s *Service) Queued() bool { return s.queue != nil && s.callOp != nil }

// PublicCallWaiting is told by the queue's wait URL that a caller waits:
// their call is recorded as queued if it was not, and operators free are
// called for the callers waiting. It reports whether the caller should
// stay in the queue: false when the CIP is closed or nobody is in
// position any more. A line it cannot read (etcd slow or away) keeps the
// caller waiting, in their place: Twilio asks again a moment later, and
// an error would take them out of the queue.
func (s *Service) PublicCallWaiting(ctx context.Context, activation, sid string) (bool, error) {
	l, err := s.PublicLine(ctx)
	if err != nil {
		s.log.Warn("public line not read: the caller keeps waiting", "activation", activation, "err", err)
		return true, nil
	}
	stay := l.Open && l.Activation == activation && len(l.Numbers) > 0
	if !s.Queued() || !tocsin.ValidID(activation) || !callSID.MatchString(sid) {
		return stay, nil
	}
	if !stay {
		return false, nil
	}
	now := s.now().UTC()
	if _, err := s.queue.UpdatePublicCall(ctx, activation, sid, func(c *tocsin.PublicCall) *tocsin.PublicCall {
		switch {
		case c == nil:
			return &tocsin.PublicCall{SID: sid, At: now, PutThrough: true, Queued: true, SeenAt: now}
		case c.Waiting() && now.Sub(c.SeenAt) >= tocsin.SeenEvery:
			c.SeenAt = now
			return c
		}
		return nil
	}); err != nil {
		s.log.Warn("queued call not recorded", "activation", activation, "err", err)
	}
	s.connect(ctx, activation)
	return true, nil
}

// PublicCallLeft records how a caller left the queue (Twilio's
// QueueResult and QueueTime, told to the Enqueue's action). A result is
// recorded once: a webhook retried changes nothing and reports counted
// false. One the store cannot record is logged and not counted: the
// caller still hears what follows.
func (s *Service) PublicCallLeft(ctx context.Context, activation, sid, result, seconds string) (counted bool, err error) {
	if !s.Queued() || !tocsin.ValidID(activation) || !callSID.MatchString(sid) || result == "" {
		return false, nil
	}
	waited, _ := strconv.Atoi(seconds)
	waited = max(waited, 0)
	now := s.now().UTC()
	counted, err = s.queue.UpdatePublicCall(ctx, activation, sid, func(c *tocsin.PublicCall) *tocsin.PublicCall {
		if c == nil {
			c = &tocsin.PublicCall{SID: sid, At: now.Add(-time.Duration(waited) * time.Second), PutThrough: true, Queued: true}
		}
		if c.QueueResult != "" {
			return nil
		}
		c.Queued, c.PutThrough, c.QueueResult, c.QueueSeconds = true, true, result, waited
		return c
	})
	if err != nil {
		s.log.Warn("public call's end not recorded", "activation", activation, "result", result, "err", err)
		return false, nil
	}
	if counted {
		s.log.Info("public call left the queue", "activation", activation, "result", result, "waited", waited)
	}
	return counted, nil
}

// OperatorCallStatus records the progress of a call placed to an operator
// for the queue (its status callback): picked up, or ended, which frees
// the operator; one not picked up is missed, and the queue calls others
// before them. Callers still waiting are then given the operators free.
func (s *Service) OperatorCallStatus(ctx context.Context, activation, operator, claim, status string) error {
	if !s.Queued() || !tocsin.ValidID(activation) || claim == "" {
		return nil
	}
	now := s.now().UTC()
	ended := false
	_, err := s.queue.UpdateDesk(ctx, activation, operator, func(d *tocsin.Desk) bool {
		if d.Claim != claim {
			return false
		}
		switch status {
		case "in-progress":
			if d.Talking {
				return false
			}
			d.Talking = true
		case "completed", "busy", "no-answer", "failed", "canceled":
			if !d.Talking && status != "completed" {
				d.MissedAt = now
			}
			d.Claim, d.Talking = "", false
			ended = true
		default:
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	if ended {
		s.connect(ctx, activation)
	}
	return nil
}

// connect calls operators free for the callers waiting in the queue of
// an activation: as many as there are callers not covered by an operator
// already called and not picked up yet. Operators who missed a call least
// recently are called first. Two replicas may both call an operator for
// the same caller: the one who picks up second waits on the queue for the
// next caller, until their Dial's timeout.
func (s *Service) connect(ctx context.Context, activation string) {
	if !s.Queued() {
		return
	}
	_, c, err := s.CIPCell(ctx, activation)
	if err != nil || c == nil || c.ClosedAt != nil {
		return
	}
	now := s.now().UTC()
	waiting, err := s.queue.WaitingCalls(ctx, activation, now.Add(-tocsin.LostAfter))
	if err != nil {
		s.log.Warn("queue not served", "activation", activation, "err", err)
		return
	}
	desks, err := s.queue.Desks(ctx, activation)
	if err != nil {
		s.log.Warn("queue not served", "activation", activation, "err", err)
		return
	}
	byOp := map[string]tocsin.Desk{}
	need := waiting
	for _, d := range desks {
		byOp[d.Operator] = d
		if d.Ringing(now) {
			need--
		}
	}
	if need <= 0 {
		return
	}
	var free []tocsin.CIPOperator
	for _, o := range c.Operators {
		if d := byOp[o.ID]; o.State == tocsin.OperatorInPosition && !d.Busy(now) && firstNumber(o.Numbers) != "" {
			free = append(free, o)
		}
	}
	slices.SortStableFunc(free, func(a, b tocsin.CIPOperator) int {
		da, db := byOp[a.ID], byOp[b.ID]
		return cmp.Or(da.MissedAt.Compare(db.MissedAt), cmp.Compare(da.Calls, db.Calls))
	})
	for _, o := range free {
		if need == 0 {
			return
		}
		if s.callOperator(ctx, activation, o, now) {
			need--
		}
	}
}

// callOperator claims an operator's desk and places the call; the desk is
// freed again when the call was not placed. One whose outcome is unknown
// (Twilio 5xx, a timeout) may ring: the claim stays, freed by the call's
// status callback or after tocsin.RingHold.
func (s *Service) callOperator(ctx context.Context, activation string, o tocsin.CIPOperator, now time.Time) bool {
	var b [8]byte
	_, _ = rand.Read(b[:])
	claim := hex.EncodeToString(b[:])
	ok, err := s.queue.UpdateDesk(ctx, activation, o.ID, func(d *tocsin.Desk) bool {
		if d.Busy(now) {
			return false
		}
		d.Claim, d.Since, d.Talking = claim, now, false
		d.Calls++
		return true
	})
	if err != nil || !ok {
		return false
	}
	_, err = s.callOp(ctx, firstNumber(o.Numbers), activation, o.ID, claim)
	var se *tocsin.SendError
	switch {
	case err == nil:
		s.log.Info("operator called for the queue", "activation", activation, "operator", o.ID)
		return true
	case errors.As(err, &se) && se.Outcome == tocsin.Unknown:
		s.log.Warn("operator call of unknown outcome: they stay claimed", "activation", activation, "operator", o.ID, "err", err)
		return true
	}
	s.log.Warn("operator not called for the queue", "activation", activation, "operator", o.ID, "err", err)
	_, _ = s.queue.UpdateDesk(ctx, activation, o.ID, func(d *tocsin.Desk) bool {
		if d.Claim != claim {
			return false
		}
		d.Claim, d.MissedAt = "", now
		return true
	})
	return false
}
