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

// userRecord is a user as stored: the domain's user and the hash of the
// console password, when one was set. Readers that decode a tocsin.User
// ignore the hash.
type userRecord struct {
	tocsin.User
	PasswordHash string `json:"password_hash,omitempty"`
	// Subject is the identity provider's identifier of an SSO user.
	Subject string `json:"oidc_subject,omitempty"`
	// TOTP is the second factor of the console password, when enrolled.
	TOTP *tocsin.SecondFactor `json:"totp,omitempty"`
}

// CreateUser creates u with the hash of a console password (and no API
// token), with audit in the outbox in the same transaction. It fails with
// EConflict if the user exists.
func (s *Store) CreateUser(ctx context.Context, u tocsin.User, passwordHash string, audit ...tocsin.AuditEntry) error {
	uk := s.key("user", u.Name)
	ok, err := s.txn(ctx,
		[]clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(uk), "=", 0)},
		append([]clientv3.Op{clientv3.OpPut(uk, mustJSON(userRecord{User: u, PasswordHash: passwordHash}))}, s.auditOps(audit)...)...,
	)
	if err != nil {
		return err
	}
	if !ok {
		return tocsin.Errorf(tocsin.EConflict, "l'utilisateur %q existe déjà", u.Name)
	}
	return nil
}

// UserPassword returns a user and the hash of their console password ("" if
// none was set), or ENotFound.
func (s *Store) UserPassword(ctx context.Context, name string) (tocsin.User, string, error) {
	var rec userRecord
	rev, err := s.getJSON(ctx, s.key("user", name), &rec)
	if err != nil {
		return tocsin.User{}, "", err
	}
	if rev == 0 {
		return tocsin.User{}, "", tocsin.Errorf(tocsin.ENotFound, "utilisateur %q inconnu", name)
	}
	return rec.User, rec.PasswordHash, nil
}

// SetPasswordHash replaces a user's console password hash by
// compare-and-swap, with audit in the outbox in the same transaction. It
// fails with ENotFound if the user does not exist.
func (s *Store) SetPasswordHash(ctx context.Context, name, passwordHash string, audit ...tocsin.AuditEntry) error {
	uk := s.key("user", name)
	for range maxCASTries {
		var rec userRecord
		rev, err := s.getJSON(ctx, uk, &rec)
		if err != nil {
			return err
		}
		if rev == 0 {
			return tocsin.Errorf(tocsin.ENotFound, "utilisateur %q inconnu", name)
		}
		rec.PasswordHash = passwordHash
		ok, err := s.txn(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(uk), "=", rev)},
			append([]clientv3.Op{clientv3.OpPut(uk, mustJSON(rec))}, s.auditOps(audit)...)...)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
	}
	return contention("set password of %s", name)
}

// SaveSSOUser records a user who signed in through the identity provider,
// with the role their groups give, by compare-and-swap. audit is written
// in the same transaction, and only when something changed (the user is
// new, or their role is not the one recorded): an unchanged user writes
// nothing. It fails with EConflict when the name is a local account's, or
// another subject's at the provider.
func (s *Store) SaveSSOUser(ctx context.Context, u tocsin.User, subject string, audit ...tocsin.AuditEntry) error {
	uk := s.key("user", u.Name)
	u.SSO = true
	for range maxCASTries {
		var rec userRecord
		rev, err := s.getJSON(ctx, uk, &rec)
		if err != nil {
			return err
		}
		if rev != 0 {
			if !rec.SSO || rec.PasswordHash != "" || rec.Subject != subject {
				return tocsin.Errorf(tocsin.EConflict, "le compte « %s » existe déjà dans Tocsin sans être celui-ci chez le fournisseur d'identité : demandez à l'administrateur de le vérifier", u.Name)
			}
			if rec.Role == u.Role {
				return nil
			}
		}
		ok, err := s.txn(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(uk), "=", rev)},
			append([]clientv3.Op{clientv3.OpPut(uk, mustJSON(userRecord{User: u, Subject: subject}))}, s.auditOps(audit)...)...)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
	}
	return contention("save user %s", u.Name)
}

// updateUser changes a user's record by compare-and-swap: change returns
// false to write nothing. audit is written in the same transaction as the
// change. It fails with ENotFound when the user does not exist.
func (s *Store) updateUser(ctx context.Context, name string, change func(*userRecord) (bool, error), audit ...tocsin.AuditEntry) (bool, error) {
	uk := s.key("user", name)
	for range maxCASTries {
		var rec userRecord
		rev, err := s.getJSON(ctx, uk, &rec)
		if err != nil {
			return false, err
		}
		if rev == 0 {
			return false, tocsin.Errorf(tocsin.ENotFound, "utilisateur %q inconnu", name)
		}
		changed, err := change(&rec)
		if err != nil || !changed {
			return false, err
		}
		ok, err := s.txn(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(uk), "=", rev)},
			append([]clientv3.Op{clientv3.OpPut(uk, mustJSON(rec))}, s.auditOps(audit)...)...)
		if err != nil {
			return false, err
		}
		if ok {
			return true, nil
		}
	}
	return false, contention("update user %s", name)
}

// SecondFactor returns a user's second factor (the zero value when none),
// or ENotFound.
func (s *Store) SecondFactor(ctx context.Context, name string) (tocsin.SecondFactor, error) {
	var rec userRecord
	rev, err := s.getJSON(ctx, s.key("user", name), &rec)
	if err != nil {
		return tocsin.SecondFactor{}, err
	}
	if rev == 0 {
		return tocsin.SecondFactor{}, tocsin.Errorf(tocsin.ENotFound, "utilisateur %q inconnu", name)
	}
	if rec.TOTP == nil {
		return tocsin.SecondFactor{}, nil
	}
	return *rec.TOTP, nil
}

// SetSecondFactor replaces a user's second factor (the zero value removes
// it), with audit in the same transaction. It fails with ENotFound when
// the user does not exist.
func (s *Store) SetSecondFactor(ctx context.Context, name string, f tocsin.SecondFactor, audit ...tocsin.AuditEntry) error {
	_, err := s.updateUser(ctx, name, func(rec *userRecord) (bool, error) {
		rec.TOTP = nil
		if f != (tocsin.SecondFactor{}) {
			rec.TOTP = &f
		}
		return true, nil
	}, audit...)
	return err
}

// UseSecondFactorStep records that a code of step was accepted for name,
// and reports false, changing nothing, when a code of that step or a later
// one already was, or when the user has no confirmed second factor: a
// code is used once, even by two replicas at once.
func (s *Store) UseSecondFactorStep(ctx context.Context, name string, step int64) (bool, error) {
	return s.updateUser(ctx, name, func(rec *userRecord) (bool, error) {
		if rec.TOTP == nil || !rec.TOTP.Confirmed || step <= rec.TOTP.LastStep {
			return false, nil
		}
		rec.TOTP.LastStep = step
		return true, nil
	})
}
