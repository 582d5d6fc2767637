package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Console passwords are hashed with argon2id at the parameters OWASP gives
// as a floor (19 MiB, 2 passes, 1 lane): about 30 ms on a 2-core server,
// and the same on every replica, so a stolen etcd snapshot costs an
// attacker that much per guess. The hash is kept in PHC form, so the
// parameters can grow without invalidating the hashes already stored.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// MinPasswordLength is the shortest password accepted, in characters.
const MinPasswordLength = 12

// maxPasswordBytes bounds what is hashed: argon2 takes any length, but a
// megabyte "password" would only be a way to burn CPU.
const maxPasswordBytes = 256

// CheckPasswordPolicy returns an EInvalid error in French when password is
// too short or too long.
func CheckPasswordPolicy(password string) error {
	switch {
	case utf8.RuneCountInString(password) < MinPasswordLength:
		return tocsin.FieldErrorf(tocsin.EInvalid, "password", "mot de passe trop court : %d caractères au moins", MinPasswordLength)
	case len(password) > maxPasswordBytes:
		return tocsin.FieldErrorf(tocsin.EInvalid, "password", "mot de passe trop long : %d octets au plus", maxPasswordBytes)
	}
	return nil
}

// HashPassword returns the argon2id hash of password in PHC form:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func HashPassword(password string) (string, error) {
	if err := CheckPasswordPolicy(password); err != nil {
		return "", err
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches a hash made by
// HashPassword. A malformed or empty hash matches nothing.
func CheckPassword(hash, password string) bool {
	if len(password) > maxPasswordBytes {
		return false
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	var memory uint32
	var time uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &time, &threads); err != nil ||
		memory == 0 || memory > 1<<20 || time == 0 || time > 16 || threads == 0 {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, time, memory, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked against when the user does not exist, so that a
// login for an unknown name takes as long as one for a known name.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("tocsin-dummy-password-never-matches")
	return h
})

// passwordStamp identifies a password hash without revealing it. A session
// keeps the stamp of the password it was opened with: changing the
// password ends every session opened with the old one.
func passwordStamp(hash string) string {
	sum := sha256.Sum256([]byte(hash))
	return hex.EncodeToString(sum[:8])
}

// passwordAlphabet leaves out the characters read one for another (0/o,
// 1/l/i) when a password is dictated over the phone.
const passwordAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// GeneratePassword returns a random password of four groups of five
// characters (about 99 bits), easy to read out and to type.
func GeneratePassword() string {
	var b strings.Builder
	buf := make([]byte, 20)
	if _, err := rand.Read(buf); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	for i, c := range buf {
		if i > 0 && i%5 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(passwordAlphabet[int(c)%len(passwordAlphabet)])
	}
	return b.String()
}

// randomToken returns n random bytes, URL-safe base64 encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
