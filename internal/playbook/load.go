package playbook

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Reference tells validation which places exist, so that a playbook
// naming an unknown commune or arrondissement fails at load. The wiring
// fills it from the directory.
type Reference struct {
	// Commune reports whether insee is the code of a known commune. When
	// nil, any five-character code is accepted.
	Commune func(insee string) bool
	// Arrondissements are the known arrondissement names. When empty, any
	// name is accepted.
	Arrondissements []string
	// Near reports whether some commune lies within km of the point, so
	// that a circle in the sea or with latitude and longitude swapped
	// fails at load. When nil, circles are not checked.
	Near func(lat, lon, km float64) bool
}

const (
	// maxFileBytes bounds a playbook file; real ones are a few kilobytes.
	maxFileBytes = 256 << 10
	// maxErrors is how many errors one load reports.
	maxErrors = 50
)

// LoadDir reads every *.yaml and *.yml file of dir (not its
// subdirectories, nor hidden files) and returns their playbooks in file
// name order. Ids must be unique across the files.
//
// It is all or nothing: if any file is wrong it returns no playbook and a
// *tocsin.ListError holding every error of every file, each with its
// Field set to "file:line" (the file's base name). A directory or file
// that cannot be read is returned as a plain error.
func LoadDir(dir string, ref Reference) ([]tocsin.Playbook, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("load playbooks: %w", err)
	}
	var (
		out  []tocsin.Playbook
		errs tocsin.ListError
		ids  = map[string]string{} // id → "file:line"
	)
	for _, e := range entries {
		name := e.Name()
		ext := strings.ToLower(filepath.Ext(name))
		if e.IsDir() || strings.HasPrefix(name, ".") || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("load playbooks: %w", err)
		}
		pb, idLine, err := parseFile(name, data, ref)
		if err != nil {
			var list *tocsin.ListError
			if !errors.As(err, &list) {
				return nil, fmt.Errorf("load playbooks: %s: %w", name, err)
			}
			errs.Errs = append(errs.Errs, list.Errs...)
			continue
		}
		where := place(name, idLine)
		if prev, dup := ids[pb.ID]; dup {
			errs.Add(where, "identifiant %s déjà utilisé par %s : chaque scénario a le sien", quote(pb.ID), prev)
			continue
		}
		ids[pb.ID] = where
		out = append(out, pb)
	}
	if len(errs.Errs) > 0 {
		if len(errs.Errs) > maxErrors {
			n := len(errs.Errs) - maxErrors
			errs.Errs = errs.Errs[:maxErrors]
			errs.Add("", "%d autres erreurs ne sont pas affichées", n)
		}
		return nil, &errs
	}
	return out, nil
}

// Parse reads one playbook from data. file names it in errors and in the
// playbook's File. On any error it returns a *tocsin.ListError holding
// every error found, each with Field "file:line", in French.
func Parse(file string, data []byte, ref Reference) (tocsin.Playbook, error) {
	pb, _, err := parseFile(file, data, ref)
	return pb, err
}

func parseFile(file string, data []byte, ref Reference) (pb tocsin.Playbook, idLine int, err error) {
	p := &parser{file: file, ref: ref, src: data}
	if len(data) > maxFileBytes {
		p.errorAt(1, "fichier trop gros : %d Ko au plus", maxFileBytes>>10)
		return tocsin.Playbook{}, 0, p.errs.Err()
	}
	root := p.decode(data)
	if root != nil {
		idLine = p.playbook(root, &pb)
	}
	// Show the errors in file order, whatever order the checks ran in.
	slices.SortStableFunc(p.errs.Errs, func(a, b *tocsin.Error) int { return cmp.Compare(lineOf(a.Field), lineOf(b.Field)) })
	if p.dropped > 0 {
		p.errs.Add(place(file, 1), "%d autres erreurs ne sont pas affichées", p.dropped)
	}
	if err := p.errs.Err(); err != nil {
		return tocsin.Playbook{}, 0, err
	}
	pb.File = file
	return pb, idLine, nil
}

// parser walks one file's YAML tree, filling a playbook and collecting
// errors with their line.
type parser struct {
	file string
	src  []byte
	ref  Reference
	errs tocsin.ListError
	// dropped counts the errors past maxErrors.
	dropped int
}

func place(file string, line int) string { return file + ":" + strconv.Itoa(line) }

// lineOf returns the line of a place made by place.
func lineOf(field string) int {
	i := strings.LastIndexByte(field, ':')
	n, _ := strconv.Atoi(field[i+1:])
	return n
}

func (p *parser) errorAt(line int, format string, args ...any) {
	if len(p.errs.Errs) >= maxErrors {
		p.dropped++
		return
	}
	if line < 1 {
		line = 1
	}
	p.errs.Add(place(p.file, line), format, args...)
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.errorAt(n.Line, format, args...)
}

var yamlErrorLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decode parses data and returns the top mapping, or nil after recording
// why there is none.
func (p *parser) decode(data []byte) (root *yaml.Node) {
	defer func() {
		// The YAML library is not supposed to panic, but a playbook is
		// input: whatever happens in there becomes an error on the file.
		if r := recover(); r != nil {
			p.errorAt(1, "YAML illisible")
			root = nil
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			p.errorAt(1, "fichier vide : un scénario a au moins id, title, audience et message")
		} else {
			p.syntaxError(err)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == io.EOF:
	case err != nil:
		p.syntaxError(err)
		return nil
	default:
		p.errorf(&next, "un seul document YAML par fichier : retirez la ligne « --- » et ce qui suit, ou mettez ce scénario dans un autre fichier")
		return nil
	}
	if len(doc.Content) != 1 {
		p.errorAt(1, "fichier vide : un scénario a au moins id, title, audience et message")
		return nil
	}
	root = doc.Content[0]
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "un scénario est une suite de clés « clé: valeur » (id, title, audience, message…)")
		return nil
	}
	return root
}

func (p *parser) syntaxError(err error) {
	msg := err.Error()
	if m := yamlErrorLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if isParserProblem(m[2]) {
			// The library counts from 0 for these, and from 1 for the
			// scanner's; a parser problem points at the start of the
			// list or mapping it could not finish.
			line++
		}
		p.errorAt(line, "syntaxe YAML invalide : %s", explainYAML(m[2]))
		return
	}
	p.errorAt(1, "syntaxe YAML invalide : %s", explainYAML(strings.TrimPrefix(msg, "yaml: ")))
}

// yamlProblems says in French what the YAML library's usual complaints
// mean for someone editing a playbook.
var yamlProblems = map[string]string{
	"did not find expected ',' or ']'":                "crochet « ] » manquant, ou virgule oubliée, dans la liste qui commence ici",
	"did not find expected ',' or '}'":                "accolade « } » manquante, ou virgule oubliée, dans le bloc qui commence ici",
	"did not find expected key":                       "indentation incohérente : une clé est décalée par rapport à ses voisines",
	"did not find expected '-' indicator":             "indentation incohérente dans la liste qui commence ici",
	"did not find expected node content":              "valeur manquante",
	"mapping values are not allowed in this context":  "« : » inattendu : indentation décalée, ou valeur contenant « : » à mettre entre guillemets",
	"found a tab character that violates indentation": "tabulation : indentez avec des espaces",
	"found character that cannot start any token":     "caractère inattendu (une tabulation ?) : indentez avec des espaces",
	"found unexpected end of stream":                  "fin de fichier inattendue : un guillemet n'est pas fermé",
}

func explainYAML(problem string) string {
	if fr, ok := yamlProblems[problem]; ok {
		return fr + " (" + problem + ")"
	}
	return problem + " (vérifiez l'indentation, les « : », les crochets et les guillemets)"
}

// isParserProblem reports whether a YAML error comes from the parser
// rather than the scanner: their line numbers differ by one.
func isParserProblem(problem string) bool {
	for _, prefix := range []string{"did not find expected", "found duplicate", "found incompatible", "found undefined"} {
		if strings.HasPrefix(problem, prefix) {
			return true
		}
	}
	return false
}

// field is one key of a mapping with its value.
type field struct {
	key, val *yaml.Node
}

// fields returns the entries of mapping n whose keys are in allowed,
// reporting unknown, duplicate and non-text keys, and keys that are
// aliases or merges.
func (p *parser) fields(n *yaml.Node, what string, allowed ...string) map[string]field {
	out := map[string]field{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "clé invalide dans %s : une clé est un mot, comme %s", what, quote(allowed[0]))
			continue
		}
		if v.Kind == yaml.AliasNode || k.Tag == "!!merge" {
			p.errorf(k, "les alias et fusions YAML (« * », « << ») ne sont pas pris en charge : écrivez la valeur")
			continue
		}
		if !contains(allowed, k.Value) {
			msg := fmt.Sprintf("clé inconnue %s dans %s ; clés possibles : %s", quote(k.Value), what, strings.Join(allowed, ", "))
			if s := closest(k.Value, allowed); s != "" {
				msg += fmt.Sprintf(" (vouliez-vous dire %s ?)", quote(s))
			}
			p.errorf(k, "%s", msg)
			continue
		}
		if prev, dup := out[k.Value]; dup {
			p.errorf(k, "clé %s en double (déjà ligne %d)", quote(k.Value), prev.key.Line)
			continue
		}
		out[k.Value] = field{k, v}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// closest returns the word of list nearest to s when it is a likely typo.
func closest(s string, list []string) string {
	best, bestDist := "", 3
	for _, w := range list {
		if d := editDistance(strings.ToLower(s), w); d < bestDist {
			best, bestDist = w, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance, for short words.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		return 1 << 30
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// quote puts s between French quotation marks, cut short if it is long.
func quote(s string) string {
	if r := []rune(s); len(r) > 60 {
		s = string(r[:60]) + "…"
	}
	return "« " + s + " »"
}
