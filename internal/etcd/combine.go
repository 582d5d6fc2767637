package etcd

import (
	"context"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Writes made at the same moment by many goroutines (dispatch workers,
// status callbacks) are combined into one etcd transaction: etcd's cost is
// mostly per transaction (a raft entry, an apply, a round trip), not per
// key. Each write keeps its own compares: the combined transaction holds
// all of them, and when one fails the writes are tried again one by one,
// so that each gets its own answer. A write never waits for a timer: the
// first writer to find a free slot sends what is queued at once, and the
// writes that come while transactions are in flight form the next one.

const (
	// combineSlots is how many combined transactions may be in flight.
	combineSlots = 4
	// combineMaxWrites bounds a combined transaction under etcd's default
	// limit of 128 operations and 128 compares.
	combineMaxOps = 120
	// combineTimeout bounds a combined transaction: its writers may have
	// given up waiting, and it must not hang on a lost quorum forever.
	combineTimeout = 10 * time.Second
)

// combiner queues the writes of one store (one fence).
type combiner struct {
	mu      sync.Mutex
	pending []*write
	slots   int
}

// write is one compare-and-swap: its compares, its operations, and the
// key it puts first (two writes to one key cannot share a transaction).
type write struct {
	key  string
	cmps []clientv3.Cmp
	ops  []clientv3.Op
	done chan writeResult
}

type writeResult struct {
	rev int64
	ok  bool
	err error
}

// combinedTxn runs one compare-and-swap through the combiner and reports,
// like txnAt, the revision written, whether the compares held, and
// ErrNotLeader when the fence did not. When ctx ends first, the write may
// still happen, as with any etcd request cut short.
func (s *Store) combinedTxn(ctx context.Context, key string, cmps []clientv3.Cmp, ops ...clientv3.Op) (int64, bool, error) {
	w := &write{key: key, cmps: cmps, ops: ops, done: make(chan writeResult, 1)}
	c := s.combine
	c.mu.Lock()
	c.pending = append(c.pending, w)
	flush := c.slots < combineSlots
	if flush {
		c.slots++
	}
	c.mu.Unlock()
	if flush {
		s.flushWrites()
	}
	select {
	case r := <-w.done:
		return r.rev, r.ok, r.err
	case <-ctx.Done():
		return 0, false, unavailable(ctx.Err())
	}
}

// flushWrites sends what is queued, batch after batch, until the queue is
// empty; then it gives its slot back.
func (s *Store) flushWrites() {
	c := s.combine
	for {
		c.mu.Lock()
		batch := c.take()
		if len(batch) == 0 {
			c.slots--
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		s.commitWrites(batch)
	}
}

// take removes from the queue the writes of the next transaction: within
// etcd's limits, one write per key, in the order they came.
func (c *combiner) take() []*write {
	var batch, rest []*write
	keys := map[string]bool{}
	ops, cmps := 0, 1 // the fence
	for i, w := range c.pending {
		if ops+len(w.ops) > combineMaxOps || cmps+len(w.cmps) > combineMaxOps {
			rest = append(rest, c.pending[i:]...)
			break
		}
		if keys[w.key] {
			rest = append(rest, w)
			continue
		}
		keys[w.key] = true
		ops += len(w.ops)
		cmps += len(w.cmps)
		batch = append(batch, w)
	}
	c.pending = rest
	return batch
}

// commitWrites runs a batch in one transaction; when its compares do not
// all hold, each write runs alone to get its own answer.
func (s *Store) commitWrites(batch []*write) {
	ctx, cancel := context.WithTimeout(context.Background(), combineTimeout)
	defer cancel()
	if len(batch) == 1 {
		w := batch[0]
		rev, ok, err := s.txnAt(ctx, w.cmps, w.ops...)
		w.done <- writeResult{rev, ok, err}
		return
	}
	var cmps []clientv3.Cmp
	var ops []clientv3.Op
	for _, w := range batch {
		cmps = append(cmps, w.cmps...)
		ops = append(ops, w.ops...)
	}
	rev, ok, err := s.txnAt(ctx, cmps, ops...)
	if ok || err != nil {
		for _, w := range batch {
			w.done <- writeResult{rev, ok, err}
		}
		return
	}
	for _, w := range batch {
		rev, ok, err := s.txnAt(ctx, w.cmps, w.ops...)
		w.done <- writeResult{rev, ok, err}
	}
}
