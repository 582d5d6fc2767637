package etcd

import (
	"context"
	"errors"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Writes in several transactions (CreateActivation, ImportActivation,
// ReplaceOfficials) delete nothing when they fail: an outcome they cannot
// know may have made their data current. What they leave is unreachable —
// recipients, number index or events with no activation record, a
// directory version not in force — and the leader collects it here, once
// it is old enough that no write still in flight can make it current.

// Leftovers counts what CollectLeftovers deleted.
type Leftovers struct {
	Activations int // activation ids whose recipients, index or events went
	Versions    int // directory versions
}

// CollectLeftovers deletes what failed writes left, when none of its keys
// was written after revision upTo: under rcpt/, num/ and evt/, the data of
// an id that has no act/ record, each deleted in a transaction that
// compares that act/<id> still does not exist; under dir/v/, each version
// that is not in force, in a transaction that compares that dir/current
// has not changed since it was read. The current directory and the data of
// an existing activation are never deleted. On a leader's store every
// deletion is fenced.
func (s *Store) CollectLeftovers(ctx context.Context, upTo int64) (Leftovers, error) {
	var got Leftovers
	prefix := s.key("act") + "/"
	acts, err := s.cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return got, unavailable(err)
	}
	has := make(map[string]bool, len(acts.Kvs))
	for _, kv := range acts.Kvs {
		has[strings.TrimPrefix(string(kv.Key), prefix)] = true
	}
	done := map[string]bool{}
	for _, kind := range []string{"rcpt", "num", "evt"} {
		err := s.children(ctx, s.key(kind)+"/", func(id string) error {
			if has[id] || done[id] {
				return nil
			}
			done[id] = true
			ok, err := s.collectActivation(ctx, id, upTo)
			if ok {
				got.Activations++
			}
			return err
		})
		if err != nil {
			return got, err
		}
	}
	n, err := s.collectVersions(ctx, upTo)
	got.Versions = n
	return got, err
}

// collectActivation deletes what lies under rcpt/<id>/, num/<id>/ and
// evt/<id>/ if none of it was written after upTo and act/<id> does not
// exist.
func (s *Store) collectActivation(ctx context.Context, id string, upTo int64) (bool, error) {
	var dels []clientv3.Op
	for _, kind := range []string{"rcpt", "num", "evt"} {
		p := s.key(kind, id) + "/"
		if young, err := s.writtenAfter(ctx, p, upTo); err != nil || young {
			return false, err
		}
		dels = append(dels, clientv3.OpDelete(p, clientv3.WithPrefix()))
	}
	return s.txn(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(s.key("act", id)), "=", 0)}, dels...)
}

// collectVersions deletes the directory versions not in force that were
// not written after upTo.
func (s *Store) collectVersions(ctx context.Context, upTo int64) (int, error) {
	ck := s.key("dir", "current")
	cur, err := s.cli.Get(ctx, ck)
	if err != nil {
		return 0, unavailable(err)
	}
	current, rev := "", int64(0)
	if len(cur.Kvs) > 0 {
		current, rev = string(cur.Kvs[0].Value), cur.Kvs[0].ModRevision
	}
	// A creation in progress draws its audience from a version: kept until
	// it ends. One that starts after this read moves mk/, and the compare
	// below then stops the deletion.
	creating, err := s.creatingFrom(ctx)
	if err != nil {
		return 0, err
	}
	mkRev := int64(0)
	if resp, err := s.cli.Get(ctx, s.key("mk")+"/", clientv3.WithPrefix(), clientv3.WithCountOnly()); err != nil {
		return 0, unavailable(err)
	} else {
		mkRev = resp.Header.Revision
	}
	n := 0
	err = s.children(ctx, s.key("dir", "v")+"/", func(version string) error {
		if version == current || creating[version] {
			return nil
		}
		p := s.key("dir", "v", version) + "/"
		if young, err := s.writtenAfter(ctx, p, upTo); err != nil || young {
			return err
		}
		ok, err := s.txn(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(ck), "=", rev),
			clientv3.Compare(clientv3.ModRevision(s.key("mk")+"/"), "<", mkRev+1).WithPrefix()},
			clientv3.OpDelete(p, clientv3.WithPrefix()))
		if err != nil {
			return err
		}
		if !ok {
			return errStopCollect // an import switched meanwhile: next time
		}
		n++
		return nil
	})
	if errors.Is(err, errStopCollect) {
		err = nil
	}
	return n, err
}

// errStopCollect ends a walk of children early, without an error.
var errStopCollect = errors.New("stop collecting")

// writtenAfter reports whether a key under prefix was written after rev:
// whether the last written one was. (etcd counts before it filters by
// revision, and limits before it filters: neither answers this.)
func (s *Store) writtenAfter(ctx context.Context, prefix string, rev int64) (bool, error) {
	resp, err := s.cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly(),
		clientv3.WithSort(clientv3.SortByModRevision, clientv3.SortDescend), clientv3.WithLimit(1))
	if err != nil {
		return false, unavailable(err)
	}
	return len(resp.Kvs) > 0 && resp.Kvs[0].ModRevision > rev, nil
}

// children calls fn with the distinct first path segments of the keys
// under prefix, in order, until fn fails. It reads one key per segment,
// jumping over the rest of each, so that a prefix of many keys (every
// recipient of every activation) costs one small read per segment.
func (s *Store) children(ctx context.Context, prefix string, fn func(child string) error) error {
	end := clientv3.GetPrefixRangeEnd(prefix)
	from := prefix
	for {
		resp, err := s.cli.Get(ctx, from, clientv3.WithRange(end), clientv3.WithLimit(1), clientv3.WithKeysOnly())
		if err != nil {
			return unavailable(err)
		}
		if len(resp.Kvs) == 0 {
			return nil
		}
		child, _, _ := strings.Cut(strings.TrimPrefix(string(resp.Kvs[0].Key), prefix), "/")
		if err := fn(child); err != nil {
			return err
		}
		from = clientv3.GetPrefixRangeEnd(prefix + child + "/")
	}
}
