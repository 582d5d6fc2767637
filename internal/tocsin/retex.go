package tocsin

import "time"

// Retex is the lessons learned from an exercise (retour d'expérience),
// entered by a duty officer once the exercise activation is closed.
type Retex struct {
	Activation string    `json:"activation"`
	Text       string    `json:"text"` // in French, as entered
	By         string    `json:"by"`
	At         time.Time `json:"at"` // UTC
}

// MaxRetex bounds a RETEX's length, in characters.
const MaxRetex = 5000

// AuditRetex is the audit action of a RETEX entered or replaced.
const AuditRetex = "exercise.retex"
