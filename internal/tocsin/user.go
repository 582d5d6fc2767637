package tocsin

import "time"

// Role is what a user of the API and console may do.
type Role string

const (
	RoleAdmin   Role = "admin"   // keeps the directory, playbooks and users; may do everything
	RoleOfficer Role = "officer" // the duty officer: activates, confirms, closes
	RoleAuditor Role = "auditor" // reads everything, changes nothing
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleOfficer || r == RoleAuditor }

// CanActivate reports whether r may start, confirm and close activations.
func (r Role) CanActivate() bool { return r == RoleAdmin || r == RoleOfficer }

// User is someone who uses the API or the console.
type User struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
	// SSO marks a user who signs in through the identity provider and has
	// no password in Tocsin; their role is the provider's groups', read
	// again at each login.
	SSO bool `json:"sso,omitempty"`
}

// rank orders roles by what they may do.
var rank = map[Role]int{RoleAuditor: 1, RoleOfficer: 2, RoleAdmin: 3}

// AtMost returns the narrower of r and limit: a token narrowed to
// auditor reads only, whatever its user may do.
func (r Role) AtMost(limit Role) Role {
	if limit.Valid() && rank[limit] < rank[r] {
		return limit
	}
	return r
}

// APIToken is a personal API token: what the store keeps of it (never
// the secret, only its hash).
type APIToken struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	User string `json:"user"`
	// Role narrows what the token may do below its user's role; empty:
	// the user's role.
	Role      Role       `json:"role,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	LastUsed  *time.Time `json:"last_used,omitempty"`
}

// Identity is who an identity provider (OpenID Connect) says signed in.
type Identity struct {
	Subject string   // the provider's stable identifier of the user
	Name    string   // the name the user has in Tocsin: always holds an « @ »
	Groups  []string // the groups the provider lists
	Role    Role     // the role the groups map to; "" when none does
}

// SecondFactor is a user's authenticator application (TOTP, RFC 6238): the
// secret it shares with Tocsin, shown once at enrolment and never again.
// The zero value is none.
type SecondFactor struct {
	Secret string `json:"secret,omitempty"` // base32
	// Confirmed: the user proved, with a first code, that their
	// application holds the secret. Until then it is asked for nothing.
	Confirmed bool `json:"confirmed,omitempty"`
	// LastStep is the time step of the last code accepted: a code of that
	// step or an earlier one is never accepted again.
	LastStep int64 `json:"last_step,omitempty"`
}
