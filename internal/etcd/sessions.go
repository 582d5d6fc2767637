package etcd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Console sessions and login throttling live in etcd, so that every replica
// knows them: a duty officer whose load balancer switches replicas stays
// logged in, and an attacker cannot multiply their login attempts by the
// number of replicas. Both are records attached to a lease: etcd deletes
// them when it expires.
//
//	sess/<sha256 of the session id>   the session, opaque to the store
//	throttle/<sha256 of the key>      failed logins counted in a window

// hashedKey names a record by the SHA-256 of a secret or of a user-given
// string: the store never holds a usable session id, and any string fits.
func (s *Store) hashedKey(kind, v string) string {
	sum := sha256.Sum256([]byte(v))
	return s.key(kind, hex.EncodeToString(sum[:]))
}

// leaseSeconds rounds ttl up to whole seconds, at least one.
func leaseSeconds(ttl time.Duration) int64 {
	return max(1, int64(math.Ceil(ttl.Seconds())))
}

// CreateSession stores a session's data under its id for ttl, with audit
// in the outbox in the same transaction (not on the lease: the entry
// outlives the session).
func (s *Store) CreateSession(ctx context.Context, id string, data []byte, ttl time.Duration, audit ...tocsin.AuditEntry) error {
	lease, err := s.cli.Grant(ctx, leaseSeconds(ttl))
	if err != nil {
		return unavailable(err)
	}
	ops := append([]clientv3.Op{clientv3.OpPut(s.hashedKey("sess", id), string(data), clientv3.WithLease(lease.ID))}, s.auditOps(audit)...)
	if _, err := s.cli.Txn(ctx).Then(ops...).Commit(); err != nil {
		return unavailable(err)
	}
	return nil
}

// Session returns a session's data, or nil when there is no such session
// (never created, deleted, or its lease expired).
func (s *Store) Session(ctx context.Context, id string) ([]byte, error) {
	resp, err := s.cli.Get(ctx, s.hashedKey("sess", id))
	if err != nil {
		return nil, unavailable(err)
	}
	if len(resp.Kvs) == 0 {
		return nil, nil
	}
	return resp.Kvs[0].Value, nil
}

// DeleteSession ends a session at once on every replica, and its lease
// with it.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	resp, err := s.cli.Delete(ctx, s.hashedKey("sess", id), clientv3.WithPrevKV())
	if err != nil {
		return unavailable(err)
	}
	for _, kv := range resp.PrevKvs {
		if kv.Lease != 0 {
			s.cli.Revoke(ctx, clientv3.LeaseID(kv.Lease)) // only tidies up: the lease would expire anyway
		}
	}
	return nil
}

// LoginFailures returns how many failed logins are counted under key in
// its current window.
func (s *Store) LoginFailures(ctx context.Context, key string) (int, error) {
	resp, err := s.cli.Get(ctx, s.hashedKey("throttle", key))
	if err != nil {
		return 0, unavailable(err)
	}
	if len(resp.Kvs) == 0 {
		return 0, nil
	}
	n, _ := strconv.Atoi(string(resp.Kvs[0].Value))
	return n, nil
}

// AddLoginFailure counts one more failed login under key and returns the
// count, with audit in the outbox in the same transaction. The window
// opens at the first failure and lasts window: then the count is
// forgotten.
func (s *Store) AddLoginFailure(ctx context.Context, key string, window time.Duration, audit ...tocsin.AuditEntry) (int, error) {
	k := s.hashedKey("throttle", key)
	for range maxCASTries {
		resp, err := s.cli.Get(ctx, k)
		if err != nil {
			return 0, unavailable(err)
		}
		if len(resp.Kvs) == 0 {
			lease, err := s.cli.Grant(ctx, leaseSeconds(window))
			if err != nil {
				return 0, unavailable(err)
			}
			ok, err := s.txn(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(k), "=", 0)},
				append([]clientv3.Op{clientv3.OpPut(k, "1", clientv3.WithLease(lease.ID))}, s.auditOps(audit)...)...)
			if err != nil {
				return 0, err
			}
			if ok {
				return 1, nil
			}
			s.cli.Revoke(ctx, lease.ID)
			continue
		}
		n, _ := strconv.Atoi(string(resp.Kvs[0].Value))
		n++
		ok, err := s.txn(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(k), "=", resp.Kvs[0].ModRevision)},
			append([]clientv3.Op{clientv3.OpPut(k, strconv.Itoa(n), clientv3.WithIgnoreLease())}, s.auditOps(audit)...)...)
		if err != nil {
			return 0, err
		}
		if ok {
			return n, nil
		}
	}
	return 0, fmt.Errorf("count login failure: too much contention")
}

// ResetLoginFailures forgets the failures counted under key.
func (s *Store) ResetLoginFailures(ctx context.Context, key string) error {
	if _, err := s.cli.Delete(ctx, s.hashedKey("throttle", key)); err != nil {
		return unavailable(err)
	}
	return nil
}
