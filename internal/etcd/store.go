package etcd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Sentinel errors, kept in the domain package so engines need not import
// this one.
var (
	ErrNotLeader = tocsin.ErrNotLeader
	ErrNoChange  = tocsin.ErrNoChange
)

// maxOps is how many operations a batch holds: under etcd's default limit
// of 128 operations a transaction.
const maxOps = 100

// maxBatchBytes keeps a batch well under etcd's 1.5 MiB request limit.
const maxBatchBytes = 512 << 10

// Store reads and writes Tocsin's records in etcd.
type Store struct {
	cli    *clientv3.Client
	prefix string
	now    func() time.Time
	fence  *fence
	// writes and reads combine concurrent recipient requests in shared
	// transactions (combine.go); writes per fence, since a combined
	// transaction carries one.
	writes, reads *combiner
	// decoded keeps recently read activations decoded, shared by the
	// fenced copies.
	decoded *activationCache
	// directory keeps the directory in force decoded, by version.
	directory *directoryCache
	// tokenUses spaces the writes of tokens' last use.
	tokenUses *tokenUses
}

type fence struct {
	key string
	rev int64
}

// NewStore returns a store over cli, keeping its records under prefix
// (default "/tocsin/"). now gives server time; nil means time.Now.
func NewStore(cli *clientv3.Client, prefix string, now func() time.Time) *Store {
	if prefix == "" {
		prefix = "/tocsin/"
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if now == nil {
		now = time.Now
	}
	s := &Store{cli: cli, prefix: prefix, now: now, decoded: &activationCache{acts: map[string]decodedActivation{}},
		directory: &directoryCache{}, tokenUses: &tokenUses{at: map[string]time.Time{}}}
	s.writes, s.reads = newCombiner(s.commitWrites), newCombiner(s.commitReads)
	return s
}

// Client returns the etcd client.
func (s *Store) Client() *clientv3.Client { return s.cli }

// Now returns the store's clock reading, in UTC.
func (s *Store) Now() time.Time { return s.now().UTC() }

// Fenced returns a store whose every write also requires that e's leader
// key still exists with the same create revision.
func (s *Store) Fenced(e *concurrency.Election) *Store {
	c := *s
	c.fence = &fence{key: e.Key(), rev: e.Rev()}
	c.writes = newCombiner(c.commitWrites)
	return &c
}

func (s *Store) key(parts ...string) string {
	return s.prefix + strings.Join(parts, "/")
}

// Ping checks that etcd answers a linearizable read, which needs a quorum.
func (s *Store) Ping(ctx context.Context) error {
	_, err := s.cli.Get(ctx, s.key("ping"))
	return err
}

// txn runs ops when cmps hold (plus the fence). It reports whether they
// held; ErrNotLeader when the fence did not.
func (s *Store) txn(ctx context.Context, cmps []clientv3.Cmp, ops ...clientv3.Op) (bool, error) {
	_, ok, err := s.txnAt(ctx, cmps, ops...)
	return ok, err
}

// txnAt is txn that also returns the revision the transaction wrote at:
// the mod revision of every key it put.
func (s *Store) txnAt(ctx context.Context, cmps []clientv3.Cmp, ops ...clientv3.Op) (int64, bool, error) {
	resp, ok, err := s.txnElse(ctx, cmps, ops, nil)
	if !ok || err != nil {
		return 0, ok, err
	}
	return resp.Header.Revision, true, nil
}

// txnElse is txn that also reads els when the compares fail, and returns
// etcd's answer: when ok is false, resp.Responses holds els's answers in
// order. It returns ErrNotLeader when the fence did not hold.
func (s *Store) txnElse(ctx context.Context, cmps []clientv3.Cmp, ops, els []clientv3.Op) (*clientv3.TxnResponse, bool, error) {
	if s.fence != nil {
		cmps = append(cmps[:len(cmps):len(cmps)], clientv3.Compare(clientv3.CreateRevision(s.fence.key), "=", s.fence.rev))
		els = append(els[:len(els):len(els)], clientv3.OpGet(s.fence.key))
	}
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(ops...).Else(els...).Commit()
	if err != nil {
		return nil, false, unavailable(err)
	}
	if resp.Succeeded {
		return resp, true, nil
	}
	if s.fence != nil {
		kvs := resp.Responses[len(resp.Responses)-1].GetResponseRange().Kvs
		if len(kvs) == 0 || kvs[0].CreateRevision != s.fence.rev {
			return nil, false, ErrNotLeader
		}
	}
	return resp, false, nil
}

// unavailable marks an etcd failure as one users see as 503.
func unavailable(err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("%w: %w", tocsin.Errorf(tocsin.EUnavailable, "le stockage (etcd) ne répond pas"), err)
}

// contention is the error of a compare-and-swap that lost maxCASTries
// times in a row: the store is too busy to take the write now, a 503 the
// caller may try again, as when etcd does not answer.
func contention(what string, args ...any) error {
	return unavailable(fmt.Errorf(what+": too much contention", args...))
}

// getJSON reads key into v, returning its mod revision (0 if absent).
func (s *Store) getJSON(ctx context.Context, key string, v any) (int64, error) {
	resp, err := s.cli.Get(ctx, key)
	if err != nil {
		return 0, unavailable(err)
	}
	if len(resp.Kvs) == 0 {
		return 0, nil
	}
	if err := json.Unmarshal(resp.Kvs[0].Value, v); err != nil {
		return 0, fmt.Errorf("decode %s: %w", key, err)
	}
	return resp.Kvs[0].ModRevision, nil
}

// listJSON decodes every value under prefix, in key order, calling add with
// each value's decoder.
func (s *Store) listJSON(ctx context.Context, prefix string, add func(key string, data []byte) error) error {
	resp, err := s.cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return unavailable(err)
	}
	for _, kv := range resp.Kvs {
		if err := add(string(kv.Key), kv.Value); err != nil {
			return fmt.Errorf("decode %s: %w", kv.Key, err)
		}
	}
	return nil
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Only types of this module go through here; they always encode.
		panic(fmt.Sprintf("encode %T: %v", v, err))
	}
	return string(b)
}

// batchWriters is how many batch transactions are in flight at once.
const batchWriters = 8

// batches writes ops in transactions of at most maxOps operations and
// maxBatchBytes bytes, several at once. It is not atomic as a whole:
// callers write batches that are unreachable until one final switch, so
// their order does not matter. On the first failure the rest is abandoned
// and what was written stays, for the leader's collector (leftovers.go).
// Store trouble, the end of ctx included, is returned as unavailable, so
// that the caller's deadline expiring half-way is a 503, not a 500.
func (s *Store) batches(ctx context.Context, ops []clientv3.Op, sizes []int) error {
	var groups [][]clientv3.Op
	start, bytes := 0, 0
	for i := range ops {
		if i > start && (i-start >= maxOps || bytes+sizes[i] > maxBatchBytes) {
			groups = append(groups, ops[start:i])
			start, bytes = i, 0
		}
		bytes += sizes[i]
	}
	if start < len(ops) {
		groups = append(groups, ops[start:])
	}
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var once sync.Once
	var first error
	fail := func(err error) {
		once.Do(func() { first = err })
		cancel()
	}
	next := make(chan []clientv3.Op)
	var wg sync.WaitGroup
	for range min(batchWriters, len(groups)) {
		wg.Go(func() {
			for g := range next {
				if _, err := s.txnOK(bctx, g...); err != nil {
					fail(err)
				}
			}
		})
	}
feed:
	for _, g := range groups {
		select {
		case next <- g:
		case <-bctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	switch {
	case ctx.Err() != nil:
		// The caller's deadline or cancellation, whatever a batch met first.
		return unavailable(context.Cause(ctx))
	case first != nil:
		return first
	}
	return nil
}

func (s *Store) txnOK(ctx context.Context, ops ...clientv3.Op) (bool, error) {
	ok, err := s.txn(ctx, nil, ops...)
	if err == nil && !ok {
		err = unavailable(errors.New("transaction failed"))
	}
	return ok, err
}

func withFirstCreate() []clientv3.OpOption {
	return []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend), clientv3.WithLimit(1)}
}
