package etcd

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Officials returns the directory in force, sorted by id.
func (s *Store) Officials(ctx context.Context) ([]tocsin.Official, error) {
	resp, err := s.cli.Get(ctx, s.key("dir", "current"))
	if err != nil {
		return nil, unavailable(err)
	}
	if len(resp.Kvs) == 0 {
		return nil, nil
	}
	version := string(resp.Kvs[0].Value)
	// A version never changes once in force: the one read last is kept
	// decoded, and every activation of it starts without reading it all.
	c := s.directory
	c.mu.Lock()
	if c.version == version {
		out := slices.Clone(c.officials)
		c.mu.Unlock()
		return out, nil
	}
	c.mu.Unlock()
	var out []tocsin.Official
	err = s.listJSON(ctx, s.key("dir", "v", version)+"/", func(_ string, data []byte) error {
		var o tocsin.Official
		if err := json.Unmarshal(data, &o); err != nil {
			return err
		}
		out = append(out, o)
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.version, c.officials = version, out
	c.mu.Unlock()
	return slices.Clone(out), nil
}

// directoryCache holds the directory version in force, decoded.
type directoryCache struct {
	mu        sync.Mutex
	version   string
	officials []tocsin.Official
}

// ReplaceOfficials makes officials the whole directory, all or nothing: the
// new version is written aside and switched in by one operation, so readers
// never see a mix, and a failure leaves the old directory in force.
func (s *Store) ReplaceOfficials(ctx context.Context, officials []tocsin.Official) error {
	cur, err := s.cli.Get(ctx, s.key("dir", "current"))
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
		s.cli.Delete(context.WithoutCancel(ctx), base, clientv3.WithPrefix())
		return fmt.Errorf("write directory: %w", err)
	}
	cmp := clientv3.Compare(clientv3.CreateRevision(s.key("dir", "current")), "=", 0)
	var old string
	if len(cur.Kvs) > 0 {
		cmp = clientv3.Compare(clientv3.ModRevision(s.key("dir", "current")), "=", cur.Kvs[0].ModRevision)
		old = string(cur.Kvs[0].Value)
	}
	ok, err := s.txn(ctx, []clientv3.Cmp{cmp}, clientv3.OpPut(s.key("dir", "current"), version))
	if err != nil || !ok {
		s.cli.Delete(context.WithoutCancel(ctx), base, clientv3.WithPrefix())
		if err == nil {
			err = tocsin.Errorf(tocsin.EConflict, "l'annuaire a été modifié entre-temps ; recommencez l'import")
		}
		return err
	}
	c := s.directory
	c.mu.Lock()
	c.version, c.officials = version, slices.Clone(officials)
	slices.SortFunc(c.officials, func(x, y tocsin.Official) int { return strings.Compare(x.ID, y.ID) })
	c.mu.Unlock()
	if old != "" {
		// The old version is unreachable now; a failure here only leaves garbage.
		s.cli.Delete(ctx, s.key("dir", "v", old)+"/", clientv3.WithPrefix())
	}
	return nil
}
