package directory

import "github.com/prefecture76/tocsin/internal/tocsin"

// roleAliases maps the slug of what people write in the "fonction" column
// to one of tocsin.Roles. The roles themselves are accepted as they are.
var roleAliases = map[string]string{
	"maire-deleguee":         "maire-delegue",
	"adjointe":               "adjoint",
	"adjoint-au-maire":       "adjoint",
	"adjointe-au-maire":      "adjoint",
	"maire-adjoint":          "adjoint",
	"maire-adjointe":         "adjoint",
	"premier-adjoint":        "adjoint",
	"premiere-adjointe":      "adjoint",
	"1er-adjoint":            "adjoint",
	"1ere-adjointe":          "adjoint",
	"conseillere":            "conseiller",
	"conseiller-municipal":   "conseiller",
	"conseillere-municipale": "conseiller",
	"deputee":                "depute",
	"senatrice":              "senateur",
	"presidente-epci":        "president-epci",
	"president-d-epci":       "president-epci",
	"presidente-d-epci":      "president-epci",
	"president-de-l-epci":    "president-epci",
	"presidente-de-l-epci":   "president-epci",
}

// NormalizeRole maps a role as people write it ("Maire", "Adjointe au
// maire", "Député", "Président d'EPCI") to one of tocsin.Roles.
func NormalizeRole(raw string) (string, bool) {
	s := slug(raw)
	if tocsin.ValidRole(s) {
		return s, true
	}
	r, ok := roleAliases[s]
	return r, ok
}
