package etcd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// tokenKey stores a token by its SHA-256: the store never holds a usable
// token.
func (s *Store) tokenKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return s.key("token", hex.EncodeToString(sum[:]))
}

// CreateUserWithToken creates u with an API token. It fails with EConflict
// if the user exists.
func (s *Store) CreateUserWithToken(ctx context.Context, u tocsin.User, token string) error {
	uk := s.key("user", u.Name)
	ok, err := s.txn(ctx,
		[]clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(uk), "=", 0)},
		clientv3.OpPut(uk, mustJSON(u)),
		clientv3.OpPut(s.tokenKey(token), u.Name),
	)
	if err != nil {
		return err
	}
	if !ok {
		return tocsin.Errorf(tocsin.EConflict, "l'utilisateur %q existe déjà", u.Name)
	}
	return nil
}

// HasUsers reports whether any user exists.
func (s *Store) HasUsers(ctx context.Context) (bool, error) {
	resp, err := s.cli.Get(ctx, s.key("user")+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return false, unavailable(err)
	}
	return resp.Count > 0, nil
}

// UserByToken returns the user a token belongs to, or EUnauthorized.
func (s *Store) UserByToken(ctx context.Context, token string) (tocsin.User, error) {
	resp, err := s.cli.Get(ctx, s.tokenKey(token))
	if err != nil {
		return tocsin.User{}, unavailable(err)
	}
	if len(resp.Kvs) == 0 {
		return tocsin.User{}, tocsin.Errorf(tocsin.EUnauthorized, "jeton inconnu")
	}
	var u tocsin.User
	rev, err := s.getJSON(ctx, s.key("user", string(resp.Kvs[0].Value)), &u)
	if err != nil {
		return tocsin.User{}, err
	}
	if rev == 0 {
		return tocsin.User{}, tocsin.Errorf(tocsin.EUnauthorized, "jeton inconnu")
	}
	return u, nil
}
