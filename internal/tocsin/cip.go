package tocsin

// Operator is one member of the CIP's roster: an agent of the préfecture
// or a volunteer who staffs the public information line. The roster is
// kept apart from the directory of officials: operators are not informed
// of an activation, they are called out to staff the line.
type Operator struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Numbers []Number `json:"numbers"` // at least one
	// Available is false for an operator on leave or off the rota: a
	// call-out of the CIP skips them.
	Available bool `json:"available"`
}

// MaxOperators bounds the CIP's roster: it is written in one store
// operation.
const MaxOperators = 500

// AuditCIPRoster records an import of the CIP's roster.
const AuditCIPRoster = "cip.roster"
