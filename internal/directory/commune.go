package directory

import (
	"bytes"
	"cmp"
	_ "embed"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Commune is one commune of Seine-Maritime as the reference describes it
// (see data/SOURCES.md for sources and vintages).
type Commune struct {
	INSEE              string  `json:"insee"`               // code officiel géographique, e.g. 76217
	Name               string  `json:"name"`                // Dieppe
	ArrondissementCode string  `json:"arrondissement_code"` // 761, 762, 763
	Arrondissement     string  `json:"arrondissement"`      // Dieppe, Le Havre, Rouen
	EPCI               string  `json:"epci"`                // the EPCI à fiscalité propre it belongs to
	Population         int     `json:"population"`          // population municipale
	Lat                float64 `json:"lat"`
	Lon                float64 `json:"lon"`
	PostalCode         string  `json:"postal_code"` // the first of its postal codes
}

//go:embed data/communes-76.csv
var communesCSV []byte

type reference struct {
	communes []Commune
	byINSEE  map[string]int
	// byPostal maps each postal code to the communes that use it, so that
	// an import can tell a postal code typed in place of an INSEE code.
	byPostal map[string][]string
	// byName maps a folded name to its INSEE code.
	byName          map[string]string
	arrondissements []string
}

// loadReference parses the embedded file once, on first use. The file is
// part of the build and checked by the tests, so a failure is a build
// defect, not an input error.
var loadReference = sync.OnceValue(func() *reference {
	ref, err := parseReference(communesCSV)
	if err != nil {
		panic("directory: embedded communes reference: " + err.Error())
	}
	return ref
})

func parseReference(data []byte) (*reference, error) {
	r := csv.NewReader(bytes.NewReader(data))
	rows, err := r.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("no rows")
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, h := range []string{"insee", "name", "arrondissement_code", "arrondissement", "epci_name", "population_municipale", "postal_code", "postal_codes", "lat", "lon"} {
		if _, ok := col[h]; !ok {
			return nil, fmt.Errorf("missing column %q", h)
		}
	}
	ref := &reference{
		byINSEE:  map[string]int{},
		byPostal: map[string][]string{},
		byName:   map[string]string{},
	}
	for n, row := range rows[1:] {
		pop, err1 := strconv.Atoi(row[col["population_municipale"]])
		lat, err2 := strconv.ParseFloat(row[col["lat"]], 64)
		lon, err3 := strconv.ParseFloat(row[col["lon"]], 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("line %d: bad number", n+2)
		}
		c := Commune{
			INSEE:              row[col["insee"]],
			Name:               row[col["name"]],
			ArrondissementCode: row[col["arrondissement_code"]],
			Arrondissement:     row[col["arrondissement"]],
			EPCI:               row[col["epci_name"]],
			Population:         pop,
			Lat:                lat,
			Lon:                lon,
			PostalCode:         row[col["postal_code"]],
		}
		if _, dup := ref.byINSEE[c.INSEE]; dup {
			return nil, fmt.Errorf("line %d: duplicate INSEE code %s", n+2, c.INSEE)
		}
		ref.byINSEE[c.INSEE] = len(ref.communes)
		ref.communes = append(ref.communes, c)
		for _, p := range strings.Split(row[col["postal_codes"]], "|") {
			ref.byPostal[p] = append(ref.byPostal[p], c.INSEE)
		}
		ref.byName[fold(c.Name)] = c.INSEE
		if !slices.Contains(ref.arrondissements, c.Arrondissement) {
			ref.arrondissements = append(ref.arrondissements, c.Arrondissement)
		}
	}
	slices.Sort(ref.arrondissements)
	return ref, nil
}

// Communes returns every commune of the reference, by INSEE code. The
// slice is the caller's own.
func Communes() []Commune {
	return slices.Clone(loadReference().communes)
}

// CommuneByINSEE returns the commune with that INSEE code.
func CommuneByINSEE(code string) (Commune, bool) {
	ref := loadReference()
	i, ok := ref.byINSEE[code]
	if !ok {
		return Commune{}, false
	}
	return ref.communes[i], true
}

// CommunesWithin returns the communes whose point lies within km of the
// given point, nearest first: the communes a playbook's circle reaches.
func CommunesWithin(lat, lon, km float64) []Commune {
	type near struct {
		c Commune
		d float64
	}
	var found []near
	for _, c := range loadReference().communes {
		if d := tocsin.DistanceKm(lat, lon, c.Lat, c.Lon); d <= km {
			found = append(found, near{c, d})
		}
	}
	slices.SortStableFunc(found, func(a, b near) int { return cmp.Compare(a.d, b.d) })
	out := make([]Commune, len(found))
	for i, n := range found {
		out[i] = n.c
	}
	return out
}

// Arrondissements returns the names of the département's arrondissements,
// sorted: Dieppe, Le Havre, Rouen.
func Arrondissements() []string {
	return slices.Clone(loadReference().arrondissements)
}

// slug lowers s, drops its accents and joins its words with "-", so that
// "Saint-Étienne-du-Rouvray", "saint etienne du rouvray" and
// "SAINT_ETIENNE DU ROUVRAY" all give "saint-etienne-du-rouvray".
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		f, ok := accentFold[c]
		switch {
		case ok:
		case (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'):
			f = string(c)
		default:
			dash = b.Len() > 0
			continue
		}
		if dash {
			b.WriteByte('-')
			dash = false
		}
		b.WriteString(f)
	}
	return b.String()
}

// fold is slug without the dashes.
func fold(s string) string { return strings.ReplaceAll(slug(s), "-", "") }

// sameCommuneName reports whether a and b name the same commune, allowing
// for case, accents, punctuation, "St"/"Ste" for "Saint"/"Sainte" and a
// dropped leading article ("Grand-Quevilly" for "Le Grand-Quevilly").
func sameCommuneName(a, b string) bool {
	return communeKey(a) == communeKey(b)
}

func communeKey(s string) string {
	words := strings.Split(slug(s), "-")
	if len(words) > 1 {
		switch words[0] {
		case "le", "la", "les", "l":
			words = words[1:]
		}
	}
	for i, w := range words {
		switch w {
		case "st":
			words[i] = "saint"
		case "ste":
			words[i] = "sainte"
		}
	}
	return strings.Join(words, "")
}

var accentFold = map[rune]string{
	'à': "a", 'â': "a", 'ä': "a", 'á': "a",
	'ç': "c",
	'é': "e", 'è': "e", 'ê': "e", 'ë': "e",
	'î': "i", 'ï': "i", 'í': "i",
	'ô': "o", 'ö': "o", 'ó': "o",
	'ù': "u", 'û': "u", 'ü': "u", 'ú': "u",
	'ÿ': "y",
	'œ': "oe", 'æ': "ae",
}

// unknownCommuneMessage explains an unknown code, spotting a commune name
// or a postal code typed in place of the INSEE code.
func unknownCommuneMessage(code string) string {
	ref := loadReference()
	if insee, ok := ref.byName[fold(code)]; ok {
		c, _ := CommuneByINSEE(insee)
		return fmt.Sprintf("%s est un nom de commune : indiquez son code INSEE, %s", quote(code), c.INSEE)
	}
	if codes := ref.byPostal[code]; len(codes) == 1 {
		c, _ := CommuneByINSEE(codes[0])
		return fmt.Sprintf("%s est un code postal, pas un code INSEE : le code INSEE de %s est %s", quote(code), c.Name, c.INSEE)
	} else if len(codes) > 1 {
		return fmt.Sprintf("%s est un code postal commun à %d communes, pas un code INSEE : indiquez le code INSEE de la commune", quote(code), len(codes))
	}
	return fmt.Sprintf("commune inconnue %s : indiquez le code INSEE d'une commune de Seine-Maritime (5 chiffres, par exemple 76217 pour Dieppe)", quote(code))
}

// postalNamesakes names the other communes whose postal code is insee, ""
// when there are none. Most postal codes of the département are also the
// INSEE code of another commune (76200 is Dieppe's postal code and
// Critot's INSEE code), so such a code needs the commune's name beside it
// before the import trusts it.
func postalNamesakes(insee string) string {
	var names []string
	for _, code := range loadReference().byPostal[insee] {
		if code != insee {
			c, _ := CommuneByINSEE(code)
			names = append(names, c.Name)
		}
	}
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	case 2:
		return names[0] + " et " + names[1]
	default:
		return fmt.Sprintf("%s et %d autres communes", names[0], len(names)-1)
	}
}
