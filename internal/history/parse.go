package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

const (
	// MaxLine bounds one line: one activation, with every official it
	// targeted, fits many times over.
	MaxLine = 1 << 20
	// maxErrors is how many errors a file reports; the rest are counted.
	maxErrors = 50
	// maxCIPDelay bounds an announced CIP delay, in seconds: a week.
	maxCIPDelay = 7 * 24 * 3600
	maxTitle    = 200
	maxName     = 100
	maxSource   = 200
	maxNote     = 2000
)

// Parse reads a history file: JSON Lines, one record a line; blank lines
// are ignored. It returns every record, normalised (title defaults to the
// playbook, officials sorted by id, the CIP's announced delay filled in),
// or a *tocsin.ListError naming the line, column and field of each error,
// and no record. Whether the records fit a Tocsin (officials known, ids
// free, nothing in the future) is the importer's to check: see
// ParseChecked.
func Parse(r io.Reader) ([]Record, error) { return ParseChecked(r, nil) }

// Line is the line of a record while the record is checked: the errors
// added through it name the line, the field and its column.
type Line struct {
	errs      *Errors
	line      int
	officials map[string]int // an official's id -> its index on the line
}

// Number returns the line's number in the file, from 1.
func (l *Line) Number() int { return l.line }

// Add reports an error about field of the record ("" for the whole line).
func (l *Line) Add(field, format string, args ...any) { l.errs.Add(l.line, field, format, args...) }

// AddOfficial reports an error about field of the official with id ("" for
// the official as a whole), naming the official as the line does:
// officials[2].informed_at.
func (l *Line) AddOfficial(id, field, format string, args ...any) {
	f := "officials"
	if i, ok := l.officials[id]; ok {
		f = fmt.Sprintf("officials[%d]", i)
		if field != "" {
			f += "." + field
		}
	}
	l.errs.Add(l.line, f, format, args...)
}

// CheckFunc checks a record against what reads the file (its directory,
// the ids it holds, its clock), reporting through l. It is called for
// every record, those of the lines with format errors too, partial then
// (what parsed well, the rest zero), so that one pass reports every
// error; no record is returned when any error was reported.
type CheckFunc func(rec *Record, l *Line)

// ParseChecked reads a history file like Parse, and checks each record
// with check (nil: none), so that the errors of the format and those of
// the checks come in one *tocsin.ListError, in line order. A line that is
// not a JSON object is not checked, nor is a second use of an id. Any
// other error is a failure to read r.
func ParseChecked(r io.Reader, check CheckFunc) ([]Record, error) {
	errs := &Errors{}
	var out []Record
	first := map[string]int{} // id -> line
	br := bufio.NewReader(r)
	for line := 1; ; line++ {
		data, tooLong, err := readLine(br)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read history: %w", err)
		}
		if line == 1 {
			data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a BOM some editors write
		}
		switch {
		case tooLong:
			errs.Add(line, "", "ligne trop longue : %d octets au plus, une activation par ligne", MaxLine)
		case len(bytes.TrimSpace(data)) > 0:
			rec, officials, ok := parseLine(line, data, errs)
			if !ok {
				break
			}
			if prev, dup := first[rec.ID]; dup && rec.ID != "" {
				errs.Add(line, "id", "identifiant %q déjà utilisé ligne %d", rec.ID, prev)
				break
			}
			if rec.ID != "" {
				first[rec.ID] = line
			}
			if check != nil {
				check(&rec, &Line{errs: errs, line: line, officials: officials})
			}
			out = append(out, rec)
		}
		errs.locate(data)
		if err != nil { // io.EOF
			break
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// readLine reads one line without its end (\n or \r\n). A line longer than
// MaxLine is read to its end and dropped: tooLong is set.
func readLine(br *bufio.Reader) (data []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			data = append(data, chunk...)
			if len(data) > MaxLine+2 {
				tooLong, data = true, nil
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		data = bytes.TrimSuffix(bytes.TrimSuffix(data, []byte("\n")), []byte("\r"))
		if len(data) > MaxLine {
			tooLong, data = true, nil
		}
		return data, tooLong, err
	}
}

// fields are the known keys of a record, and of an official.
var (
	recordFields = []string{"id", "kind", "playbook", "title", "activated_at", "deadline", "closed_at", "officials",
		"cip_activated_at", "cip_announced_delay_seconds", "cip_operators_in_position", "exercise_due", "note", "source"}
	officialFields = []string{"id", "name", "external", "informed_at", "how"}
)

// object reads one JSON object's fields, reporting those it does not know.
// A field whose value is null counts as absent.
type object struct {
	line   int
	prefix string // "officials[2]." inside a record
	raw    map[string]json.RawMessage
	errs   *Errors
	// index maps each official's id to its place in the list, once read.
	index map[string]int
}

func newObject(line int, prefix string, data []byte, known []string, errs *Errors) (*object, bool) {
	o := &object{line: line, prefix: prefix, errs: errs}
	if err := json.Unmarshal(data, &o.raw); err != nil || o.raw == nil {
		var syn *json.SyntaxError
		switch {
		case errors.As(err, &syn):
			// Offset counts the bytes read, the wrong one included; at the
			// end of the line the column is just past it.
			at := max(int(syn.Offset)-1, 0)
			if int(syn.Offset) >= len(data) {
				at = len(data)
			}
			errs.addAt(line, utf8.RuneCount(data[:at])+1, strings.TrimSuffix(prefix, "."), "JSON invalide : %s", frenchSyntax(syn))
		default:
			errs.Add(line, strings.TrimSuffix(prefix, "."), "objet JSON attendu : { \"id\": …, … }")
		}
		return nil, false
	}
	for _, k := range slices.Sorted(maps.Keys(o.raw)) {
		if !slices.Contains(known, k) {
			errs.Add(line, prefix+k, "champ inconnu (champs possibles : %s)", strings.Join(known, ", "))
		}
	}
	for k, v := range o.raw {
		if string(v) == "null" {
			delete(o.raw, k)
		}
	}
	return o, true
}

func frenchSyntax(syn *json.SyntaxError) string {
	msg := strings.TrimPrefix(syn.Error(), "invalid character ")
	if strings.Contains(syn.Error(), "unexpected end") {
		return "fin de ligne inattendue (la ligne doit contenir tout l'objet)"
	}
	return "caractère inattendu " + msg
}

func (o *object) add(field, format string, args ...any) {
	o.errs.Add(o.line, o.prefix+field, format, args...)
}

func (o *object) has(field string) bool {
	_, ok := o.raw[field]
	return ok
}

// str reads a string field; "" when absent or wrong.
func (o *object) str(field string, required bool) string {
	v, ok := o.raw[field]
	if !ok {
		if required {
			o.add(field, "champ requis")
		}
		return ""
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		o.add(field, "chaîne attendue, entre guillemets")
		return ""
	}
	s = strings.TrimSpace(s)
	if s == "" && required {
		o.add(field, "champ requis : il est vide")
	}
	return s
}

// text reads free text of at most max characters, on one line unless
// multiline.
func (o *object) text(field string, required bool, max int, multiline bool) string {
	s := o.str(field, required)
	if n := utf8.RuneCountInString(s); n > max {
		o.add(field, "trop long : %d caractères, %d au plus", n, max)
	}
	if !multiline && strings.ContainsFunc(s, unicode.IsControl) {
		o.add(field, "une seule ligne, sans caractère de contrôle")
	}
	return s
}

func (o *object) id(field string, required bool) string {
	s := o.str(field, required)
	if s != "" && !tocsin.ValidID(s) {
		o.add(field, "identifiant %q invalide : minuscules, chiffres, « . », « _ » et « - », 64 caractères au plus", s)
	}
	return s
}

// instant reads a time field: RFC 3339 with an offset.
func (o *object) instant(field string, required bool) *time.Time {
	if !o.has(field) {
		if required {
			o.add(field, "champ requis : un horodatage RFC 3339 avec décalage, par exemple 2026-03-31T23:30:00+02:00")
		}
		return nil
	}
	s := o.str(field, false)
	if s == "" {
		o.add(field, "horodatage requis : RFC 3339 avec décalage, par exemple 2026-03-31T23:30:00+02:00")
		return nil
	}
	t, msg := parseInstant(s)
	if msg != "" {
		o.add(field, "%s", msg)
		return nil
	}
	return &t
}

// parseInstant reads an RFC 3339 time with an offset, returned in UTC; msg
// says what is wrong in French.
func parseInstant(s string) (t time.Time, msg string) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
			if _, err := time.Parse(layout, s); err == nil {
				return t, fmt.Sprintf("horodatage %q sans décalage horaire : une heure de Paris sans décalage est ambiguë "+
					"aux changements d'heure (l'heure de 02:00 à 03:00 est sautée en mars et doublée en octobre) ; "+
					"ajoutez le décalage, par exemple 2026-03-31T23:30:00+02:00 (heure d'été), 2026-01-15T10:00:00+01:00 (heure d'hiver) ou en UTC 2026-01-15T09:00:00Z", s)
			}
		}
		return t, fmt.Sprintf("horodatage %q invalide : RFC 3339 avec décalage attendu, par exemple 2026-03-31T23:30:00+02:00", s)
	}
	t = t.UTC()
	if y := t.Year(); y < 1970 || y > 9998 {
		return time.Time{}, fmt.Sprintf("horodatage %q hors des bornes (années 1970 à 9998)", s)
	}
	return t, ""
}

// notBefore reports field at t earlier than the activation.
func (o *object) notBefore(field string, t *time.Time, activated *time.Time) {
	if t != nil && activated != nil && t.Before(*activated) {
		o.add(field, "%s est avant activated_at (%s) : l'ordre des temps est impossible",
			t.Format(time.RFC3339), activated.Format(time.RFC3339))
	}
}

// parseLine reads and checks one record. It reports whether the line is a
// JSON object: its record is then whole, or partial when errors were added.
func parseLine(line int, data []byte, errs *Errors) (Record, map[string]int, bool) {
	if !utf8.Valid(data) {
		errs.Add(line, "", "texte non UTF-8 : enregistrez le fichier en UTF-8")
		return Record{}, nil, false
	}
	o, ok := newObject(line, "", data, recordFields, errs)
	if !ok {
		return Record{}, nil, false
	}
	r := Record{Line: line}
	r.ID = o.id("id", true)
	r.Kind = o.str("kind", true)
	switch r.Kind {
	case "", KindReal, KindExercise:
	case KindNotHeld:
		return o.notHeld(r), o.index, true
	default:
		o.add("kind", "type %q inconnu : %q (activation réelle), %q (exercice) ou %q (exercice programmé non tenu)",
			r.Kind, KindReal, KindExercise, KindNotHeld)
	}
	r.Playbook = o.id("playbook", false)
	r.Title = o.text("title", false, maxTitle, false)
	if r.Title == "" && r.Playbook == "" {
		o.add("title", "champ requis : le titre de l'activation, ou à défaut son scénario (playbook)")
	}
	if r.Title == "" {
		r.Title = r.Playbook
	}
	activated := o.instant("activated_at", true)
	if activated != nil {
		r.ActivatedAt = *activated
	}
	if d := o.instant("deadline", true); d != nil {
		r.Deadline = *d
		o.notBefore("deadline", d, activated)
	}
	r.ClosedAt = o.instant("closed_at", false)
	o.notBefore("closed_at", r.ClosedAt, activated)
	r.Officials = o.officials(activated)
	r.CIPActivatedAt = o.instant("cip_activated_at", false)
	o.notBefore("cip_activated_at", r.CIPActivatedAt, activated)
	if o.has("cip_announced_delay_seconds") {
		var n int64
		switch err := json.Unmarshal(o.raw["cip_announced_delay_seconds"], &n); {
		case err != nil:
			o.add("cip_announced_delay_seconds", "nombre entier de secondes attendu, par exemple 3600")
		case n <= 0 || n > maxCIPDelay:
			o.add("cip_announced_delay_seconds", "%d secondes : entre 1 et %d (une semaine)", n, maxCIPDelay)
		case !o.has("cip_activated_at"):
			o.add("cip_announced_delay_seconds", "délai annoncé sans cip_activated_at : donnez l'heure d'activation de la CIP, ou retirez ce champ")
		default:
			r.CIPAnnouncedDelaySeconds = n
		}
	}
	if r.CIPActivatedAt != nil && r.CIPAnnouncedDelaySeconds == 0 {
		r.CIPAnnouncedDelaySeconds = DefaultCIPDelaySeconds
	}
	if o.has("cip_operators_in_position") {
		var n int
		switch err := json.Unmarshal(o.raw["cip_operators_in_position"], &n); {
		case err != nil:
			o.add("cip_operators_in_position", "nombre entier d'opérateurs attendu, par exemple 2")
		case n <= 0 || n > tocsin.MaxOperators:
			o.add("cip_operators_in_position", "%d opérateurs : entre 1 et %d", n, tocsin.MaxOperators)
		case !o.has("cip_activated_at"):
			o.add("cip_operators_in_position", "opérateurs en poste sans cip_activated_at : donnez l'heure d'activation de la CIP, ou retirez ce champ")
		default:
			r.CIPOperatorsInPosition = n
		}
	}
	r.ExerciseDue = o.instant("exercise_due", false)
	if r.ExerciseDue != nil && r.Kind == KindReal {
		o.add("exercise_due", "seul un exercice (kind \"exercise\") remplit un exercice programmé")
	}
	r.Note = o.text("note", false, maxNote, true)
	r.Source = o.text("source", true, maxSource, false)
	return r, o.index, true
}

// notHeldFields are those of a record of KindNotHeld.
var notHeldFields = []string{"id", "kind", "title", "exercise_due", "note", "source"}

// notHeld reads the rest of a record of KindNotHeld: a scheduled exercise
// that was not held has no activation, no officials, no CIP.
func (o *object) notHeld(r Record) Record {
	for _, k := range slices.Sorted(maps.Keys(o.raw)) {
		if slices.Contains(recordFields, k) && !slices.Contains(notHeldFields, k) {
			o.add(k, "champ sans objet pour un exercice non tenu (kind %q) : retirez-le ; un exercice tenu a le type %q", KindNotHeld, KindExercise)
		}
	}
	r.Title = o.text("title", false, maxTitle, false)
	r.ExerciseDue = o.instant("exercise_due", true)
	r.Note = o.text("note", false, maxNote, true)
	r.Source = o.text("source", true, maxSource, false)
	return r
}

// officials reads the officials of a record, sorted by id.
func (o *object) officials(activated *time.Time) []Official {
	v, ok := o.raw["officials"]
	if !ok {
		o.add("officials", "champ requis : la liste des élus visés, [{\"id\": …, \"name\": …}, …]")
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil {
		o.add("officials", "liste attendue : [{\"id\": …, \"name\": …}, …]")
		return nil
	}
	if len(items) == 0 {
		o.add("officials", "liste vide : une activation vise au moins un élu")
		return nil
	}
	out := make([]Official, 0, len(items))
	seen := map[string]int{}
	o.index = seen
	for i, item := range items {
		prefix := fmt.Sprintf("officials[%d].", i)
		e, ok := newObject(o.line, prefix, item, officialFields, o.errs)
		if !ok {
			continue
		}
		of := Official{ID: e.id("id", true), Name: e.text("name", true, maxName, false)}
		if prev, dup := seen[of.ID]; dup && of.ID != "" {
			e.add("id", "élu %q déjà cité en officials[%d]", of.ID, prev)
		} else {
			seen[of.ID] = i
		}
		if e.has("external") {
			if err := json.Unmarshal(e.raw["external"], &of.External); err != nil {
				e.add("external", "true ou false attendu")
			}
		}
		of.InformedAt = e.instant("informed_at", false)
		e.notBefore("informed_at", of.InformedAt, activated)
		of.How = e.str("how", false)
		switch {
		case of.How != "" && !slices.Contains(hows, of.How):
			e.add("how", "moyen %q inconnu : sms, voice ou manual", of.How)
		case e.has("informed_at") && of.How == "":
			e.add("how", "champ requis avec informed_at : sms (réponse au SMS), voice (touche 1 pendant l'appel) ou manual (confirmé à la main)")
		case !e.has("informed_at") && of.How != "":
			e.add("how", "moyen donné sans informed_at : donnez l'heure à laquelle l'élu a été informé, ou retirez ce champ")
		}
		out = append(out, of)
	}
	slices.SortFunc(out, func(a, b Official) int { return strings.Compare(a.ID, b.ID) })
	return out
}
