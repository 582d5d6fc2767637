package tocsin

import (
	"slices"
	"time"
)

// DefaultDeadline is the one-hour target to inform every official.
const DefaultDeadline = time.Hour

// Playbook is a scenario read from playbooks/*.yaml: who to inform, with
// what message, by when, and how to escalate.
type Playbook struct {
	ID       string        `json:"id"`
	Title    string        `json:"title"`
	Exercise bool          `json:"exercise"` // an exercise playbook: every activation of it is an exercise
	Audience Audience      `json:"audience"`
	Message  string        `json:"message"`  // text/template source, see internal/playbook
	Deadline time.Duration `json:"deadline"` // DefaultDeadline when the file gives none
	Ladder   []Rung        `json:"ladder"`   // DefaultLadder when the file gives none
	File     string        `json:"file"`     // where it was read from
	// CIP is the playbook's « cip » section; nil: the defaults.
	CIP *PlaybookCIP `json:"cip,omitempty"`
}

// Audience selects officials. Everyone, or the union of the lists and the
// circle; Roles, when given, then restricts that set to those roles.
type Audience struct {
	Everyone        bool     `json:"everyone,omitempty"`
	Arrondissements []string `json:"arrondissements,omitempty"` // names: Dieppe, Le Havre, Rouen
	Communes        []string `json:"communes,omitempty"`        // INSEE codes
	Roles           []string `json:"roles,omitempty"`
	Within          *Circle  `json:"within,omitempty"`
}

// Circle is a disc around a point, such as the 20 km of a nuclear plant's
// emergency plan (PPI).
type Circle struct {
	Label string  `json:"label,omitempty"`
	Lat   float64 `json:"lat"`
	Lon   float64 `json:"lon"`
	Km    float64 `json:"km"`
}

// Match reports whether o is in the audience. An audience with roles and no
// place selects those roles across the whole directory.
func (a *Audience) Match(o *Official) bool {
	if len(a.Roles) > 0 && !slices.Contains(a.Roles, o.Role) {
		return false
	}
	if a.Everyone || !a.hasPlace() {
		return true
	}
	return slices.Contains(a.Arrondissements, o.Arrondissement) ||
		slices.Contains(a.Communes, o.Commune) ||
		(a.Within != nil && o.HasLocation() && DistanceKm(a.Within.Lat, a.Within.Lon, o.Lat, o.Lon) <= a.Within.Km)
}

func (a *Audience) hasPlace() bool {
	return len(a.Arrondissements) > 0 || len(a.Communes) > 0 || a.Within != nil
}

// Empty reports whether the audience selects nothing at all.
func (a *Audience) Empty() bool {
	return !a.Everyone && !a.hasPlace() && len(a.Roles) == 0
}

// Channel is how an attempt reaches a number.
type Channel string

// Label names a channel for people: « SMS », « appel vocal », « liste
// « à appeler » ».
func (c Channel) Label() string {
	switch c {
	case SMS:
		return "SMS"
	case Voice:
		return "appel vocal"
	case Manual:
		return "liste « à appeler »"
	}
	return string(c)
}

const (
	SMS   Channel = "sms"
	Voice Channel = "voice"
)

// Target names which numbers a rung uses.
type Target string

const (
	TargetMobile   Target = "mobile"   // the official's mobiles
	TargetLandline Target = "landline" // the official's landlines
	TargetDeputies Target = "deputies" // the mobiles (and, for voice, landlines) of the official's deputies
)

// Rung is one step of the escalation ladder: at After from activation, for
// officials not yet informed, contact the Targets' numbers by Channel, and
// try again Retries times when an attempt fails for a reason that allows it.
type Rung struct {
	After   time.Duration `json:"after"`
	Channel Channel       `json:"channel"`
	Targets []Target      `json:"targets"`
	Retries int           `json:"retries,omitempty"`
	// RetryAfter is how long after a failed attempt a retry goes; zero
	// means the channel's default (RetryDelay).
	RetryAfter time.Duration `json:"retry_after,omitempty"`
}

// DefaultLadder is used when a playbook gives none: an SMS to every mobile at
// once.
var DefaultLadder = []Rung{{After: 0, Channel: SMS, Targets: []Target{TargetMobile}}}
