package directory

import (
	"io"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// operatorFormat is the format of the CIP's roster.
var operatorFormat = &csvFormat{
	aliases: map[string]column{
		"id": colID, "identifiant": colID,
		"nom": colName, "nom-prenom": colName, "prenom-nom": colName, "name": colName,
		"mobile": colMobile, "mobiles": colMobile, "portable": colMobile, "portables": colMobile, "telephone-mobile": colMobile,
		"fixe": colLandline, "fixes": colLandline, "telephone-fixe": colLandline, "landline": colLandline, "landlines": colLandline,
		"disponible": colAvailable, "disponibilite": colAvailable, "available": colAvailable,
		"commentaire": colIgnored, "commentaires": colIgnored, "remarque": colIgnored, "remarques": colIgnored,
		"note": colIgnored, "notes": colIgnored, "comment": colIgnored, "comments": colIgnored, "service": colIgnored,
	},
	required: []column{colID, colName},
	names: map[column]string{colID: "id", colName: "nom", colMobile: "mobile", colLandline: "fixe",
		colAvailable: "disponible"},
	list:     "id, nom, mobile, fixe, disponible",
	optional: "commentaire, service",
}

// availability maps the words a spreadsheet may hold in the « disponible »
// column to the availability they say; an empty cell is « oui ».
var availability = map[string]bool{
	"": true, "oui": true, "o": true, "x": true, "1": true, "yes": true, "y": true, "true": true, "vrai": true, "disponible": true,
	"non": false, "n": false, "0": false, "no": false, "false": false, "faux": false, "indisponible": false,
}

// ParseOperatorsCSV reads the CIP's roster from a spreadsheet export, with
// the rules of ParseCSV: the first line names the columns id, nom, mobile,
// fixe and disponible (oui or non, empty for oui), in any order and case;
// the separator is the header's; mobile and fixe hold one or more numbers
// separated by "|", at least one in all; commentaire and service are
// ignored. At most tocsin.MaxOperators operators.
//
// It is all or nothing: on any error it returns no operator and a
// *tocsin.ListError whose errors name the line and column, in French.
func ParseOperatorsCSV(r io.Reader) ([]tocsin.Operator, error) {
	data, err := readCSV(r)
	if err != nil {
		return nil, err
	}
	var errs errorList
	p := &csvParser{format: operatorFormat, errs: &errs, ids: map[string]int{}}
	var out []tocsin.Operator
	if p.start(data) {
		_, mobile := p.index[colMobile]
		_, landline := p.index[colLandline]
		if !mobile && !landline {
			hl, _ := p.cr.FieldPos(0)
			errs.add(hl, lineField(hl), "colonnes « mobile » et « fixe » manquantes : il en faut au moins une")
		} else {
			p.readRows(func(rec []string) {
				if op, ok := p.readOperator(rec); ok {
					out = append(out, op)
				}
			})
		}
	}
	switch {
	case errs.len() > 0:
	case len(out) == 0:
		errs.add(0, "", "aucun opérateur dans le fichier : un import remplace toute la liste de la CIP, un fichier vide l'effacerait")
	case len(out) > tocsin.MaxOperators:
		errs.add(0, "", "%d opérateurs : %d au plus", len(out), tocsin.MaxOperators)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// readOperator reads one row; ok is false for a blank one.
func (p *csvParser) readOperator(rec []string) (tocsin.Operator, bool) {
	rowLine, ok := p.rowStart(rec)
	if !ok {
		return tocsin.Operator{}, false
	}
	op := tocsin.Operator{ID: p.readID(rec), Name: p.readName(rec)}
	var o tocsin.Official
	before := p.errs.len()
	p.readNumbers(rec, &o, colMobile, tocsin.Mobile)
	p.readNumbers(rec, &o, colLandline, tocsin.Landline)
	if len(o.Numbers) == 0 && p.errs.len() == before {
		p.errs.add(rowLine, lineField(rowLine), "aucun numéro : remplissez la colonne « %s » ou « %s »", p.names[colMobile], p.names[colLandline])
	}
	op.Numbers = o.Numbers
	raw, line := p.cell(rec, colAvailable)
	avail, known := availability[slug(raw)]
	if !known {
		p.errs.add(line, cellField(line, p.names[colAvailable]), "disponibilité %s inconnue : écrivez « oui » ou « non »", quote(raw))
	}
	op.Available = avail
	return op, true
}
