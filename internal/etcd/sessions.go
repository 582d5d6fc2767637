package etcd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
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

// TakeLoginAttempt counts one login attempt under every key, in one
// transaction, if each is still below its limit, and returns how many
// more the tightest key allows; it reports false, and counts nothing,
// when one has reached its limit. It is taken before the
// password is checked, so that attempts made at once cannot all slip
// under the limit. A key's window opens at its first attempt and lasts
// window. Concurrent attempts retry until ctx ends: store trouble is
// unavailable (503), never a give-up.
func (s *Store) TakeLoginAttempt(ctx context.Context, limits map[string]int, window time.Duration) (remaining int, ok bool, err error) {
	keys := make([]string, 0, len(limits))
	for k := range limits {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for try := 0; ; try++ {
		ops := make([]clientv3.Op, len(keys))
		for i, k := range keys {
			ops[i] = clientv3.OpGet(s.hashedKey("throttle", k))
		}
		got, err := s.cli.Txn(ctx).Then(ops...).Commit()
		if err != nil {
			return 0, false, unavailable(err)
		}
		remaining = math.MaxInt
		var cmps []clientv3.Cmp
		var puts []clientv3.Op
		var lease clientv3.LeaseID
		for i, k := range keys {
			hk := s.hashedKey("throttle", k)
			kvs := got.Responses[i].GetResponseRange().Kvs
			if len(kvs) == 0 {
				if lease == 0 {
					l, err := s.cli.Grant(ctx, leaseSeconds(window))
					if err != nil {
						return 0, false, unavailable(err)
					}
					lease = l.ID
				}
				remaining = min(remaining, limits[k]-1)
				cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(hk), "=", 0))
				puts = append(puts, clientv3.OpPut(hk, "1", clientv3.WithLease(lease)))
				continue
			}
			n, _ := strconv.Atoi(string(kvs[0].Value))
			if n >= limits[k] {
				if lease != 0 {
					s.cli.Revoke(ctx, lease)
				}
				return 0, false, nil
			}
			remaining = min(remaining, limits[k]-n-1)
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(hk), "=", kvs[0].ModRevision))
			puts = append(puts, clientv3.OpPut(hk, strconv.Itoa(n+1), clientv3.WithIgnoreLease()))
		}
		resp, err := s.cli.Txn(ctx).If(cmps...).Then(puts...).Commit()
		if err != nil {
			return 0, false, unavailable(err)
		}
		if resp.Succeeded {
			return remaining, true, nil
		}
		if lease != 0 {
			s.cli.Revoke(ctx, lease)
		}
		// Another attempt counted first: look again, a little later each
		// time so that many attempts at once spread out.
		select {
		case <-time.After(time.Duration(rand.IntN(1+min(try, 20))) * time.Millisecond):
		case <-ctx.Done():
			return 0, false, unavailable(ctx.Err())
		}
	}
}

// ReturnLoginAttempt gives back an attempt counted under key (a login that
// succeeded), so that a busy address is not locked by its valid logins.
func (s *Store) ReturnLoginAttempt(ctx context.Context, key string) error {
	k := s.hashedKey("throttle", key)
	for {
		resp, err := s.cli.Get(ctx, k)
		if err != nil {
			return unavailable(err)
		}
		if len(resp.Kvs) == 0 {
			return nil
		}
		n, _ := strconv.Atoi(string(resp.Kvs[0].Value))
		if n <= 0 {
			return nil
		}
		ok, err := s.txn(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(k), "=", resp.Kvs[0].ModRevision)},
			clientv3.OpPut(k, strconv.Itoa(n-1), clientv3.WithIgnoreLease()))
		if err != nil || ok {
			return err
		}
		if ctx.Err() != nil {
			return unavailable(ctx.Err())
		}
	}
}

// ResetLoginFailures forgets the failures counted under key.
func (s *Store) ResetLoginFailures(ctx context.Context, key string) error {
	if _, err := s.cli.Delete(ctx, s.hashedKey("throttle", key)); err != nil {
		return unavailable(err)
	}
	return nil
}

// nameFailures is a name's failed logins from every address, with the
// time of the last: past a threshold, each new attempt waits a growing
// delay (web decides how long), rather than being locked.
type nameFailures struct {
	N    int       `json:"n"`
	Last time.Time `json:"last"`
}

// NameFailures returns the failed logins counted for a name across
// addresses in its window, and when the last one was.
func (s *Store) NameFailures(ctx context.Context, key string) (int, time.Time, error) {
	var f nameFailures
	if _, err := s.getJSON(ctx, s.hashedKey("throttle", key), &f); err != nil {
		return 0, time.Time{}, err
	}
	return f.N, f.Last, nil
}

// AddNameFailure counts one more failed login for a name across
// addresses, at now; the window opens at the first and lasts window.
func (s *Store) AddNameFailure(ctx context.Context, key string, window time.Duration, now time.Time) error {
	k := s.hashedKey("throttle", key)
	for {
		resp, err := s.cli.Get(ctx, k)
		if err != nil {
			return unavailable(err)
		}
		var f nameFailures
		var cmp clientv3.Cmp
		var lease clientv3.LeaseID
		opts := []clientv3.OpOption{clientv3.WithIgnoreLease()}
		if len(resp.Kvs) == 0 {
			l, err := s.cli.Grant(ctx, leaseSeconds(window))
			if err != nil {
				return unavailable(err)
			}
			lease = l.ID
			cmp, opts = clientv3.Compare(clientv3.CreateRevision(k), "=", 0), []clientv3.OpOption{clientv3.WithLease(lease)}
		} else {
			if json.Unmarshal(resp.Kvs[0].Value, &f) != nil {
				f = nameFailures{}
			}
			cmp = clientv3.Compare(clientv3.ModRevision(k), "=", resp.Kvs[0].ModRevision)
		}
		f.N, f.Last = f.N+1, now.UTC()
		ok, err := s.txn(ctx, []clientv3.Cmp{cmp}, clientv3.OpPut(k, mustJSON(f), opts...))
		if err != nil || ok {
			return err
		}
		if lease != 0 {
			s.cli.Revoke(ctx, lease) // another replica created it first: tidy up
		}
		if ctx.Err() != nil {
			return unavailable(ctx.Err())
		}
	}
}

// PutLoginState keeps what a login through the identity provider needs at
// its return (nonce, PKCE verifier, destination) under its state, for ttl:
// the browser may come back to any replica.
func (s *Store) PutLoginState(ctx context.Context, state string, data []byte, ttl time.Duration) error {
	lease, err := s.cli.Grant(ctx, leaseSeconds(ttl))
	if err != nil {
		return unavailable(err)
	}
	if _, err := s.cli.Put(ctx, s.hashedKey("ssostate", state), string(data), clientv3.WithLease(lease.ID)); err != nil {
		return unavailable(err)
	}
	return nil
}

// TakeLoginState returns and deletes, in one step, what PutLoginState
// kept under state: a state is used once, even by two requests at once.
// It returns nil when there is none (never put, taken, or expired).
func (s *Store) TakeLoginState(ctx context.Context, state string) ([]byte, error) {
	resp, err := s.cli.Delete(ctx, s.hashedKey("ssostate", state), clientv3.WithPrevKV())
	if err != nil {
		return nil, unavailable(err)
	}
	if len(resp.PrevKvs) == 0 {
		return nil, nil
	}
	kv := resp.PrevKvs[0]
	if kv.Lease != 0 {
		s.cli.Revoke(ctx, clientv3.LeaseID(kv.Lease)) // only tidies up
	}
	return kv.Value, nil
}
