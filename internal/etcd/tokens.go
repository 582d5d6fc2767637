package etcd

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Personal API tokens: token/<sha256 of the secret> holds the token's
// record (the first administrator's, from before personal tokens, holds
// only the user's name); tokenid/<user>/<id> holds the SHA-256, so that a
// user lists and revokes their tokens by id. The store never holds a
// usable secret.

func (s *Store) tokenIndexKey(user, id string) string { return s.key("tokenid", user, id) }

// CreateToken stores a personal token for its user, with audit in the
// outbox in the same transaction. It fails with ENotFound when the user
// does not exist.
func (s *Store) CreateToken(ctx context.Context, t tocsin.APIToken, secret string, audit ...tocsin.AuditEntry) error {
	tk := s.tokenKey(secret)
	uk := s.key("user", t.User)
	ok, err := s.txn(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(uk), ">", 0),
		clientv3.Compare(clientv3.CreateRevision(tk), "=", 0)},
		append([]clientv3.Op{clientv3.OpPut(tk, mustJSON(t)),
			clientv3.OpPut(s.tokenIndexKey(t.User, t.ID), strings.TrimPrefix(tk, s.key("token")+"/"))}, s.auditOps(audit)...)...)
	if err != nil {
		return err
	}
	if !ok {
		return tocsin.Errorf(tocsin.ENotFound, "utilisateur %q inconnu", t.User)
	}
	return nil
}

// Tokens returns a user's personal tokens, oldest first.
func (s *Store) Tokens(ctx context.Context, user string) ([]tocsin.APIToken, error) {
	resp, err := s.cli.Get(ctx, s.key("tokenid", user)+"/", clientv3.WithPrefix())
	if err != nil {
		return nil, unavailable(err)
	}
	out := []tocsin.APIToken{}
	for _, kv := range resp.Kvs {
		var t tocsin.APIToken
		rev, err := s.getJSON(ctx, s.key("token", string(kv.Value)), &t)
		if err != nil {
			return nil, err
		}
		if rev != 0 {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b tocsin.APIToken) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// RevokeToken deletes a user's token: every replica refuses it from the
// next request on, since each reads the token from etcd. It fails with
// ENotFound when the user has no such token.
func (s *Store) RevokeToken(ctx context.Context, user, id string, audit ...tocsin.AuditEntry) error {
	ik := s.tokenIndexKey(user, id)
	resp, err := s.cli.Get(ctx, ik)
	if err != nil {
		return unavailable(err)
	}
	if len(resp.Kvs) == 0 {
		return tocsin.Errorf(tocsin.ENotFound, "jeton %q inconnu", id)
	}
	ok, err := s.txn(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(ik), "=", resp.Kvs[0].ModRevision)},
		append([]clientv3.Op{clientv3.OpDelete(ik), clientv3.OpDelete(s.key("token", string(resp.Kvs[0].Value)))}, s.auditOps(audit)...)...)
	if err != nil {
		return err
	}
	if !ok {
		return tocsin.Errorf(tocsin.ENotFound, "jeton %q inconnu", id)
	}
	return nil
}

// UserByToken returns the user a token acts for, with the token's role
// when it narrows the user's, or EUnauthorized (unknown, expired, or its
// user gone).
func (s *Store) UserByToken(ctx context.Context, token string) (tocsin.User, error) {
	tk := s.tokenKey(token)
	resp, err := s.cli.Get(ctx, tk)
	if err != nil {
		return tocsin.User{}, unavailable(err)
	}
	if len(resp.Kvs) == 0 {
		return tocsin.User{}, tocsin.Errorf(tocsin.EUnauthorized, "jeton inconnu")
	}
	var t tocsin.APIToken
	if v := resp.Kvs[0].Value; len(v) > 0 && v[0] == '{' {
		if err := json.Unmarshal(v, &t); err != nil {
			return tocsin.User{}, tocsin.Errorf(tocsin.EUnauthorized, "jeton illisible")
		}
	} else {
		t.User = string(v) // the first administrator's token
	}
	now := s.Now()
	if t.ExpiresAt != nil && !now.Before(*t.ExpiresAt) {
		return tocsin.User{}, tocsin.Errorf(tocsin.EUnauthorized, "jeton expiré le %s", tocsin.ParisTime(*t.ExpiresAt))
	}
	var u tocsin.User
	rev, err := s.getJSON(ctx, s.key("user", t.User), &u)
	if err != nil {
		return tocsin.User{}, err
	}
	if rev == 0 {
		return tocsin.User{}, tocsin.Errorf(tocsin.EUnauthorized, "jeton inconnu")
	}
	u.Role = u.Role.AtMost(t.Role)
	if t.ID != "" {
		s.touchToken(tk, resp.Kvs[0].ModRevision, t, now)
	}
	return u, nil
}

// lastUseEvery is how often a token's last use is written: not at every
// request.
const lastUseEvery = time.Minute

// tokenUses holds when this replica last wrote each token's last use.
type tokenUses struct {
	mu sync.Mutex
	at map[string]time.Time
}

// touchToken records a token's last use, at most every lastUseEvery, in
// the background: a request does not wait for it, and a lost race (a
// revocation meanwhile) writes nothing.
func (s *Store) touchToken(key string, rev int64, t tocsin.APIToken, now time.Time) {
	u := s.tokenUses
	u.mu.Lock()
	if last, ok := u.at[key]; ok && now.Sub(last) < lastUseEvery {
		u.mu.Unlock()
		return
	}
	u.at[key] = now
	u.mu.Unlock()
	t.LastUsed = &now
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).Then(clientv3.OpPut(key, mustJSON(t))).Commit()
	}()
}
