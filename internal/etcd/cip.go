package etcd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// cipRoster is the CIP's roster as stored: one record, at most
// tocsin.MaxOperators operators, well under etcd's request limit.
type cipRoster struct {
	Operators []tocsin.Operator `json:"operators"`
}

// Operators returns the CIP's roster in the order it was imported; none
// before the first import.
func (s *Store) Operators(ctx context.Context) ([]tocsin.Operator, error) {
	var r cipRoster
	if _, err := s.getJSON(ctx, s.key("cip", "operators"), &r); err != nil {
		return nil, err
	}
	return r.Operators, nil
}

// ReplaceOperators makes operators the whole CIP roster, with its audit
// entries, in one transaction: all or nothing.
func (s *Store) ReplaceOperators(ctx context.Context, operators []tocsin.Operator, audit ...tocsin.AuditEntry) error {
	ops := append([]clientv3.Op{clientv3.OpPut(s.key("cip", "operators"), mustJSON(cipRoster{Operators: operators}))}, s.auditOps(audit)...)
	_, err := s.txn(ctx, nil, ops...)
	return err
}

// CIPCell returns the CIP cell of an activation, nil if none was opened.
func (s *Store) CIPCell(ctx context.Context, activation string) (*tocsin.CIPCell, error) {
	var c tocsin.CIPCell
	rev, err := s.getJSON(ctx, s.key("cip", "cells", activation), &c)
	if err != nil || rev == 0 {
		return nil, err
	}
	return &c, nil
}

// UpdateCIPCell changes an activation and its CIP cell together, by
// compare-and-swap on both: fn gets the activation and the cell (nil when
// none was opened; the cell fn returns is written, unless nil) and returns
// the events and the audit entries of the change, written in the same
// transaction. fn may run more than once; tocsin.ErrNoChange from fn
// writes nothing.
func (s *Store) UpdateCIPCell(ctx context.Context, activation string,
	fn func(a *tocsin.Activation, c *tocsin.CIPCell) (*tocsin.CIPCell, []tocsin.Event, []tocsin.AuditEntry, error)) (*tocsin.Activation, *tocsin.CIPCell, error) {
	ak, ck := s.key("act", activation), s.key("cip", "cells", activation)
	for range maxCASTries {
		a, arev, err := s.activation(ctx, activation)
		if err != nil {
			return nil, nil, err
		}
		var cur tocsin.CIPCell
		crev, err := s.getJSON(ctx, ck, &cur)
		if err != nil {
			return nil, nil, err
		}
		var c *tocsin.CIPCell
		if crev != 0 {
			c = &cur
		}
		before := mustJSON(a)
		changed, events, audit, err := fn(a, c)
		if err != nil {
			if errors.Is(err, ErrNoChange) {
				return a, c, nil
			}
			return nil, nil, err
		}
		c = changed
		// The activation is written only when fn changed it, so that its
		// watchers are not woken by every change of the cell.
		var ops []clientv3.Op
		if after := mustJSON(a); after != before {
			ops = append(ops, clientv3.OpPut(ak, after))
		}
		if c != nil {
			ops = append(ops, clientv3.OpPut(ck, mustJSON(c)))
		}
		for i := range events {
			ops = append(ops, s.eventOp(activation, &events[i]))
		}
		ops = append(ops, s.auditOps(audit)...)
		ok, err := s.txn(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(ak), "=", arev), clientv3.Compare(clientv3.ModRevision(ck), "=", crev)}, ops...)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			return a, c, nil
		}
	}
	return nil, nil, contention("update cip cell %s", activation)
}

// PublicMessage returns the public message in force, nil before the
// first.
func (s *Store) PublicMessage(ctx context.Context) (*tocsin.PublicMessage, error) {
	var m tocsin.PublicMessage
	rev, err := s.getJSON(ctx, s.key("cip", "message"), &m)
	if err != nil || rev == 0 {
		return nil, err
	}
	return &m, nil
}

// PublicMessages returns every version of the public message, oldest
// first.
func (s *Store) PublicMessages(ctx context.Context) ([]tocsin.PublicMessage, error) {
	var out []tocsin.PublicMessage
	err := s.listJSON(ctx, s.key("cip", "messages")+"/", func(_ string, data []byte) error {
		var m tocsin.PublicMessage
		if err := json.Unmarshal(data, &m); err != nil {
			return err
		}
		out = append(out, m)
		return nil
	})
	return out, err
}

// SetPublicMessage puts a new version of the public message in force,
// numbered after the one in force, kept with the others, with its audit
// entries, in one transaction. m's Version is set.
func (s *Store) SetPublicMessage(ctx context.Context, m *tocsin.PublicMessage, audit ...tocsin.AuditEntry) error {
	k := s.key("cip", "message")
	for range maxCASTries {
		var cur tocsin.PublicMessage
		rev, err := s.getJSON(ctx, k, &cur)
		if err != nil {
			return err
		}
		m.Version = cur.Version + 1
		v := mustJSON(m)
		ops := append([]clientv3.Op{clientv3.OpPut(k, v), clientv3.OpPut(s.key("cip", "messages", fmt.Sprintf("%06d", m.Version)), v)}, s.auditOps(audit)...)
		ok, err := s.txn(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(k), "=", rev)}, ops...)
		if err != nil || ok {
			return err
		}
	}
	return contention("set public message")
}

// LineCell returns the CIP cell the public line serves: the open one
// opened last, or else the one closed last; nil when none was opened.
func (s *Store) LineCell(ctx context.Context) (*tocsin.CIPCell, error) {
	var best *tocsin.CIPCell
	err := s.listJSON(ctx, s.key("cip", "cells")+"/", func(_ string, data []byte) error {
		var c tocsin.CIPCell
		if err := json.Unmarshal(data, &c); err != nil {
			return err
		}
		if best == nil || lineBefore(best, &c) {
			best = &c
		}
		return nil
	})
	return best, err
}

// lineBefore reports whether the line serves b rather than a.
func lineBefore(a, b *tocsin.CIPCell) bool {
	if (a.ClosedAt == nil) != (b.ClosedAt == nil) {
		return b.ClosedAt == nil
	}
	if a.ClosedAt != nil {
		return b.ClosedAt.After(*a.ClosedAt)
	}
	return b.OpenedAt.After(a.OpenedAt)
}

// RecordPublicCall writes a call to the public line of an activation's
// CIP, keyed by its SID: one key per call, so that calls arriving at once
// do not contend, and a webhook retried writes the same record again.
func (s *Store) RecordPublicCall(ctx context.Context, activation string, c tocsin.PublicCall) error {
	if _, err := s.cli.Put(ctx, s.key("cip", "calls", activation, c.SID), mustJSON(c)); err != nil {
		return unavailable(err)
	}
	return nil
}

// PublicCall returns a recorded call, nil if none.
func (s *Store) PublicCall(ctx context.Context, activation, sid string) (*tocsin.PublicCall, error) {
	var c tocsin.PublicCall
	rev, err := s.getJSON(ctx, s.key("cip", "calls", activation, sid), &c)
	if err != nil || rev == 0 {
		return nil, err
	}
	return &c, nil
}

// PublicCalls sums up the calls to the public line of an activation's
// CIP; a caller waiting unseen since lostBefore counts as unanswered.
func (s *Store) PublicCalls(ctx context.Context, activation string, lostBefore time.Time) (tocsin.PublicCalls, error) {
	var sum tocsin.PublicCalls
	err := s.listJSON(ctx, s.key("cip", "calls", activation)+"/", func(_ string, data []byte) error {
		var c tocsin.PublicCall
		if err := json.Unmarshal(data, &c); err != nil {
			return err
		}
		sum.Add(&c, lostBefore)
		return nil
	})
	return sum, err
}

// UpdatePublicCall changes the record of a call to the public line by
// compare-and-swap: fn gets the record (nil when none) and returns the
// one to write, or nil to write nothing. It reports whether a record was
// written, so that a webhook retried counts once. The index of the
// callers waiting (WaitingCalls) changes in the same transaction.
func (s *Store) UpdatePublicCall(ctx context.Context, activation, sid string, fn func(c *tocsin.PublicCall) *tocsin.PublicCall) (bool, error) {
	k := s.key("cip", "calls", activation, sid)
	for range maxCASTries {
		var cur tocsin.PublicCall
		rev, err := s.getJSON(ctx, k, &cur)
		if err != nil {
			return false, err
		}
		var c *tocsin.PublicCall
		if rev != 0 {
			c = &cur
		}
		waited := c != nil && c.Waiting()
		next := fn(c)
		if next == nil {
			return false, nil
		}
		ops := []clientv3.Op{clientv3.OpPut(k, mustJSON(next))}
		wk := s.key("cip", "waiting", activation, sid)
		switch {
		case next.Waiting():
			ops = append(ops, clientv3.OpPut(wk, next.SeenAt.UTC().Format(time.RFC3339Nano)))
		case waited:
			ops = append(ops, clientv3.OpDelete(wk))
		}
		ok, err := s.txn(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(k), "=", rev)}, ops...)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, contention("update public call %s", sid)
}

// WaitingCalls counts the callers waiting in the queue of an activation's
// public line, seen since seenSince: an index of them, with when each was
// last seen, is kept beside the calls' records (cip/waiting/), so that
// counting them does not read every call.
func (s *Store) WaitingCalls(ctx context.Context, activation string, seenSince time.Time) (int, error) {
	n := 0
	err := s.listJSON(ctx, s.key("cip", "waiting", activation)+"/", func(_ string, data []byte) error {
		if seen, err := time.Parse(time.RFC3339Nano, string(data)); err != nil || !seen.Before(seenSince) {
			n++ // an unreadable time counts: better one operator called too many
		}
		return nil
	})
	return n, err
}

// Desks returns the desks of an activation's CIP: one per operator the
// queue has called so far.
func (s *Store) Desks(ctx context.Context, activation string) ([]tocsin.Desk, error) {
	var ds []tocsin.Desk
	err := s.listJSON(ctx, s.key("cip", "desks", activation)+"/", func(_ string, data []byte) error {
		var d tocsin.Desk
		if err := json.Unmarshal(data, &d); err != nil {
			return err
		}
		ds = append(ds, d)
		return nil
	})
	return ds, err
}

// UpdateDesk changes an operator's desk by compare-and-swap: fn gets the
// desk (zero but for its operator when none) and reports whether to write
// it. It reports whether the desk was written.
func (s *Store) UpdateDesk(ctx context.Context, activation, operator string, fn func(d *tocsin.Desk) bool) (bool, error) {
	k := s.key("cip", "desks", activation, operator)
	for range maxCASTries {
		d := tocsin.Desk{Operator: operator}
		rev, err := s.getJSON(ctx, k, &d)
		if err != nil {
			return false, err
		}
		if !fn(&d) {
			return false, nil
		}
		ok, err := s.txn(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(k), "=", rev)}, clientv3.OpPut(k, mustJSON(d)))
		if err != nil || ok {
			return ok, err
		}
	}
	return false, contention("update desk %s", operator)
}
