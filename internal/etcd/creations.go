package etcd

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
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

// indexBatch bounds the shards of the number index one transaction of
// IndexCreation puts: about 150 kB, under etcd's limit of 128 operations.
const indexBatch = 64

// IndexCreation adds the numbers of rs, the recipients an activation's
// creation has still to write, to its number index, then sets the
// progress to next if it is still at revision rev (EConflict otherwise).
// It is called before the second part is written, so that whoever is
// sent to can answer.
//
// Each shard changes by union, under compare-and-swap: a number a duty
// officer fixed meanwhile on a recipient already written stays as fixed
// (rs holds none of them), and a creation indexed twice, because its
// replica died in between, is indexed once.
func (s *Store) IndexCreation(ctx context.Context, id string, rev int64, rs []tocsin.Recipient, next *tocsin.Creation) (int64, error) {
	if err := s.indexNumbers(ctx, id, rs); err != nil {
		return 0, err
	}
	mk := s.key("mk", id)
	resp, ok, err := s.txnElse(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(mk), "=", rev)},
		[]clientv3.Op{clientv3.OpPut(mk, mustJSON(next))}, nil)
	switch {
	case err != nil:
		return 0, err
	case !ok:
		return 0, tocsin.Errorf(tocsin.EConflict, "activation %s : une autre réplique écrit déjà ses destinataires", id)
	}
	return resp.Header.Revision, nil
}

// indexNumbers merges the numbers of rs into an open activation's number
// index, a batch of shards at a time; a batch some other writer changed
// meanwhile is read and merged again.
func (s *Store) indexNumbers(ctx context.Context, id string, rs []tocsin.Recipient) error {
	shards, err := s.indexSize(ctx, id)
	if err != nil || shards == 0 {
		return err // closed: replies no longer count
	}
	add := numberIndex(rs, shards)
	var todo []int
	for i, sh := range add {
		if len(sh) > 0 {
			todo = append(todo, i)
		}
	}
	for len(todo) > 0 {
		batch := todo[:min(len(todo), indexBatch)]
		merged := false
		for range maxCASTries {
			ok, err := s.mergeShards(ctx, id, batch, add)
			if err != nil {
				return err
			}
			if merged = ok; merged {
				break
			}
		}
		if !merged {
			return contention("number index of %s", id)
		}
		todo = todo[len(batch):]
	}
	return nil
}

// mergeShards reads the shards of an activation's number index listed in
// batch, adds to each what add holds for it, and writes those that
// changed if none changed meanwhile; it reports whether it wrote.
func (s *Store) mergeShards(ctx context.Context, id string, batch []int, add []map[string][]string) (bool, error) {
	keys := make([]string, len(batch))
	for j, i := range batch {
		keys[j] = s.key("num", id, strconv.Itoa(i))
	}
	got, err := s.combinedGet(ctx, keys...)
	if err != nil {
		return false, err
	}
	var cmps []clientv3.Cmp
	var ops []clientv3.Op
	for j, i := range batch {
		index := map[string][]string{}
		var rev int64
		if kvs := got[j].Kvs; len(kvs) > 0 {
			if err := json.Unmarshal(kvs[0].Value, &index); err != nil {
				return false, fmt.Errorf("decode %s: %w", keys[j], err)
			}
			rev = kvs[0].ModRevision
		}
		changed := false
		for n, ids := range add[i] {
			for _, o := range ids {
				if !slices.Contains(index[n], o) {
					index[n] = append(index[n], o)
					changed = true
				}
			}
		}
		if changed {
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(keys[j]), "=", rev))
			ops = append(ops, clientv3.OpPut(keys[j], mustJSON(index)))
		}
	}
	if len(ops) == 0 {
		return true, nil
	}
	return s.txn(ctx, cmps, ops...)
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
