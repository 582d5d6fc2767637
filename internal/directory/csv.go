package directory

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// column is one column of the directory's CSV format.
type column int

const (
	colID column = iota
	colName
	colRole
	colCommune
	colCommuneName
	colMobile
	colLandline
	colDeputies
	colIgnored   // comments the administrator keeps for themself
	colAvailable // the CIP roster's availability (operators.go)
)

// columnNames are the French headers WriteCSV writes, in order.
var columnNames = [...]string{
	colID:          "id",
	colName:        "nom",
	colRole:        "fonction",
	colCommune:     "commune",
	colCommuneName: "nom_commune",
	colMobile:      "mobile",
	colLandline:    "fixe",
	colDeputies:    "suppleants",
}

// headerAliases maps the slug of a header to its column. French first,
// English aliases after.
var headerAliases = map[string]column{
	"id": colID, "identifiant": colID,
	"nom": colName, "nom-prenom": colName, "prenom-nom": colName, "name": colName,
	"fonction": colRole, "role": colRole, "qualite": colRole,
	"commune": colCommune, "insee": colCommune, "code-insee": colCommune, "code-commune": colCommune,
	"nom-commune": colCommuneName, "commune-nom": colCommuneName, "libelle-commune": colCommuneName, "commune-name": colCommuneName,
	"mobile": colMobile, "mobiles": colMobile, "portable": colMobile, "portables": colMobile, "telephone-mobile": colMobile,
	"fixe": colLandline, "fixes": colLandline, "telephone-fixe": colLandline, "landline": colLandline, "landlines": colLandline,
	"suppleants": colDeputies, "suppleant": colDeputies, "deputies": colDeputies, "deputy": colDeputies,
	"commentaire": colIgnored, "commentaires": colIgnored, "remarque": colIgnored, "remarques": colIgnored,
	"note": colIgnored, "notes": colIgnored, "comment": colIgnored, "comments": colIgnored,
}

const (
	// maxCSVBytes bounds an import: 10 MB is some 80,000 officials.
	maxCSVBytes = 10 << 20
	// maxCSVErrors is how many errors an import reports; the rest are
	// counted.
	maxCSVErrors = 50
	// maxNameLen bounds a name, in characters.
	maxNameLen = 100
)

// errorList collects import errors with the line they are about, so that
// they can be shown in file order, at most maxCSVErrors of them.
type errorList struct {
	entries []lineError
}

type lineError struct {
	line int
	err  *tocsin.Error
}

func (l *errorList) add(line int, field, format string, args ...any) {
	l.entries = append(l.entries, lineError{line, tocsin.FieldErrorf(tocsin.EInvalid, field, format, args...)})
}

func (l *errorList) len() int { return len(l.entries) }

// err returns the errors as a *tocsin.ListError sorted by line, or nil.
func (l *errorList) err() error {
	if len(l.entries) == 0 {
		return nil
	}
	slices.SortStableFunc(l.entries, func(a, b lineError) int { return cmp.Compare(a.line, b.line) })
	var list tocsin.ListError
	for i, e := range l.entries {
		if i == maxCSVErrors {
			list.Add("", "%d autres erreurs ne sont pas affichées : corrigez celles-ci puis importez de nouveau", len(l.entries)-maxCSVErrors)
			break
		}
		list.Errs = append(list.Errs, e.err)
	}
	return &list
}

func lineField(line int) string { return fmt.Sprintf("ligne %d", line) }

func cellField(line int, header string) string {
	return fmt.Sprintf("ligne %d, colonne « %s »", line, header)
}

// ParseCSV reads a directory of officials from a spreadsheet export.
//
// The first line names the columns: id, nom, fonction, commune, mobile,
// fixe, suppleants (or the English id, name, role, commune, mobile,
// landline, deputies), in any order and case, with or without accents.
// nom_commune is checked against the code; it is optional except beside
// a code that is also the postal code of other communes (76540 is Rouen's
// INSEE code and Valmont's postal code). commentaire (or remarques,
// notes) is ignored. The separator is whatever the header uses: ",", ";"
// or a tab. The file is UTF-8, with or without a byte order mark. commune
// is the INSEE code and sets the commune's name, arrondissement and
// point. mobile and fixe hold one or more numbers separated by "|";
// suppleants, ids of other lines separated by "|". Empty lines are
// skipped.
//
// It is all or nothing: on any error it returns no officials and a
// *tocsin.ListError whose errors name the line and column, in French. An
// error reading r is returned as it is.
func ParseCSV(r io.Reader) ([]tocsin.Official, error) {
	data, err := readCSV(r)
	if err != nil {
		return nil, err
	}
	var errs errorList
	p := &csvParser{format: directoryFormat, errs: &errs, ids: map[string]int{}}
	officials := p.parse(data)
	if err := errs.err(); err != nil {
		return nil, err
	}
	return officials, nil
}

// readCSV reads a whole CSV file, bounded, without its byte order mark;
// a file too large or not UTF-8 is a *tocsin.ListError.
func readCSV(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxCSVBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read csv: %w", err)
	}
	var errs errorList
	if len(data) > maxCSVBytes {
		errs.add(0, "", "fichier trop volumineux : %d Mo au plus", maxCSVBytes>>20)
		return nil, errs.err()
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		line := firstInvalidLine(data)
		errs.add(line, lineField(line), "le fichier n'est pas encodé en UTF-8 : dans le tableur, enregistrez-le au format « CSV UTF-8 »")
		return nil, errs.err()
	}
	return data, nil
}

// firstInvalidLine returns the line of the first byte that is not UTF-8.
func firstInvalidLine(data []byte) int {
	line := 1
	for len(data) > 0 {
		c, size := utf8.DecodeRune(data)
		if c == utf8.RuneError && size <= 1 {
			break
		}
		if c == '\n' {
			line++
		}
		data = data[size:]
	}
	return line
}

// separator picks the separator the header line uses most: ",", ";" or
// a tab. A first line "sep=;", which Excel writes and reads, names it
// instead and is emptied, so that the csv reader skips it and the line
// numbers hold.
func separator(data []byte) (rune, []byte) {
	start := 0
	for start < len(data) && (data[start] == '\n' || data[start] == '\r') {
		start++ // the csv reader skips blank lines before the header too
	}
	line := data[start:]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimRight(line, "\r")
	if len(line) == 5 && bytes.EqualFold(line[:4], []byte("sep=")) && strings.ContainsRune(",;\t|", rune(line[4])) {
		blanked := slices.Concat(data[:start], data[start+5:])
		return rune(line[4]), blanked
	}
	best, n := ',', 0
	for _, sep := range []rune{',', ';', '\t'} {
		if c := bytes.Count(line, []byte(string(sep))); c > n {
			best, n = sep, c
		}
	}
	return best, data
}

// csvFormat is what a CSV file's header may and must hold: the directory
// of officials or the CIP's roster.
type csvFormat struct {
	aliases  map[string]column // slug of a header → column
	required []column          // columns the header must name
	names    map[column]string // the French header of each column
	list     string            // the columns, as messages name them
	optional string            // the optional columns, as messages name them
}

// directoryFormat is the format of the directory of officials.
var directoryFormat = &csvFormat{
	aliases:  headerAliases,
	required: []column{colID, colName, colRole, colCommune},
	names: map[column]string{colID: columnNames[colID], colName: columnNames[colName], colRole: columnNames[colRole],
		colCommune: columnNames[colCommune], colCommuneName: columnNames[colCommuneName], colMobile: columnNames[colMobile],
		colLandline: columnNames[colLandline], colDeputies: columnNames[colDeputies]},
	list:     "id, nom, fonction, commune, mobile, fixe, suppleants",
	optional: "nom_commune, commentaire",
}

type csvParser struct {
	format *csvFormat
	errs   *errorList
	cr     *csv.Reader
	// header
	index  map[column]int    // column → field index
	names  map[column]string // column → header as the file writes it
	width  int               // fields in the header
	unused map[int]bool      // fields with an empty header
	// rows
	ids  map[string]int // id → line
	rows []csvRow
}

type csvRow struct {
	line     int
	official tocsin.Official
	deputies []deputyRef
}

type deputyRef struct {
	id   string
	line int
}

func (p *csvParser) parse(data []byte) []tocsin.Official {
	if !p.start(data) {
		return nil
	}
	p.readRows(p.readRow)
	if len(p.rows) == 0 && p.errs.len() == 0 {
		p.errs.add(0, "", "aucun élu dans le fichier : un import remplace tout l'annuaire, un fichier vide l'effacerait")
		return nil
	}
	out := make([]tocsin.Official, 0, len(p.rows))
	for _, row := range p.rows {
		for _, d := range row.deputies {
			if _, ok := p.ids[d.id]; !ok {
				p.errs.add(d.line, cellField(d.line, p.names[colDeputies]), "suppléant inconnu %s : aucune ligne n'a cet identifiant", quote(d.id))
				continue
			}
			row.official.Deputies = append(row.official.Deputies, d.id)
		}
		out = append(out, row.official)
	}
	return out
}

// start sets the reader up on data and reads the header; it reports
// whether the rows can be read.
func (p *csvParser) start(data []byte) bool {
	if bytes.IndexByte(data, '\n') < 0 {
		// Old Macintosh line ends: a lone CR ends each line.
		data = bytes.ReplaceAll(data, []byte("\r"), []byte("\n"))
	}
	sep, data := separator(data)
	p.cr = csv.NewReader(bytes.NewReader(data))
	p.cr.Comma = sep
	p.cr.FieldsPerRecord = -1
	return p.readHeader()
}

// readRows reads every row after the header, giving each to read and
// recording the syntax errors.
func (p *csvParser) readRows(read func(rec []string)) {
	for {
		rec, err := p.cr.Read()
		if err == io.EOF {
			return
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			p.errs.add(pe.Line, lineField(pe.Line), "%s", csvSyntaxMessage(pe))
			continue
		}
		if err != nil {
			p.errs.add(0, "", "fichier illisible")
			return
		}
		read(rec)
	}
}

func csvSyntaxMessage(pe *csv.ParseError) string {
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return "guillemet « \" » au milieu d'une cellule sans guillemets : entourez la cellule de guillemets et doublez ceux qu'elle contient"
	case errors.Is(pe.Err, csv.ErrQuote):
		return fmt.Sprintf("guillemet « \" » mal placé ou jamais fermé (cellule commencée ligne %d)", pe.StartLine)
	default:
		return "ligne illisible"
	}
}

// readHeader reads the first line and reports whether the rows can be read.
func (p *csvParser) readHeader() bool {
	rec, err := p.cr.Read()
	if err == io.EOF {
		p.errs.add(1, lineField(1), "fichier vide : la première ligne doit nommer les colonnes : %s", p.format.list)
		return false
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		p.errs.add(pe.Line, lineField(pe.Line), "%s", csvSyntaxMessage(pe))
		return false
	}
	if err != nil {
		p.errs.add(0, "", "fichier illisible")
		return false
	}
	p.index, p.names, p.unused = map[column]int{}, map[column]string{}, map[int]bool{}
	p.width = len(rec)
	hl, _ := p.cr.FieldPos(0)
	var unknown []int
	for i, h := range rec {
		h = strings.TrimSpace(h)
		if h == "" {
			p.unused[i] = true
			continue
		}
		c, ok := p.format.aliases[slug(h)]
		switch {
		case !ok:
			unknown = append(unknown, i)
		case c == colIgnored:
		default:
			if j, dup := p.index[c]; dup {
				p.errs.add(hl, cellField(hl, h), "colonne en double : %s est déjà la colonne « %s »", quote(h), strings.TrimSpace(rec[j]))
				continue
			}
			p.index[c] = i
			p.names[c] = h
		}
	}
	if len(p.index) == 0 {
		p.errs.add(hl, lineField(hl), "en-tête manquant : la première ligne doit nommer les colonnes : %s", p.format.list)
		return false
	}
	for _, i := range unknown {
		h := strings.TrimSpace(rec[i])
		p.errs.add(hl, cellField(hl, h), "colonne inconnue %s ; colonnes reconnues : %s, et %s", quote(h), p.format.list, p.format.optional)
	}
	for _, c := range p.format.required {
		if _, ok := p.index[c]; !ok {
			p.errs.add(hl, lineField(hl), "colonne « %s » manquante", p.format.names[c])
		}
	}
	_, mobile := p.index[colMobile]
	_, landline := p.index[colLandline]
	if !mobile && !landline {
		p.errs.add(hl, lineField(hl), "colonnes « mobile » et « fixe » manquantes : il en faut au moins une")
	}
	for c, name := range p.format.names {
		if _, ok := p.names[c]; !ok {
			p.names[c] = name
		}
	}
	return p.errs.len() == 0
}

// cell returns the trimmed content of column c in rec and the line it is
// on; "" when the file has no such column or the line is short.
func (p *csvParser) cell(rec []string, c column) (string, int) {
	i, ok := p.index[c]
	if !ok || i >= len(rec) {
		line, _ := p.cr.FieldPos(0)
		return "", line
	}
	line, _ := p.cr.FieldPos(i)
	return strings.TrimSpace(rec[i]), line
}

func (p *csvParser) readRow(rec []string) {
	rowLine, ok := p.rowStart(rec)
	if !ok {
		return
	}
	var o tocsin.Official
	o.ID = p.readID(rec)
	id := o.ID
	o.Name = p.readName(rec)

	rawRole, line := p.cell(rec, colRole)
	if rawRole == "" {
		p.errs.add(line, cellField(line, p.names[colRole]), "fonction manquante ; fonctions possibles : %s", strings.Join(tocsin.Roles, ", "))
	} else if role, ok := NormalizeRole(rawRole); ok {
		o.Role = role
	} else {
		p.errs.add(line, cellField(line, p.names[colRole]), "fonction inconnue %s ; fonctions possibles : %s", quote(rawRole), strings.Join(tocsin.Roles, ", "))
	}

	p.readCommune(rec, &o)
	before := p.errs.len()
	p.readNumbers(rec, &o, colMobile, tocsin.Mobile)
	p.readNumbers(rec, &o, colLandline, tocsin.Landline)
	if len(o.Numbers) == 0 && p.errs.len() == before {
		p.errs.add(rowLine, lineField(rowLine), "aucun numéro : remplissez la colonne « %s » ou « %s »", p.names[colMobile], p.names[colLandline])
	}

	var deputies []deputyRef
	rawDeputies, line := p.cell(rec, colDeputies)
	for d := range strings.SplitSeq(rawDeputies, "|") {
		d = strings.TrimSpace(d)
		switch {
		case d == "":
		case d == id:
			p.errs.add(line, cellField(line, p.names[colDeputies]), "un élu ne peut pas être son propre suppléant")
		case containsDeputy(deputies, d):
			p.errs.add(line, cellField(line, p.names[colDeputies]), "suppléant %s cité deux fois", quote(d))
		default:
			deputies = append(deputies, deputyRef{id: d, line: line})
		}
	}
	p.rows = append(p.rows, csvRow{line: rowLine, official: o, deputies: deputies})
}

// rowStart reports whether rec holds anything, with its line, and
// records the cells it has outside the header's columns.
func (p *csvParser) rowStart(rec []string) (int, bool) {
	blank := true
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			blank = false
			break
		}
	}
	if blank {
		return 0, false
	}
	rowLine, _ := p.cr.FieldPos(0)
	for i, f := range rec {
		if (i >= p.width || p.unused[i]) && strings.TrimSpace(f) != "" {
			line, _ := p.cr.FieldPos(i)
			p.errs.add(line, lineField(line), "cellule sans en-tête %s (colonne n° %d) : nommez la colonne ou videz la cellule", quote(f), i+1)
		}
	}
	return rowLine, true
}

// readID reads and checks the row's id, unique in the file.
func (p *csvParser) readID(rec []string) string {
	id, line := p.cell(rec, colID)
	switch {
	case id == "":
		p.errs.add(line, cellField(line, p.names[colID]), "identifiant manquant")
	case !tocsin.ValidID(id):
		if low := strings.ToLower(id); tocsin.ValidID(low) {
			p.errs.add(line, cellField(line, p.names[colID]), "identifiant invalide %s : en minuscules, par exemple %s", quote(id), quote(low))
		} else {
			p.errs.add(line, cellField(line, p.names[colID]), "identifiant invalide %s : lettres minuscules sans accent, chiffres, « . », « _ » et « - », 64 caractères au plus, commençant par une lettre ou un chiffre", quote(id))
		}
	default:
		if prev, dup := p.ids[id]; dup {
			p.errs.add(line, cellField(line, p.names[colID]), "identifiant %s déjà utilisé ligne %d", quote(id), prev)
		} else {
			p.ids[id] = line
		}
	}
	return id
}

// readName reads and checks the row's name.
func (p *csvParser) readName(rec []string) string {
	name, line := p.cell(rec, colName)
	switch {
	case name == "":
		p.errs.add(line, cellField(line, p.names[colName]), "nom manquant")
	case utf8.RuneCountInString(name) > maxNameLen:
		p.errs.add(line, cellField(line, p.names[colName]), "nom trop long : %d caractères au plus", maxNameLen)
	case strings.ContainsAny(name[:1], "=+-@"):
		p.errs.add(line, cellField(line, p.names[colName]), "le nom ne peut pas commencer par %s", quote(name[:1]))
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		p.errs.add(line, cellField(line, p.names[colName]), "le nom doit tenir sur une ligne")
	}
	return name
}

func containsDeputy(ds []deputyRef, id string) bool {
	for _, d := range ds {
		if d.id == id {
			return true
		}
	}
	return false
}

func (p *csvParser) readCommune(rec []string, o *tocsin.Official) {
	code, line := p.cell(rec, colCommune)
	field := cellField(line, p.names[colCommune])
	if code == "" {
		p.errs.add(line, field, "commune manquante : indiquez son code INSEE, par exemple 76217 pour Dieppe")
		return
	}
	c, ok := CommuneByINSEE(code)
	if !ok {
		p.errs.add(line, field, "%s", unknownCommuneMessage(code))
		return
	}
	o.Commune = c.INSEE
	o.CommuneName = c.Name
	o.Arrondissement = c.Arrondissement
	o.Lat, o.Lon = c.Lat, c.Lon
	name, nline := p.cell(rec, colCommuneName)
	switch {
	case name != "" && !sameCommuneName(name, c.Name):
		p.errs.add(nline, cellField(nline, p.names[colCommuneName]), "le code INSEE %s est celui de %s, pas de %s : vérifiez le code", c.INSEE, quote(c.Name), quote(name))
	case name == "":
		if others := postalNamesakes(c.INSEE); others != "" {
			p.errs.add(line, field, "%s est le code INSEE de %s, mais aussi le code postal de %s : pour confirmer %s, écrivez son nom dans la colonne « %s »", quote(code), c.Name, others, c.Name, p.names[colCommuneName])
		}
	}
}

func (p *csvParser) readNumbers(rec []string, o *tocsin.Official, c column, kind tocsin.NumberKind) {
	raw, line := p.cell(rec, c)
	field := cellField(line, p.names[c])
	for part := range strings.SplitSeq(raw, "|") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		n, err := ParseNumber(part)
		if err != nil {
			msg := tocsin.ErrorMessage(err)
			if strings.ContainsAny(part, ",;") || countDigits(part) >= 16 {
				msg += " ; pour plusieurs numéros, séparez-les par « | »"
			}
			p.errs.add(line, field, "%s", msg)
			continue
		}
		if n.Kind != kind {
			if n.Kind == tocsin.Landline {
				p.errs.add(line, field, "%s est un numéro fixe : mettez-le dans la colonne « %s »", quote(part), p.names[colLandline])
			} else {
				p.errs.add(line, field, "%s est un numéro mobile : mettez-le dans la colonne « %s »", quote(part), p.names[colMobile])
			}
			continue
		}
		if hasNumber(o.Numbers, n.E164) {
			p.errs.add(line, field, "numéro %s en double sur cette ligne", quote(part))
			continue
		}
		o.Numbers = append(o.Numbers, n)
	}
}

func hasNumber(ns []tocsin.Number, e164 string) bool {
	for _, n := range ns {
		if n.E164 == e164 {
			return true
		}
	}
	return false
}

func countDigits(s string) int {
	n := 0
	for _, c := range s {
		if c >= '0' && c <= '9' {
			n++
		}
	}
	return n
}
