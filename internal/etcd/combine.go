package etcd

import (
	"context"
	"sync"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Requests made at the same moment by many goroutines (dispatch workers,
// status callbacks) share etcd transactions: etcd's cost is mostly per
// request (a round trip, a raft entry and an apply for a write, a quorum
// check for a read), not per key. A request never waits for a timer: the
// first one to find a free slot sends what is queued at once, and the
// requests that come while transactions are in flight form the next one.
//
// Writes keep their own compares: the combined transaction holds all of
// them, and when one fails each write runs again alone, so that each gets
// its own answer. Reads are linearizable gets, answered from one
// transaction at one revision.

const (
	// combineSlots is how many combined transactions of a kind may be in
	// flight at once.
	combineSlots = 4
	// combineMaxOps bounds a combined transaction under etcd's default
	// limit of 128 operations and 128 compares.
	combineMaxOps = 120
	// combineTimeout bounds a combined transaction: its requesters may have
	// given up waiting, and it must not hang on a lost quorum forever.
	combineTimeout = 10 * time.Second
)

// combiner queues the requests of one kind (reads, or writes under one
// fence) and commits them in batches.
type combiner struct {
	mu      sync.Mutex
	pending []*request
	slots   int
	commit  func(batch []*request)
}

// request is one compare-and-swap (compares, puts, and the key it puts:
// two writes to one key cannot share a transaction) or one read (gets).
// A write may also require that a key exists (its activation still open):
// writes sharing that guard share its compare.
type request struct {
	key   string
	guard string
	cmps  []clientv3.Cmp
	ops   []clientv3.Op
	done  chan requestResult
}

// compares returns the request's compares with its guard's.
func (r *request) compares() []clientv3.Cmp {
	if r.guard == "" {
		return r.cmps
	}
	return append(r.cmps[:len(r.cmps):len(r.cmps)], exists(r.guard))
}

// exists compares that key is present.
func exists(key string) clientv3.Cmp { return clientv3.Compare(clientv3.CreateRevision(key), ">", 0) }

type requestResult struct {
	rev    int64
	ok     bool
	err    error
	ranges []*pb.RangeResponse // a read's answers, one per get
}

func newCombiner(commit func(batch []*request)) *combiner {
	return &combiner{commit: commit}
}

// do queues r and waits for its answer. When ctx ends first, the request
// may still be carried out, as with any etcd request cut short.
func (c *combiner) do(ctx context.Context, r *request) (requestResult, error) {
	r.done = make(chan requestResult, 1)
	c.mu.Lock()
	c.pending = append(c.pending, r)
	flush := c.slots < combineSlots
	if flush {
		c.slots++
	}
	c.mu.Unlock()
	if flush {
		c.flush()
	}
	select {
	case res := <-r.done:
		return res, res.err
	case <-ctx.Done():
		return requestResult{}, unavailable(ctx.Err())
	}
}

// flush commits what is queued, batch after batch, until the queue is
// empty; then it gives its slot back.
func (c *combiner) flush() {
	for {
		c.mu.Lock()
		batch := c.take()
		if len(batch) == 0 {
			c.slots--
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		c.commit(batch)
	}
}

// take removes from the queue the requests of the next transaction: within
// etcd's limits, one write per key, in the order they came.
func (c *combiner) take() []*request {
	var batch, rest []*request
	keys := map[string]bool{}
	ops, cmps := 0, 1 // the fence
	for i, r := range c.pending {
		if len(batch) > 0 && (ops+len(r.ops) > combineMaxOps || cmps+len(r.cmps)+1 > combineMaxOps) {
			rest = append(rest, c.pending[i:]...)
			break
		}
		if r.key != "" && keys[r.key] {
			rest = append(rest, r)
			continue
		}
		keys[r.key] = true
		ops += len(r.ops)
		cmps += len(r.cmps) + 1 // and its guard, at most
		batch = append(batch, r)
	}
	c.pending = rest
	return batch
}

// combinedTxn runs one compare-and-swap through the store's write
// combiner and reports, like txnAt, the revision written, whether the
// compares held (and guard, when not empty, exists), and ErrNotLeader
// when the fence did not.
func (s *Store) combinedTxn(ctx context.Context, key, guard string, cmps []clientv3.Cmp, ops ...clientv3.Op) (int64, bool, error) {
	res, err := s.writes.do(ctx, &request{key: key, guard: guard, cmps: cmps, ops: ops})
	return res.rev, res.ok, err
}

// commitWrites runs a batch of writes in one transaction; when its
// compares do not all hold, each write runs alone to get its own answer.
func (s *Store) commitWrites(batch []*request) {
	ctx, cancel := context.WithTimeout(context.Background(), combineTimeout)
	defer cancel()
	alone := func(r *request) {
		rev, ok, err := s.txnAt(ctx, r.compares(), r.ops...)
		r.done <- requestResult{rev: rev, ok: ok, err: err}
	}
	if len(batch) == 1 {
		alone(batch[0])
		return
	}
	var cmps []clientv3.Cmp
	var ops []clientv3.Op
	guards := map[string]bool{}
	for _, r := range batch {
		cmps = append(cmps, r.cmps...)
		if r.guard != "" && !guards[r.guard] {
			guards[r.guard] = true
			cmps = append(cmps, exists(r.guard))
		}
		ops = append(ops, r.ops...)
	}
	rev, ok, err := s.txnAt(ctx, cmps, ops...)
	if ok || err != nil {
		for _, r := range batch {
			r.done <- requestResult{rev: rev, ok: ok, err: err}
		}
		return
	}
	for _, r := range batch {
		alone(r)
	}
}

// combinedGet reads keys at one revision through the store's read
// combiner, linearizably, and returns etcd's answer for each.
func (s *Store) combinedGet(ctx context.Context, keys ...string) ([]*pb.RangeResponse, error) {
	ops := make([]clientv3.Op, len(keys))
	for i, k := range keys {
		ops[i] = clientv3.OpGet(k)
	}
	res, err := s.reads.do(ctx, &request{ops: ops})
	return res.ranges, err
}

// commitReads answers a batch of reads from one transaction.
func (s *Store) commitReads(batch []*request) {
	ctx, cancel := context.WithTimeout(context.Background(), combineTimeout)
	defer cancel()
	var ops []clientv3.Op
	for _, r := range batch {
		ops = append(ops, r.ops...)
	}
	resp, err := s.cli.Txn(ctx).Then(ops...).Commit()
	if err != nil {
		for _, r := range batch {
			r.done <- requestResult{err: unavailable(err)}
		}
		return
	}
	i := 0
	for _, r := range batch {
		ranges := make([]*pb.RangeResponse, len(r.ops))
		for j := range ranges {
			ranges[j] = resp.Responses[i].GetResponseRange()
			i++
		}
		r.done <- requestResult{ok: true, ranges: ranges}
	}
}
