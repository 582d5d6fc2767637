package history

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Kinds of record.
const (
	KindReal     = "real"
	KindExercise = "exercise"
	// KindNotHeld is a scheduled exercise that was not held: it has only
	// an id, its exercise_due, a title and a note, and its source.
	KindNotHeld = "exercise_not_held"
)

// Ways an official was informed, as the recipients record them.
var hows = []string{"sms", "voice", "manual"}

// SourceTocsin is the source of the records Tocsin ran itself.
const SourceTocsin = "tocsin"

// DefaultCIPDelaySeconds is the CIP's announced delay when a record gives
// none: one hour.
const DefaultCIPDelaySeconds = 3600

// Record is one activation or exercise of the history. Its field order is
// the canonical line's; times are kept in UTC.
type Record struct {
	ID          string     `json:"id"`
	Kind        string     `json:"kind"`
	Playbook    string     `json:"playbook,omitempty"`
	Title       string     `json:"title"`
	ActivatedAt time.Time  `json:"activated_at"`
	Deadline    time.Time  `json:"deadline"`
	ClosedAt    *time.Time `json:"closed_at,omitempty"`
	Officials   []Official `json:"officials"`
	// CIPActivatedAt is when the public information cell was activated;
	// CIPAnnouncedDelaySeconds its announced delay, set whenever it is.
	CIPActivatedAt           *time.Time `json:"cip_activated_at,omitempty"`
	CIPAnnouncedDelaySeconds int64      `json:"cip_announced_delay_seconds,omitempty"`
	// CIPOperatorsInPosition is set when Tocsin stamped the CIP itself:
	// the line was open with this many operators in position, the
	// playbook's minimum. Unset, the CIP was recorded by hand.
	CIPOperatorsInPosition int `json:"cip_operators_in_position,omitempty"`
	// ExerciseDue is the due instant of the scheduled exercise it fulfils.
	ExerciseDue *time.Time `json:"exercise_due,omitempty"`
	Note        string     `json:"note,omitempty"`
	Source      string     `json:"source"`

	// Line is the line of the file the record was read from; 0 otherwise.
	Line int `json:"-"`
}

// Official is one official an activation targeted.
type Official struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// External: not in the directory of the Tocsin that imports the record.
	External   bool       `json:"external,omitempty"`
	InformedAt *time.Time `json:"informed_at,omitempty"`
	How        string     `json:"how,omitempty"` // sms, voice or manual; set with InformedAt
}

// Exercise reports whether the record is an exercise held.
func (r *Record) Exercise() bool { return r.Kind == KindExercise }

// NotHeld reports whether the record is a scheduled exercise not held.
func (r *Record) NotHeld() bool { return r.Kind == KindNotHeld }

// notHeldLine is the canonical line of a record of KindNotHeld.
type notHeldLine struct {
	ID          string     `json:"id"`
	Kind        string     `json:"kind"`
	Title       string     `json:"title,omitempty"`
	ExerciseDue *time.Time `json:"exercise_due"`
	Note        string     `json:"note,omitempty"`
	Source      string     `json:"source"`
}

// Encode returns the record's canonical line, without its newline. It
// fails only for a record no parse makes: a time outside years 0–9999.
func Encode(r *Record) ([]byte, error) {
	if r.NotHeld() {
		return encode(r.ID, &notHeldLine{ID: r.ID, Kind: r.Kind, Title: r.Title, ExerciseDue: utc(r.ExerciseDue), Note: r.Note, Source: r.Source})
	}
	c := *r
	c.ActivatedAt, c.Deadline = c.ActivatedAt.UTC(), c.Deadline.UTC()
	c.ClosedAt, c.CIPActivatedAt, c.ExerciseDue = utc(c.ClosedAt), utc(c.CIPActivatedAt), utc(c.ExerciseDue)
	c.Officials = make([]Official, len(r.Officials))
	for i, o := range r.Officials {
		o.InformedAt = utc(o.InformedAt)
		c.Officials[i] = o
	}
	return encode(r.ID, &c)
}

func encode(id string, v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode history record %s: %w", id, err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Digest returns the SHA-256, in hex, of the record's canonical line.
func Digest(r *Record) (string, error) {
	line, err := Encode(r)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(line)
	return hex.EncodeToString(sum[:]), nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
