package tocsin

import (
	"fmt"
	"time"
)

// AuditEntry is one line of the audit trail: who did what, when. Entries
// are numbered from 1 without gaps, and each carries the hash of the one
// before, so that an edit, a deletion or a reordering shows.
type AuditEntry struct {
	Seq        uint64    `json:"seq"`
	At         time.Time `json:"at"` // server time, UTC
	Actor      string    `json:"actor"`
	Action     string    `json:"action"`
	Activation string    `json:"activation,omitempty"`
	Detail     string    `json:"detail,omitempty"` // in French
	// Prev is the hash of entry Seq-1 ("" for the first).
	Prev string `json:"prev"`
	// Hash is SHA-256, in hex, over the entry's canonical form.
	Hash string `json:"hash"`
	// Pos is where storage holds the entry: the number in its key, set
	// when read. It equals Seq unless the trail was tampered with.
	Pos uint64 `json:"-"`
	// Writes is how many times storage wrote the entry's key since it was
	// created (1 unless it was rewritten), and Created the store revision
	// that created it: entries are written once, in order, so anything
	// else betrays a hand edit even when every hash was recomputed. Zero
	// when the store keeps no such record.
	Writes  int64 `json:"-"`
	Created int64 `json:"-"`
}

// AuditHead is the last entry of the trail as storage knows it: its number
// and hash, and the revision to compare against when appending after it.
type AuditHead struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
	Rev  int64  `json:"-"`
}

// AuditPage is a run of consecutive entries, oldest first, read with the
// head at one revision of the store.
type AuditPage struct {
	Entries []AuditEntry
	Head    AuditHead
	// Rev is the store revision the page was read at: the next pages read
	// at it see the same trail, whatever is appended meanwhile.
	Rev int64
	// More is true when entries follow the last one.
	More bool
}

// AuditPending is an entry written in the same transaction as the change
// it records, waiting in the store's outbox to be chained: not yet
// numbered nor hashed. Key names the record in the store.
type AuditPending struct {
	Key   string
	Entry AuditEntry
}

// AuditMark is the store revision up to which recipients' state changes
// are in the trail, and the mod revision to compare when moving it.
type AuditMark struct {
	Rev    int64
	ModRev int64
}

// RecipientChange is a write that changed a recipient's status, at store
// revision Rev, with the recipient before it (nil when the write created
// it) and after.
type RecipientChange struct {
	Rev        int64
	Activation string
	Prev, Cur  *Recipient
}

// CompactedError means the store no longer holds the revisions up to Rev
// (excluded): changes made before cannot be replayed.
type CompactedError struct{ Rev int64 }

func (e *CompactedError) Error() string {
	return fmt.Sprintf("store history compacted up to revision %d", e.Rev)
}

// Audit actions.
const (
	AuditActivationCreated = "activation.created"
	AuditActivationClosed  = "activation.closed"
	AuditCIP               = "activation.cip"
	AuditConfirmed         = "recipient.confirmed" // informed by hand
	AuditInformed          = "recipient.informed"  // acknowledged by SMS or key press, in trails kept before AuditRecipients
	AuditLogin             = "login"
	AuditLoginFailed       = "login.failed"
	AuditImport            = "directory.imported"
	AuditExport            = "export"
	AuditExercise          = "exercise"
	AuditConfig            = "config"
	// AuditRoute records that sends changed provider route, or the duty
	// officer's choice of route.
	AuditRoute = "route"
	// AuditRecipients lists recipients' state changes of one activation:
	// first delivery, failure, acknowledgement by SMS or key press.
	AuditRecipients = "recipients.changed"
	// AuditUnreadable stands in the chain for an outbox record that could
	// not be decoded, with its raw content.
	AuditUnreadable = "audit.unreadable"
	// AuditRefused records an action refused to a user (403: role,
	// security token, origin), or how many more were refused in a
	// window past the bound of those recorded one by one.
	AuditRefused = "access.refused"
)
