package tocsin

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
}
