package tocsin

import "time"

// Import records where an imported activation comes from: activations and
// exercises run before Tocsin, or outside it, read from a history file so
// that the yearly figures are whole.
type Import struct {
	// Source is the record's own account of where it comes from ("registre
	// papier SIDPC 2025"), or "tocsin" for a record another Tocsin ran.
	Source string    `json:"source"`
	At     time.Time `json:"at"` // when it was imported, UTC
	By     string    `json:"by"` // the administrator who imported it
	// Digest is the SHA-256, in hex, of the record's canonical line: the
	// same record imported again is recognised by it.
	Digest string `json:"digest"`
}

// AuditHistoryImported is the audit action of a history import.
const AuditHistoryImported = "history.imported"

// ImportedError is the conflict an action on an imported activation meets:
// it happened outside Tocsin and is kept as it was recorded.
func ImportedError(id string) *Error {
	return Errorf(EConflict, "l'activation %s est importée de l'historique : elle ne se modifie pas", id)
}
