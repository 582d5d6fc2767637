package etcd

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Officials returns the directory in force, sorted by id.
func (s *Store) Officials(ctx context.Context) ([]tocsin.Official, error) {
	out, _, err := s.OfficialsVersion(ctx)
	return out, err
}

// OfficialsVersion returns the directory in force, by id, and its
// version ("" for an empty directory).
func (s *Store) OfficialsVersion(ctx context.Context) ([]tocsin.Official, string, error) {
	resp, err := s.cli.Get(ctx, s.key("dir", "current"))
	if err != nil {
		return nil, "", unavailable(err)
	}
	if len(resp.Kvs) == 0 {
		return nil, "", nil
	}
	version := string(resp.Kvs[0].Value)
	// A version never changes once in force: the one read last is kept
	// decoded, and every activation of it starts without reading it all.
	c := s.directory
	c.mu.Lock()
	if c.version == version {
		out := slices.Clone(c.officials)
		c.mu.Unlock()
		return out, version, nil
	}
	c.mu.Unlock()
	out, err := s.readVersion(ctx, version)
	if err != nil {
		return nil, "", err
	}
	c.mu.Lock()
	c.version, c.officials = version, out
	c.mu.Unlock()
	return slices.Clone(out), version, nil
}

// readVersion reads one version of the directory, by id.
func (s *Store) readVersion(ctx context.Context, version string) ([]tocsin.Official, error) {
	var out []tocsin.Official
	err := s.listJSON(ctx, s.key("dir", "v", version)+"/", func(_ string, data []byte) error {
		var o tocsin.Official
		if err := json.Unmarshal(data, &o); err != nil {
			return err
		}
		out = append(out, o)
		return nil
	})
	return out, err
}

// directoryCache holds the directory version in force, decoded.
type directoryCache struct {
	mu        sync.Mutex
	version   string
	officials []tocsin.Official
}

// ReplaceOfficials makes officials the whole directory, all or nothing: the
// new version is written aside and switched in by one operation, with
// audit in the outbox, so readers never see a mix, and a failure leaves
// the old directory in force.
//
// A version that was not switched in is deleted only when the switch is
// known to have failed (its compare did not hold); after a failure of
// unknown outcome it stays, and the leader collects it later if it is not
// the one in force (leftovers.go).
func (s *Store) ReplaceOfficials(ctx context.Context, officials []tocsin.Official, audit ...tocsin.AuditEntry) error {
	ck := s.key("dir", "current")
	cur, err := s.cli.Get(ctx, ck)
	if err != nil {
		return unavailable(err)
	}
	// The version is unique even for two imports at one instant: a
	// version equal to the one in force would be deleted as the old one.
	var salt [4]byte
	rand.Read(salt[:])
	version := fmt.Sprintf("%019d-%x", s.now().UnixNano(), salt)
	base := s.key("dir", "v", version) + "/"
	ops := make([]clientv3.Op, 0, len(officials))
	sizes := make([]int, 0, len(officials))
	for i := range officials {
		v := mustJSON(&officials[i])
		ops = append(ops, clientv3.OpPut(base+officials[i].ID, v))
		sizes = append(sizes, len(v)+len(base)+len(officials[i].ID))
	}
	if err := s.batches(ctx, ops, sizes); err != nil {
		return fmt.Errorf("write directory: %w", err)
	}
	cmps := []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(ck), "=", 0)}
	var old string
	if len(cur.Kvs) > 0 {
		cmps[0] = clientv3.Compare(clientv3.ModRevision(ck), "=", cur.Kvs[0].ModRevision)
		old = string(cur.Kvs[0].Value)
	}
	if len(officials) > 0 {
		// One official stands for the version: gone means the collector
		// took it for a leftover.
		cmps = append(cmps, exists(base+officials[0].ID))
	}
	resp, ok, err := s.txnElse(ctx, cmps, append([]clientv3.Op{clientv3.OpPut(ck, version)}, s.auditOps(audit)...),
		[]clientv3.Op{clientv3.OpGet(ck)})
	if err != nil {
		return err // outcome unknown: the version may be in force
	}
	if !ok {
		return s.notSwitched(ctx, version, cur.Kvs, resp.Responses[0].GetResponseRange().Kvs)
	}
	c := s.directory
	c.mu.Lock()
	c.version, c.officials = version, slices.Clone(officials)
	slices.SortFunc(c.officials, func(x, y tocsin.Official) int { return strings.Compare(x.ID, y.ID) })
	c.mu.Unlock()
	if old != "" {
		// The old version is unreachable now, unless a creation in
		// progress draws from it; a failure here only leaves garbage,
		// which the leader collects.
		if creating, err := s.creatingFrom(ctx); err == nil && !creating[old] {
			s.cli.Delete(ctx, s.key("dir", "v", old)+"/", clientv3.WithPrefix())
		}
	}
	return nil
}

// notSwitched answers a directory switch whose compares failed, from
// dir/current as it stood then (now) and before the import (before). An
// earlier try that put version in force is a success; otherwise the
// version is deleted, only while dir/current stays as it is.
func (s *Store) notSwitched(ctx context.Context, version string, before, now []*mvccpb.KeyValue) error {
	if len(now) > 0 && string(now[0].Value) == version {
		return nil
	}
	var rev int64
	if len(now) > 0 {
		rev = now[0].ModRevision
	}
	s.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(s.key("dir", "current")), "=", rev)).
		Then(clientv3.OpDelete(s.key("dir", "v", version)+"/", clientv3.WithPrefix())).Commit() // or the collector will
	var was int64
	if len(before) > 0 {
		was = before[0].ModRevision
	}
	if rev == was {
		return unavailable(fmt.Errorf("directory version %s was collected as a leftover before it was switched in", version))
	}
	return tocsin.Errorf(tocsin.EConflict, "l'annuaire a été modifié entre-temps ; recommencez l'import")
}

// FollowDirectory decodes the directory in force, then again each time it
// changes, on whichever replica imported it, so that an activation never
// waits for tens of thousands of officials to be read and decoded. It
// runs until ctx ends or the watch fails.
func (s *Store) FollowDirectory(ctx context.Context) error {
	resp, err := s.cli.Get(ctx, s.key("dir", "current"))
	if err != nil {
		return unavailable(err)
	}
	if _, _, err := s.OfficialsVersion(ctx); err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	for wr := range s.cli.Watch(wctx, s.key("dir", "current"), clientv3.WithRev(resp.Header.Revision+1)) {
		if err := wr.Err(); err != nil {
			return unavailable(err)
		}
		if len(wr.Events) > 0 {
			if _, _, err := s.OfficialsVersion(ctx); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}
