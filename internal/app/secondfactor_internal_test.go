package app

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"testing"

	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

func gcm(t *testing.T, b byte) cipher.AEAD {
	t.Helper()
	block, err := aes.NewCipher(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return aead
}

// A sealed secret reads back with its key only: a replica with another
// key or none says it cannot read it (503) rather than refuse a right
// code; a secret stored before the key reads as it is; a sealed secret
// moved to another user's record does not open.
func TestSealedSecretsOpenWithTheirKeyOnly(t *testing.T) {
	t.Parallel()
	s := testingutil.MustStore(t)
	ctx := t.Context()
	for _, name := range []string{"chef", "adjoint", "ancien"} {
		if err := s.CreateUser(ctx, tocsin.User{Name: name, Role: tocsin.RoleAdmin}, "hash"); err != nil {
			t.Fatal(err)
		}
	}
	sealed, other, none := sealedFactors{Store: s, aead: gcm(t, 1)}, sealedFactors{Store: s, aead: gcm(t, 2)}, sealedFactors{Store: s}
	want := tocsin.SecondFactor{Secret: "JBSWY3DPEHPK3PXP", Confirmed: true, LastStep: 7}
	if err := sealed.SetSecondFactor(ctx, "chef", want); err != nil {
		t.Fatal(err)
	}
	if got, err := sealed.SecondFactor(ctx, "chef"); err != nil || got != want {
		t.Errorf("with its key: %+v, %v; want %+v", got, err, want)
	}
	for what, f := range map[string]sealedFactors{"another key": other, "no key": none} {
		if _, err := f.SecondFactor(ctx, "chef"); tocsin.ErrorCode(err) != tocsin.EUnavailable {
			t.Errorf("with %s: %v; want unavailable", what, err)
		}
	}
	raw, _ := s.SecondFactor(ctx, "chef")
	if err := s.SetSecondFactor(ctx, "adjoint", raw); err != nil {
		t.Fatal(err)
	}
	if _, err := sealed.SecondFactor(ctx, "adjoint"); err == nil {
		t.Error("a sealed secret copied to another user opened")
	}
	if err := none.SetSecondFactor(ctx, "ancien", want); err != nil {
		t.Fatal(err)
	}
	if got, err := sealed.SecondFactor(ctx, "ancien"); err != nil || got != want {
		t.Errorf("a secret stored before the key: %+v, %v; want it as it is", got, err)
	}
}
