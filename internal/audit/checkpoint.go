package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Checkpoint is a signed statement of the trail's head at a time: the
// number and hash of the last entry. Kept outside etcd, it reveals a
// trail rewritten from some entry on with every hash recomputed, or cut
// with its head moved back, which the chain alone cannot show.
type Checkpoint struct {
	Seq  uint64    `json:"seq"`  // the last entry's number
	Head string    `json:"head"` // its hash
	At   time.Time `json:"at"`   // when the head was read
	Key  string    `json:"key"`  // the signing key's id (KeyID)
	Sig  string    `json:"sig"`  // Ed25519 signature of signed(), base64
}

// signed is the message a checkpoint's signature covers: a fixed text, so
// that any implementation can rebuild it.
func (c *Checkpoint) signed() []byte {
	return fmt.Appendf(nil, "tocsin-audit-checkpoint-v1\nseq=%d\nhead=%s\nat=%s\nkey=%s\n",
		c.Seq, c.Head, c.At.UTC().Format(time.RFC3339Nano), c.Key)
}

// KeyID names a public key: the first 16 hex digits of its SHA-256. It
// lets checkpoints signed by several keys (after a rotation) be verified
// each with its own.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// Signer signs checkpoints with one private key.
type Signer struct {
	key ed25519.PrivateKey
	id  string
}

// NewSigner returns a signer with key.
func NewSigner(key ed25519.PrivateKey) *Signer {
	return &Signer{key: key, id: KeyID(key.Public().(ed25519.PublicKey))}
}

// KeyID returns the id of the signer's key.
func (s *Signer) KeyID() string { return s.id }

// Public returns the signer's public key.
func (s *Signer) Public() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

// Sign returns the signed checkpoint of head at at.
func (s *Signer) Sign(seq uint64, head string, at time.Time) Checkpoint {
	c := Checkpoint{Seq: seq, Head: head, At: at.UTC(), Key: s.id}
	c.Sig = base64.StdEncoding.EncodeToString(ed25519.Sign(s.key, c.signed()))
	return c
}

// Keyring holds the public keys checkpoints are verified with, by id.
type Keyring map[string]ed25519.PublicKey

// NewKeyring returns a keyring of keys.
func NewKeyring(keys ...ed25519.PublicKey) Keyring {
	k := Keyring{}
	for _, pub := range keys {
		k[KeyID(pub)] = pub
	}
	return k
}

// Errors of a checkpoint that does not verify.
var (
	ErrUnknownKey   = errors.New("clé de signature inconnue")
	ErrBadSignature = errors.New("signature invalide")
)

// Check verifies c's signature: ErrUnknownKey when its key is not in k,
// ErrBadSignature when the signature does not match its content.
func (k Keyring) Check(c *Checkpoint) error {
	pub, ok := k[c.Key]
	if !ok {
		return ErrUnknownKey
	}
	sig, err := base64.StdEncoding.DecodeString(c.Sig)
	if err != nil || !ed25519.Verify(pub, c.signed(), sig) {
		return ErrBadSignature
	}
	return nil
}

// Key text forms: a private key is PKCS #8 in PEM ("PRIVATE KEY"), or
// that PEM's base64 body on one line (for an environment variable); a
// public key is "ed25519:" and the key's 32 bytes in base64, or PKIX in
// PEM ("PUBLIC KEY").
const publicPrefix = "ed25519:"

// GenerateKey returns a new key pair.
func GenerateKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	return ed25519.GenerateKey(rand.Reader)
}

// MarshalPrivateKey returns key in PEM (PKCS #8).
func MarshalPrivateKey(key ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParsePrivateKey reads an Ed25519 private key in PEM (PKCS #8), or its
// base64 body on one line. Its errors never quote the key.
func ParsePrivateKey(text []byte) (ed25519.PrivateKey, error) {
	der := []byte(nil)
	if b, _ := pem.Decode(text); b != nil {
		der = b.Bytes
	} else if d, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(text))); err == nil {
		der = d
	} else {
		return nil, errors.New("clé privée illisible : PEM (PRIVATE KEY) ou son contenu en base64 attendu")
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, errors.New("clé privée illisible : PKCS #8 attendu, tel que l'écrit tocsin audit keygen")
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, errors.New("clé privée d'un autre type : Ed25519 attendue")
	}
	return key, nil
}

// FormatPublicKey returns pub as "ed25519:<base64>", one line.
func FormatPublicKey(pub ed25519.PublicKey) string {
	return publicPrefix + base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey reads a public key as FormatPublicKey writes it, or in
// PEM (PKIX "PUBLIC KEY").
func ParsePublicKey(text string) (ed25519.PublicKey, error) {
	text = strings.TrimSpace(text)
	if rest, ok := strings.CutPrefix(text, publicPrefix); ok {
		b, err := base64.StdEncoding.DecodeString(rest)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("clé publique %q illisible : ed25519: suivi de 32 octets en base64 attendu", text)
		}
		return ed25519.PublicKey(b), nil
	}
	if b, _ := pem.Decode([]byte(text)); b != nil {
		k, err := x509.ParsePKIXPublicKey(b.Bytes)
		if pub, ok := k.(ed25519.PublicKey); err == nil && ok {
			return pub, nil
		}
		return nil, errors.New("clé publique PEM illisible : Ed25519 (PUBLIC KEY) attendue")
	}
	return nil, fmt.Errorf("clé publique %q illisible : « ed25519:… » ou PEM attendu", text)
}

// String describes c in French, for messages: its number, key and time.
func (c *Checkpoint) String() string {
	return "point de contrôle de l'entrée n° " + strconv.FormatUint(c.Seq, 10) + " signé le " +
		tocsin.ParisTime(c.At) + " (heure de Paris, clé " + c.Key + ")"
}
