package etcd

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// ReplaceOfficial changes one official of the directory in force, as a new
// version (the directory's versions never change once in force), with
// audit in the same switch; ENotFound when the directory has no such
// official.
func (s *Store) ReplaceOfficial(ctx context.Context, o tocsin.Official, audit ...tocsin.AuditEntry) error {
	officials, _, err := s.OfficialsVersion(ctx)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(officials, func(x tocsin.Official) bool { return x.ID == o.ID })
	if i < 0 {
		return tocsin.Errorf(tocsin.ENotFound, "aucun élu %q dans l'annuaire", o.ID)
	}
	officials[i] = o
	return s.ReplaceOfficials(ctx, officials, audit...)
}

// indexSize returns the shard count of an open activation's number
// index, 0 once it is closed.
func (s *Store) indexSize(ctx context.Context, activation string) (int, error) {
	resp, err := s.cli.Get(ctx, s.key("open", activation))
	if err != nil {
		return 0, unavailable(err)
	}
	if len(resp.Kvs) == 0 {
		return 0, nil
	}
	shards, err := strconv.Atoi(string(resp.Kvs[0].Value))
	if err != nil || shards < 1 {
		return 0, fmt.Errorf("%s: number index size %q unreadable", resp.Kvs[0].Key, resp.Kvs[0].Value)
	}
	return shards, nil
}

// IndexNumbers changes an open activation's number index: each number of
// add answers for official from now on, each of remove no longer does.
// Each shard changes by compare-and-swap.
func (s *Store) IndexNumbers(ctx context.Context, activation, official string, remove, add []string) error {
	shards, err := s.indexSize(ctx, activation)
	if err != nil || shards == 0 {
		return err // closed: replies no longer count
	}
	change := func(e164 string, fn func(ids []string) []string) error {
		key := s.key("num", activation, strconv.Itoa(numberShard(e164, shards)))
		for range maxCASTries {
			got, err := s.cli.Get(ctx, key)
			if err != nil {
				return unavailable(err)
			}
			index := map[string][]string{}
			var rev int64
			if len(got.Kvs) > 0 {
				if err := json.Unmarshal(got.Kvs[0].Value, &index); err != nil {
					return fmt.Errorf("decode %s: %w", key, err)
				}
				rev = got.Kvs[0].ModRevision
			}
			if ids := fn(index[e164]); len(ids) > 0 {
				index[e164] = ids
			} else {
				delete(index, e164)
			}
			ok, err := s.txn(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(key), "=", rev)}, clientv3.OpPut(key, mustJSON(index)))
			if err != nil || ok {
				return err
			}
		}
		return contention("number index of %s", activation)
	}
	for _, n := range add {
		err := change(n, func(ids []string) []string {
			if !slices.Contains(ids, official) {
				ids = append(ids, official)
			}
			return ids
		})
		if err != nil {
			return err
		}
	}
	for _, n := range remove {
		if slices.Contains(add, n) {
			continue
		}
		if err := change(n, func(ids []string) []string {
			return slices.DeleteFunc(ids, func(id string) bool { return id == official })
		}); err != nil {
			return err
		}
	}
	return nil
}
