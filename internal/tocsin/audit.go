package tocsin

import "time"

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
}

// AuditHead is the last entry of the trail as storage knows it: its number
// and hash, and the revision to compare against when appending after it.
type AuditHead struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
	Rev  int64  `json:"-"`
}

// Audit actions.
const (
	AuditActivationCreated = "activation.created"
	AuditActivationClosed  = "activation.closed"
	AuditCIP               = "activation.cip"
	AuditConfirmed         = "recipient.confirmed" // informed by hand
	AuditInformed          = "recipient.informed"  // acknowledged by SMS or key press
	AuditLogin             = "login"
	AuditLoginFailed       = "login.failed"
	AuditImport            = "directory.imported"
	AuditExport            = "export"
	AuditExercise          = "exercise"
	AuditConfig            = "config"
)
