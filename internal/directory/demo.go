package directory

import (
	"fmt"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Invented names for the demo directory. The two list lengths are coprime,
// so the first len(demoFirstNames)×len(demoLastNames) officials all get a
// different name; the surnames are made up so that no demo official
// carries the name of the commune's real mayor.
var (
	demoFirstNames = []string{
		"Claire", "Jean", "Sophie", "Michel", "Nathalie", "Pierre", "Isabelle", "Philippe",
		"Catherine", "Alain", "Valérie", "Patrick", "Sandrine", "Thierry", "Martine", "Olivier",
		"Hélène", "Christophe", "Anne", "Didier", "Sylvie", "Laurent", "Brigitte", "Bruno",
	}
	demoLastNames = []string{
		"Aubrelin", "Bocquenet", "Courtebise", "Dantremont", "Fauvelier", "Guerbourg", "Hautemare", "Jouvenot",
		"Lanquetuit", "Malherbeau", "Nervilliers", "Ouvrardin", "Pelletrain", "Quesnoval", "Roncelin", "Savarieau",
		"Touffrecal", "Vauquemont", "Brumelot", "Cailleville", "Dorvaliers", "Ebrelin", "Fréminval", "Gruchard",
		"Hervillard", "Lestourbe", "Morvillard", "Pontaudier", "Rimbaucourt", "Trévalier", "Varengard",
	}
)

// demoDeputyPopulation is the population above which a demo commune also
// has a first deputy mayor.
const demoDeputyPopulation = 10000

// Demo returns a fictional directory for the demonstration, training and
// tests: one mayor for every commune of the reference, id
// "<insee>-maire", and for communes above 10,000 inhabitants a first
// deputy, "<insee>-adjoint1", listed in the mayor's Deputies. Every mobile
// is in ARCEP's fiction range 06 39 98 xx xx; about a third of the mayors
// also have a town-hall landline in the fiction range 02 61 91 xx xx. No
// two officials share a number. The result is the same on every call.
func Demo() []tocsin.Official {
	communes := loadReference().communes
	out := make([]tocsin.Official, 0, len(communes)+32)
	var deputies int
	for i, c := range communes {
		mayor := demoOfficial(c, c.INSEE+"-maire", "maire", i, fictionMobilePrefix+fmt.Sprintf("%04d", 1000+i))
		if i%3 == 0 {
			mayor.Numbers = append(mayor.Numbers, tocsin.Number{
				E164: fictionLandlinePrefix + fmt.Sprintf("%04d", 1000+i),
				Kind: tocsin.Landline,
			})
		}
		if c.Population <= demoDeputyPopulation {
			out = append(out, mayor)
			continue
		}
		id := c.INSEE + "-adjoint1"
		mayor.Deputies = []string{id}
		deputy := demoOfficial(c, id, "adjoint", len(communes)+deputies, fictionMobilePrefix+fmt.Sprintf("%04d", 5000+deputies))
		deputies++
		out = append(out, mayor, deputy)
	}
	return out
}

func demoOfficial(c Commune, id, role string, n int, mobile string) tocsin.Official {
	return tocsin.Official{
		ID:             id,
		Name:           demoFirstNames[n%len(demoFirstNames)] + " " + demoLastNames[n%len(demoLastNames)],
		Role:           role,
		Commune:        c.INSEE,
		CommuneName:    c.Name,
		Arrondissement: c.Arrondissement,
		Lat:            c.Lat,
		Lon:            c.Lon,
		Numbers:        []tocsin.Number{{E164: mobile, Kind: tocsin.Mobile}},
	}
}

// demoOperatorNames are the invented operators of the demo CIP; the last
// one is on leave.
var demoOperatorNames = []string{
	"Agathe Brumelin", "Bastien Corvalier", "Chloé Dauberval", "Damien Estourmel",
	"Elise Franqueval", "Fabien Gontrand", "Gaëlle Hurtebise", "Hugo Lanvérec",
}

// DemoOperators returns a fictional CIP roster for the demonstration:
// eight operators, "cip-01" to "cip-08", the last one unavailable, each
// with a mobile in ARCEP's fiction range (06 39 98 90 01…) that no demo
// official has. The result is the same on every call.
func DemoOperators() []tocsin.Operator {
	out := make([]tocsin.Operator, len(demoOperatorNames))
	for i, name := range demoOperatorNames {
		out[i] = tocsin.Operator{ID: fmt.Sprintf("cip-%02d", i+1), Name: name, Available: i < len(demoOperatorNames)-1,
			Numbers: []tocsin.Number{{E164: fictionMobilePrefix + fmt.Sprintf("%04d", 9001+i), Kind: tocsin.Mobile}}}
	}
	return out
}
