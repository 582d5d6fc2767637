package web

import (
	"strings"
	"testing"
	"time"
)

func TestPasswordHashes(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q; want argon2id in PHC form", h)
	}
	if !CheckPassword(h, "correct horse battery") || CheckPassword(h, "correct horse batterie") {
		t.Errorf("CheckPassword accepts the wrong password or refuses the right one")
	}
	h2, _ := HashPassword("correct horse battery")
	if h == h2 {
		t.Errorf("two hashes of one password are equal: no salt")
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=0,t=2,p=1$AAAA$AAAA", "$bcrypt$x", h[:len(h)-3]} {
		if CheckPassword(bad, "correct horse battery") {
			t.Errorf("malformed hash %q matches", bad)
		}
	}
	if _, err := HashPassword("court"); err == nil {
		t.Errorf("a 5-character password was accepted")
	}
	if p := GeneratePassword(); len(p) != 23 || strings.Count(p, "-") != 3 || CheckPasswordPolicy(p) != nil {
		t.Errorf("generated password %q; want 4 groups of 5", p)
	}
}

func TestSafeNextStaysOnTheSite(t *testing.T) {
	for in, want := range map[string]string{
		"/activations/x?filtre=echecs": "/activations/x?filtre=echecs",
		"":                             "/",
		"https://ailleurs.example/":    "/",
		"//ailleurs.example/":          "/",
		"/\\ailleurs.example":          "/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNameDelayDoublesToAMinute(t *testing.T) {
	for n, want := range map[int]time.Duration{0: 0, 9: 0, 10: time.Second, 11: 2 * time.Second, 13: 8 * time.Second, 16: time.Minute, 100: time.Minute} {
		if got := nameDelay(n); got != want {
			t.Errorf("nameDelay(%d) = %v, want %v", n, got, want)
		}
	}
}
