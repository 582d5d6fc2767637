package tocsin

import (
	"math"
	"regexp"
)

// NumberKind says what a phone number can receive: a mobile takes SMS and
// calls, a landline only calls (a French landline cannot receive an SMS).
type NumberKind string

const (
	Mobile   NumberKind = "mobile"
	Landline NumberKind = "landline"
)

// Number is one of an official's phone numbers, in E.164 form (+33639981234).
type Number struct {
	E164 string     `json:"e164"`
	Kind NumberKind `json:"kind"`
}

// Official is an elected official (élu) that activations inform.
type Official struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Role           string   `json:"role"`               // maire, adjoint, député, …
	Commune        string   `json:"commune"`            // INSEE code, e.g. 76217
	CommuneName    string   `json:"commune_name"`       // Dieppe
	Arrondissement string   `json:"arrondissement"`     // Dieppe, Le Havre, Rouen
	Lat            float64  `json:"lat,omitempty"`      // where the official stands (the commune's point)
	Lon            float64  `json:"lon,omitempty"`      //
	Numbers        []Number `json:"numbers"`            // at least one
	Deputies       []string `json:"deputies,omitempty"` // ids of the officials who stand in
}

// Roles known to the directory. Others are refused at import so that a typo
// does not silently drop an official from a role-based audience.
var Roles = []string{"maire", "maire-delegue", "adjoint", "conseiller", "depute", "senateur", "president-epci", "autre"}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ValidID reports whether s can name an official, an activation or a
// playbook: lowercase letters, digits, '.', '_' and '-', at most 64.
func ValidID(s string) bool { return idPattern.MatchString(s) }

// ValidRole reports whether role is one of Roles.
func ValidRole(role string) bool {
	for _, r := range Roles {
		if r == role {
			return true
		}
	}
	return false
}

// HasLocation reports whether the official has coordinates.
func (o *Official) HasLocation() bool { return o.Lat != 0 || o.Lon != 0 }

// FirstOf returns the official's first number of the given kind, "" when
// there is none.
func (o *Official) FirstOf(kind NumberKind) string {
	for _, n := range o.Numbers {
		if n.Kind == kind {
			return n.E164
		}
	}
	return ""
}

// NumbersOf returns the official's numbers of the given kind.
func (o *Official) NumbersOf(kind NumberKind) []Number {
	var out []Number
	for _, n := range o.Numbers {
		if n.Kind == kind {
			out = append(out, n)
		}
	}
	return out
}

// DistanceKm is the great-circle distance between two points in kilometres.
func DistanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	const earthRadiusKm = 6371.0
	rad := math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Sqrt(a))
}
