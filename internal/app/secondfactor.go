package app

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/prefecture76/tocsin/internal/etcd"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/web"
)

// sealedPrefix marks a second factor's secret sealed with the key.
const sealedPrefix = "sealed:"

// sealedFactors keeps the secrets of the users' authenticator applications
// sealed (AES-256-GCM, bound to the user's name) in etcd, with a key kept
// out of it: a copy of etcd alone does not give them. A secret stored
// before the key was given is read as it is, and sealed at the next
// enrolment. Without a key (aead nil), secrets are stored as they are,
// and a sealed one is unavailable rather than a wrong code.
type sealedFactors struct {
	*etcd.Store
	aead cipher.AEAD
}

// secondFactors returns where the console keeps second factors: the
// store, sealing the secrets when a key is configured.
func (a *App) secondFactors() (web.SecondFactors, error) {
	if len(a.cfg.SecondFactorKey) == 0 {
		return sealedFactors{Store: a.store}, nil
	}
	block, err := aes.NewCipher(a.cfg.SecondFactorKey)
	if err != nil {
		return nil, fmt.Errorf("second factor key: 32 bytes expected, got %d", len(a.cfg.SecondFactorKey))
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return sealedFactors{Store: a.store, aead: aead}, nil
}

func (s sealedFactors) SecondFactor(ctx context.Context, name string) (tocsin.SecondFactor, error) {
	f, err := s.Store.SecondFactor(ctx, name)
	if err != nil || !strings.HasPrefix(f.Secret, sealedPrefix) {
		return f, err
	}
	if s.aead == nil {
		return tocsin.SecondFactor{}, tocsin.Errorf(tocsin.EUnavailable,
			"secret de double authentification de %s illisible : il est scellé, et cette réplique n'a pas la clé de la double authentification", name)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(f.Secret, sealedPrefix))
	n := s.aead.NonceSize()
	if err == nil && len(raw) > n {
		var plain []byte
		if plain, err = s.aead.Open(nil, raw[:n], raw[n:], []byte(name)); err == nil {
			f.Secret = string(plain)
			return f, nil
		}
	}
	return tocsin.SecondFactor{}, tocsin.Errorf(tocsin.EUnavailable,
		"secret de double authentification de %s illisible : la clé de la double authentification n'est pas celle qui l'a scellé", name)
}

func (s sealedFactors) SetSecondFactor(ctx context.Context, name string, f tocsin.SecondFactor, audit ...tocsin.AuditEntry) error {
	if f.Secret != "" && s.aead != nil {
		nonce := make([]byte, s.aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return err
		}
		f.Secret = sealedPrefix + base64.StdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, []byte(f.Secret), []byte(name)))
	}
	return s.Store.SetSecondFactor(ctx, name, f, audit...)
}
