package totp

import (
	"encoding/base32"
	"strings"
	"testing"
	"time"
)

// RFC 6238, appendix B: the SHA-1 rows, 8 digits, secret
// "12345678901234567890".
func TestCodesAreThoseOfRFC6238(t *testing.T) {
	secret := base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))
	for _, c := range []struct {
		unix int64
		want string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		got, err := Code(secret, Step(time.Unix(c.unix, 0)), 8)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("code at %d = %s; want %s", c.unix, got, c.want)
		}
	}
}

// A code typed as it changes, or on a phone a little off, is accepted for
// one step either side, and says which step; two steps away, refused.
func TestMatchAcceptsOneStepEitherSide(t *testing.T) {
	secret := NewSecret()
	now := time.Date(2026, 12, 6, 21, 0, 10, 0, time.UTC)
	cur := Step(now)
	for _, c := range []struct {
		step int64
		ok   bool
	}{{cur, true}, {cur - 1, true}, {cur + 1, true}, {cur - 2, false}, {cur + 2, false}} {
		code, _ := Code(secret, c.step, Digits)
		step, ok := Match(secret, code[:3]+" "+code[3:], now)
		if ok != c.ok || (ok && step != c.step) {
			t.Errorf("code of step %+d: matched %v at %d; want %v at %d", c.step-cur, ok, step-cur, c.ok, c.step-cur)
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, ok := Match(secret, bad, now); ok {
			t.Errorf("Match(%q) accepted", bad)
		}
	}
	if _, ok := Match("pas du base32 !", "123456", now); ok {
		t.Error("a malformed secret matched a code")
	}
}

func TestURINamesIssuerAccountAndSecret(t *testing.T) {
	u := URI("Tocsin", "admin", "JBSWY3DPEHPK3PXP")
	for _, want := range []string{"otpauth://totp/Tocsin:admin?", "secret=JBSWY3DPEHPK3PXP", "issuer=Tocsin", "digits=6", "period=30"} {
		if !strings.Contains(u, want) {
			t.Errorf("URI %s lacks %s", u, want)
		}
	}
}
