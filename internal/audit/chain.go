package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// canonical is the hashed form of an entry: fixed field order, UTC time
// to the nanosecond, no Hash.
type canonical struct {
	Seq        uint64 `json:"seq"`
	At         string `json:"at"`
	Actor      string `json:"actor"`
	Action     string `json:"action"`
	Activation string `json:"activation"`
	Detail     string `json:"detail"`
	Prev       string `json:"prev"`
}

// Hash returns the SHA-256, in hex, of e's canonical form.
func Hash(e *tocsin.AuditEntry) string {
	b, _ := json.Marshal(canonical{Seq: e.Seq, At: e.At.UTC().Format(time.RFC3339Nano), Actor: e.Actor,
		Action: e.Action, Activation: e.Activation, Detail: e.Detail, Prev: e.Prev})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Seal numbers e after head, chains it to it and sets its hash.
func Seal(e tocsin.AuditEntry, head tocsin.AuditHead) tocsin.AuditEntry {
	e.Seq = head.Seq + 1
	e.Prev = head.Hash
	e.At = e.At.UTC()
	e.Hash = Hash(&e)
	return e
}

// Break names the first entry that does not match.
type Break struct {
	Seq    uint64 `json:"seq"`    // the entry's number where the chain breaks
	Reason string `json:"reason"` // in French
}

// Error returns the reason.
func (b *Break) Error() string { return b.Reason }

// Result is the outcome of a verification: the chain, against the signed
// checkpoints too, then the store's records against it. OK requires an
// intact chain that reaches every checkpoint with the hashes they signed,
// no invalid checkpoint and nothing missing; pending records, and a trail
// not anchored, do not fail it.
type Result struct {
	OK      bool   `json:"ok"`
	Entries int    `json:"entries"`
	Head    string `json:"head,omitempty"` // the last entry's hash
	Break   *Break `json:"break,omitempty"`
	// Missing names (up to 100 of MissingCount) the activations and
	// informed recipients the trail does not account for.
	Missing      []Unrecorded `json:"missing,omitempty"`
	MissingCount int          `json:"missing_count"`
	// Pending names (up to 100 of PendingCount) those whose entry is
	// written but not chained yet, or whose change the leader has yet to
	// record.
	Pending      []Unrecorded `json:"pending,omitempty"`
	PendingCount int          `json:"pending_count"`
	// Outbox counts the entries written with their changes and waiting
	// to be chained.
	Outbox int `json:"outbox"`
	// Anchor is what the signed checkpoints showed: whether the trail is
	// anchored, and the checkpoint lines that are not valid (they fail
	// the verification).
	Anchor *AnchorReport `json:"anchor,omitempty"`
}

// verifier recomputes the chain one entry at a time, in the order
// storage holds them, so that a trail of any length is checked page by
// page with only the previous hash in memory.
type verifier struct {
	n       uint64 // entries checked
	prev    string // the last checked entry's hash
	created int64  // the store revision that created it
}

// add checks the next entry and returns where the chain breaks, if it does.
func (v *verifier) add(e *tocsin.AuditEntry) *Break {
	want := v.n + 1
	switch {
	case e.Pos > want:
		return &Break{Seq: want, Reason: fmt.Sprintf("l'entrée n° %d manque (supprimée ?) : la suivante est la n° %d", want, e.Seq)}
	case e.Pos < want || e.Seq != want:
		return &Break{Seq: want, Reason: fmt.Sprintf("entrée n° %d hors de sa place : la n° %d est attendue ici (ordre modifié ?)", e.Seq, want)}
	case Hash(e) != e.Hash:
		return &Break{Seq: want, Reason: fmt.Sprintf("l'entrée n° %d a été modifiée : son empreinte ne correspond plus à son contenu", want)}
	case e.Prev != v.prev:
		return &Break{Seq: want, Reason: fmt.Sprintf("l'entrée n° %d ne suit pas l'entrée n° %d : l'empreinte précédente ne correspond pas (modifiée, supprimée ou déplacée)", want, want-1)}
	case e.Writes > 1:
		return &Break{Seq: want, Reason: fmt.Sprintf("l'entrée n° %d a été réécrite dans etcd après sa création (%d écritures) : modifiée à la main, même si son empreinte a été recalculée", want, e.Writes)}
	case e.Created != 0 && e.Created < v.created:
		return &Break{Seq: want, Reason: fmt.Sprintf("l'entrée n° %d a été créée dans etcd avant l'entrée n° %d : l'une des deux a été recréée à la main", want, want-1)}
	}
	v.n, v.prev = want, e.Hash
	if e.Created != 0 {
		v.created = e.Created
	}
	return nil
}

// finish checks the last entry against the head the store keeps.
func (v *verifier) finish(head tocsin.AuditHead) Result {
	res := Result{Entries: int(v.n)}
	switch last := v.n; {
	case head.Seq > last:
		res.Break = &Break{Seq: last + 1, Reason: fmt.Sprintf("l'entrée n° %d manque : le journal en compte %d (supprimée ?)", last+1, head.Seq)}
	case head.Seq < last || head.Hash != v.prev:
		res.Break = &Break{Seq: last, Reason: fmt.Sprintf("l'entrée n° %d ne correspond pas à la dernière entrée enregistrée", last)}
	default:
		res.OK, res.Head = true, v.prev
	}
	return res
}
