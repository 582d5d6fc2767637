package etcd

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// ErrCompacted: the revision a watch should start from has been compacted
// away; the watcher must reload the state instead of catching up.
var ErrCompacted = errors.New("etcd: revision compacted")

// Change is one write to an activation, its recipients or its timeline,
// as WatchActivity reports it. At most one of Record, Recipient and Event
// is set: none when the watcher did not want that activation decoded.
type Change struct {
	Rev        int64 // the etcd revision of the write
	Activation string
	Record     *tocsin.Activation
	Recipient  *tocsin.Recipient
	Event      *tocsin.Event
	// Kind ("rcpt" or "evt") and Raw hold a change left undecoded.
	Kind string
	Raw  []byte
}

// KindCIP is the Kind of a Change to an activation's CIP (cip/cells/,
// cip/calls/, cip/desks/, in the watched range): it carries no record.
const KindCIP = "cip"

// Revision returns the store's current revision: everything read after it
// is at least that recent, so a watch from it misses nothing.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	resp, err := s.cli.Get(ctx, s.key("ping"), clientv3.WithCountOnly())
	if err != nil {
		return 0, unavailable(err)
	}
	return resp.Header.Revision, nil
}

// WatchActivity calls fn with the changes to activations (act/), recipients
// (rcpt/), timelines (evt/) and CIPs (KindCIP) made after revision after, in revision order,
// one call per batch that etcd sends, until ctx ends or the watch fails.
// With after 0 it starts from the current revision. It returns ErrCompacted
// when after is older than etcd's history.
//
// One watch covers the three prefixes, over the key range that holds them,
// so that the changes arrive in one revision order: a recipient and the
// events its change caused share a revision. Other keys in that range are
// skipped here.
//
// want, when not nil, says which activations' recipients and timelines to
// decode: the changes of the others come with their revision and
// activation only. Activation records are always decoded.
func (s *Store) WatchActivity(ctx context.Context, after int64, want func(activation string) bool, fn func(cs []Change)) error {
	if after == 0 {
		rev, err := s.Revision(ctx)
		if err != nil {
			return err
		}
		after = rev
	}
	start, end := s.key("act")+"/", s.key("rcpt")+"0" // "rcpt0" sorts right after every "rcpt/…"
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	wch := s.cli.Watch(ctx, start, clientv3.WithRange(end), clientv3.WithRev(after+1), clientv3.WithFilterDelete())
	for wr := range wch {
		if wr.CompactRevision != 0 || errors.Is(wr.Err(), rpctypes.ErrCompacted) {
			return ErrCompacted
		}
		if err := wr.Err(); err != nil {
			return unavailable(err)
		}
		var cs []Change
		for _, ev := range wr.Events {
			if c, ok := s.change(ev.Kv.Key, ev.Kv.Value, ev.Kv.ModRevision, want); ok {
				cs = append(cs, c)
			}
		}
		if len(cs) > 0 {
			fn(cs)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return unavailable(errors.New("watch closed"))
}

// change decodes a write under act/, rcpt/ or evt/; anything else in the
// watched range is not a change to an activation.
func (s *Store) change(key, value []byte, rev int64, want func(string) bool) (Change, bool) {
	rest, ok := strings.CutPrefix(string(key), s.prefix)
	if !ok {
		return Change{}, false
	}
	parts := strings.Split(rest, "/")
	c := Change{Rev: rev}
	var err error
	switch {
	case parts[0] == "act" && len(parts) == 2:
		c.Activation, c.Record = parts[1], new(tocsin.Activation)
		err = json.Unmarshal(value, c.Record)
	case (parts[0] == "rcpt" || parts[0] == "evt") && len(parts) == 3 && want != nil && !want(parts[1]):
		c.Activation, c.Kind, c.Raw = parts[1], parts[0], value // not wanted: not decoded
	case parts[0] == "rcpt" && len(parts) == 3:
		c.Activation, c.Recipient = parts[1], new(tocsin.Recipient)
		err = json.Unmarshal(value, c.Recipient)
	case parts[0] == "evt" && len(parts) == 3:
		c.Activation, c.Event = parts[1], new(tocsin.Event)
		err = json.Unmarshal(value, c.Event)
	case parts[0] == "cip" && len(parts) >= 3 && (parts[1] == "cells" || parts[1] == "calls" || parts[1] == "desks"):
		// The CIP of an activation changed: its cell, a call to its
		// public line, an operator's desk. Only that it changed is told.
		c.Activation, c.Kind = parts[2], KindCIP
	default:
		return Change{}, false
	}
	return c, err == nil
}
