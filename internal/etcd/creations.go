package etcd

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// A large activation is recorded with its first recipients and a creation
// in progress (mk/<id>, a tocsin.Creation): the rest of its recipients are
// written in parts, in the order of the officials' ids, each part in one
// transaction with the creation's progress, by compare-and-swap on it, so
// that two replicas finishing the same creation never write a part twice.
// The last part deletes mk/<id>: an activation without it is whole.

// Creation returns an activation's creation in progress and its mod
// revision; nil and 0 once every recipient is written.
func (s *Store) Creation(ctx context.Context, id string) (*tocsin.Creation, int64, error) {
	var c tocsin.Creation
	rev, err := s.getJSON(ctx, s.key("mk", id), &c)
	if err != nil || rev == 0 {
		return nil, 0, err
	}
	return &c, rev, nil
}

// Creations returns the ids of the activations whose recipients are still
// being written, with the mod revision of each one's progress.
func (s *Store) Creations(ctx context.Context) (map[string]int64, error) {
	prefix := s.key("mk") + "/"
	resp, err := s.cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, unavailable(err)
	}
	out := make(map[string]int64, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		out[strings.TrimPrefix(string(kv.Key), prefix)] = kv.ModRevision
	}
	return out, nil
}

// WriteCreation writes the next part of an activation's recipients, rs
// (those after the creation's Last, in order), if its progress is still
// at revision rev, and sets the progress to next; next nil ends the
// creation. It returns the new revision of the progress, or EConflict
// when another replica moved it first.
func (s *Store) WriteCreation(ctx context.Context, id string, rev int64, rs []tocsin.Recipient, next *tocsin.Creation) (int64, error) {
	mk := s.key("mk", id)
	ops := make([]clientv3.Op, 0, len(rs)+1)
	for i := range rs {
		ops = append(ops, clientv3.OpPut(s.key("rcpt", id, rs[i].Official.ID), mustJSON(&rs[i])))
	}
	if next != nil {
		ops = append(ops, clientv3.OpPut(mk, mustJSON(next)))
	} else {
		ops = append(ops, clientv3.OpDelete(mk))
	}
	resp, ok, err := s.txnElse(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(mk), "=", rev)}, ops, nil)
	switch {
	case err != nil:
		return 0, err
	case !ok:
		return 0, tocsin.Errorf(tocsin.EConflict, "activation %s : une autre réplique écrit déjà ses destinataires", id)
	case next == nil:
		return 0, nil
	}
	return resp.Header.Revision, nil
}

// WaitCreation returns once an activation's creation progress has moved
// past revision rev (or ended), or ctx ends.
func (s *Store) WaitCreation(ctx context.Context, id string, rev int64) error {
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	for resp := range s.cli.Watch(ctx, s.key("mk", id), clientv3.WithRev(rev+1)) {
		if err := resp.Err(); err != nil {
			if resp.CompactRevision > 0 {
				return nil // moved on long ago: the caller reads it again
			}
			return unavailable(err)
		}
		if len(resp.Events) > 0 {
			return nil
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return unavailable(fmt.Errorf("watch of activation %s's creation ended", id))
}

// OfficialsOf returns the officials of one version of the directory, by
// id; ENotFound when that version is gone.
func (s *Store) OfficialsOf(ctx context.Context, version string) ([]tocsin.Official, error) {
	c := s.directory
	c.mu.Lock()
	if c.version == version {
		out := slices.Clone(c.officials)
		c.mu.Unlock()
		return out, nil
	}
	c.mu.Unlock()
	out, err := s.readVersion(ctx, version)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, tocsin.Errorf(tocsin.ENotFound, "la version %s de l'annuaire n'existe plus", version)
	}
	return out, nil
}

// creatingFrom returns the directory versions that creations in progress
// draw their audience from: they are kept until those creations end.
func (s *Store) creatingFrom(ctx context.Context) (map[string]bool, error) {
	resp, err := s.cli.Get(ctx, s.key("mk")+"/", clientv3.WithPrefix())
	if err != nil {
		return nil, unavailable(err)
	}
	out := map[string]bool{}
	for _, kv := range resp.Kvs {
		var c tocsin.Creation
		if err := json.Unmarshal(kv.Value, &c); err != nil {
			return nil, fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		out[c.Directory] = true
	}
	return out, nil
}
