package etcd

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// RecipientsFollower reads the recipients of activations again and again
// at the cost of what changed: the first read of an activation takes
// every recipient, the next ones only those written since the last
// (etcd's min-mod-revision filter), so that a periodic reader
// (reconciliation each minute, /metrics at each scrape) does not decode
// 35,000 recipients each time. It holds the recipients it read: Forget
// what is no longer read.
type RecipientsFollower struct {
	s  *Store
	mu sync.Mutex
	// acts are the activations followed, by id.
	acts map[string]*followed
}

// followed is what a follower holds of one activation: its recipients
// sorted by official id, their index by key, and the revision they were
// read at.
type followed struct {
	rev   int64
	rs    []tocsin.Recipient
	byKey map[string]int
}

// FollowRecipients returns a follower of s's recipients.
func (s *Store) FollowRecipients() *RecipientsFollower {
	return &RecipientsFollower{s: s, acts: map[string]*followed{}}
}

// Recipients returns an activation's recipients as they stand now, like
// Store.Recipients, sorted by official id. The slice is the caller's; the
// recipients' own slices (attempts, numbers) are shared with the
// follower and must not be changed.
func (f *RecipientsFollower) Recipients(ctx context.Context, id string) ([]tocsin.Recipient, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fw := f.acts[id]
	if fw == nil {
		rs, rev, err := f.s.RecipientsRev(ctx, id)
		if err != nil {
			return nil, err
		}
		fw = &followed{rev: rev, rs: rs, byKey: make(map[string]int, len(rs))}
		for i := range rs {
			fw.byKey[rs[i].Official.ID] = i
		}
		f.acts[id] = fw
		return slices.Clone(fw.rs), nil
	}
	prefix := f.s.key("rcpt", id) + "/"
	resp, err := f.s.cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithMinModRev(fw.rev+1))
	if err != nil {
		return nil, unavailable(err)
	}
	added := false
	for _, kv := range resp.Kvs {
		var r tocsin.Recipient
		if err := json.Unmarshal(kv.Value, &r); err != nil {
			return nil, fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		// Callers have copies: the follower's own slice changes in place.
		official := strings.TrimPrefix(string(kv.Key), prefix)
		if i, ok := fw.byKey[official]; ok {
			fw.rs[i] = r
			continue
		}
		// Written by a creation in parts since the last read.
		fw.rs = append(fw.rs, r)
		fw.byKey[official] = len(fw.rs) - 1
		added = true
	}
	if added && !slices.IsSortedFunc(fw.rs, byOfficialID) {
		slices.SortFunc(fw.rs, byOfficialID)
		for i := range fw.rs {
			fw.byKey[fw.rs[i].Official.ID] = i
		}
	}
	fw.rev = resp.Header.Revision
	return slices.Clone(fw.rs), nil
}

func byOfficialID(x, y tocsin.Recipient) int { return strings.Compare(x.Official.ID, y.Official.ID) }

// Forget drops every activation keep does not name: those no longer
// read (closed) take no memory.
func (f *RecipientsFollower) Forget(keep func(id string) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id := range f.acts {
		if !keep(id) {
			delete(f.acts, id)
		}
	}
}
