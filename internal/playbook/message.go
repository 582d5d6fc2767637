package playbook

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"
	"time"
	_ "time/tzdata" // Europe/Paris must load on a machine without a zoneinfo database
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// MessageData is what a message is rendered with, for one official of
// one activation.
type MessageData struct {
	Commune  string    // the commune's name, {{.Commune}}
	INSEE    string    // the commune's code, {{.INSEE}}
	Name     string    // the official's name, {{.Nom}}
	Role     string    // one of tocsin.Roles; {{.Fonction}} is its French label
	Title    string    // the activation's title, {{.Titre}}
	Code     string    // the short code the official may reply, {{.Code}}
	At       time.Time // the activation's time, {{.Date}} and {{.Heure}} in Europe/Paris
	Exercise bool      // an exercise: the message starts with "EXERCICE - "
	Note     string    // the duty officer's note, {{.Note}}; may be empty
	// Spoken renders the text a call says: without the SMS reply line, as
	// the call asks for the key 1 itself.
	Spoken bool
	// ForDeputy renders the message for a deputy of the official: it says
	// first whom they stand in for, and that their answer counts for the
	// commune.
	ForDeputy bool
}

// templateFields are the fields a message template may use, in the order
// error messages list them.
var templateFields = []string{"Commune", "INSEE", "Nom", "Fonction", "Date", "Heure", "Titre", "Code", "Note"}

// templateFuncs are the only functions a template may call: enough for
// {{if .Note}} or {{if eq .Fonction "maire"}}, nothing that loops or
// builds large strings.
var templateFuncs = []string{"and", "or", "not", "eq", "ne"}

// roleLabels are the words {{.Fonction}} prints.
var roleLabels = map[string]string{
	"maire":          "maire",
	"maire-delegue":  "maire délégué",
	"adjoint":        "adjoint",
	"conseiller":     "conseiller municipal",
	"depute":         "député",
	"senateur":       "sénateur",
	"president-epci": "président d'EPCI",
	"autre":          "élu",
}

const (
	// ExercisePrefix starts every message of an exercise.
	ExercisePrefix = tocsin.ExercisePrefix
	// maxMessageSource bounds a template's source.
	maxMessageSource = 2000
	// maxMessageLen bounds a message rendered with the sample data, in
	// characters: past it, an SMS runs to many segments and a call drags.
	maxMessageLen = 600
	// maxRenderBytes stops a render that would run away (a huge note).
	maxRenderBytes = 16 << 10
)

// Template is a playbook's message, parsed and checked, ready to render
// for each official.
type Template struct {
	tmpl     *template.Template
	usesCode bool
	exercise bool
}

// Compile parses and checks pb's message. A playbook from Parse or
// LoadDir always compiles.
func Compile(pb *tocsin.Playbook) (*Template, error) {
	t, terr := compile(pb.Message)
	if terr != nil {
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, pb.File, "%s", terr.msg)
	}
	t.exercise = pb.Exercise
	return t, nil
}

// Render renders pb's message for one official; see Template.Render. It
// parses the template on each call: to render for many officials,
// Compile once and call Template.Render.
func Render(pb *tocsin.Playbook, d MessageData) (string, error) {
	t, err := Compile(pb)
	if err != nil {
		return "", err
	}
	return t.Render(d)
}

// Render renders the message for one official. The message of an
// exercise — d.Exercise, or an exercise playbook — always starts with
// "EXERCICE - ", whatever the template says. Unless the template prints
// {{.Code}} itself or d.Spoken is set, the message ends with " Répondez OK
// (ou <code>) pour accuser réception." d.At must be set.
func (t *Template) Render(d MessageData) (string, error) {
	if d.At.IsZero() {
		return "", errors.New("render message: no activation time")
	}
	paris, err := parisLocation()
	if err != nil {
		return "", fmt.Errorf("render message: %w", err)
	}
	at := d.At.In(paris)
	fonction, ok := roleLabels[d.Role]
	if !ok {
		fonction = d.Role
	}
	data := map[string]string{
		"Commune":  d.Commune,
		"INSEE":    d.INSEE,
		"Nom":      d.Name,
		"Fonction": fonction,
		"Date":     at.Format("02/01/2006"),
		"Heure":    at.Format("15h04"),
		"Titre":    d.Title,
		"Code":     d.Code,
		"Note":     d.Note,
	}
	var buf limitedBuffer
	if err := t.tmpl.Execute(&buf, data); err != nil {
		return "", fmt.Errorf("render message: %w", err)
	}
	msg := strings.TrimSpace(buf.String())
	exercise := t.exercise || d.Exercise
	if exercise {
		msg = exerciseMark.ReplaceAllString(msg, "")
	}
	if d.ForDeputy {
		msg = fmt.Sprintf("Faute d'avoir pu joindre %s, %s de %s, ce message vous est adressé en tant que suppléant(e). ", d.Name, fonction, d.Commune) + msg
	}
	if exercise {
		msg = ExercisePrefix + msg
	}
	if !t.usesCode && !d.Spoken {
		reply := " Répondez OK"
		if d.Code != "" {
			reply += " (ou " + d.Code + ")"
		}
		if d.ForDeputy {
			msg += reply + " pour accuser réception au nom de la commune."
		} else {
			msg += reply + " pour accuser réception."
		}
	}
	return msg, nil
}

// exerciseMark matches a mark the template put first itself ("EXERCICE",
// "Exercice :"), so that the prefix is not doubled. A sentence that
// starts with the word ("Exercice trimestriel…") is kept.
var exerciseMark = regexp.MustCompile(`^(?:EXERCICE\b|(?i:exercice)\s*[-–—:])[\s\-–—:.]*`)

var parisLocation = sync.OnceValues(func() (*time.Location, error) {
	return time.LoadLocation("Europe/Paris")
})

// limitedBuffer fails a write past maxRenderBytes, which stops the
// template.
type limitedBuffer struct{ bytes.Buffer }

// Write appends p, or fails once the message would pass maxRenderBytes.
func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > maxRenderBytes {
		return 0, errors.New("message too long")
	}
	return b.Buffer.Write(p)
}

// templateError is a fault in a template, with where it is.
type templateError struct {
	line   int    // line within the template, 0 if unknown
	needle string // text to look for in the file to find the line
	msg    string
}

var templateErrorLine = regexp.MustCompile(`template: message:(\d+)(?::\d+)?: (.*)$`)

// compile parses src and checks that it uses only the known fields, the
// allowed functions, and {{if}}.
func compile(src string) (*Template, *templateError) {
	if len(src) > maxMessageSource {
		return nil, &templateError{msg: fmt.Sprintf("message trop long : %d caractères au plus dans le modèle", maxMessageSource)}
	}
	tmpl, err := template.New("message").Option("missingkey=error").Parse(src)
	if err != nil {
		te := &templateError{msg: "modèle de message invalide : " + err.Error()}
		if m := templateErrorLine.FindStringSubmatch(err.Error()); m != nil {
			te.line, _ = strconv.Atoi(m[1])
			te.msg = "modèle de message invalide : " + m[2]
			if m[2] == "unexpected EOF" && strings.Contains(src, "{{if") {
				te.needle = "{{if"
				te.msg = "modèle de message invalide : {{if}} sans {{end}}"
			}
		}
		return nil, te
	}
	if len(tmpl.Templates()) > 1 {
		return nil, &templateError{needle: "{{define", msg: "{{define}} et {{block}} ne sont pas pris en charge dans un message"}
	}
	c := checker{src: src}
	c.node(tmpl.Tree.Root)
	if c.err != nil {
		return nil, c.err
	}
	return &Template{tmpl: tmpl, usesCode: c.usesCode}, nil
}

// checker walks a template's parse tree.
type checker struct {
	src      string
	usesCode bool
	err      *templateError
}

func (c *checker) fail(n parse.Node, needle, format string, args ...any) {
	if c.err != nil {
		return
	}
	line := 0
	if pos := int(n.Position()); pos >= 0 && pos <= len(c.src) {
		line = strings.Count(c.src[:pos], "\n") + 1
	}
	c.err = &templateError{line: line, needle: needle, msg: fmt.Sprintf(format, args...)}
}

func (c *checker) node(n parse.Node) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, child := range n.Nodes {
			c.node(child)
		}
	case *parse.TextNode, *parse.CommentNode:
	case *parse.ActionNode:
		c.pipe(n.Pipe)
	case *parse.IfNode:
		c.pipe(n.Pipe)
		c.node(n.List)
		c.node(n.ElseList)
	case *parse.RangeNode:
		c.fail(n, "{{range", "{{range}} n'est pas pris en charge dans un message : utilisez {{if}}")
	case *parse.WithNode:
		c.fail(n, "{{with", "{{with}} n'est pas pris en charge dans un message : utilisez {{if}}")
	case *parse.TemplateNode:
		c.fail(n, "{{template", "{{template}} n'est pas pris en charge dans un message")
	default:
		c.fail(n, "", "construction %s non prise en charge dans un message", quote(n.String()))
	}
}

func (c *checker) pipe(p *parse.PipeNode) {
	if p == nil {
		return
	}
	if len(p.Decl) > 0 {
		c.fail(p, "$", "les variables ne sont pas prises en charge dans un message")
		return
	}
	for _, cmd := range p.Cmds {
		for _, arg := range cmd.Args {
			c.arg(arg)
		}
	}
}

func (c *checker) arg(n parse.Node) {
	switch n := n.(type) {
	case *parse.FieldNode:
		name := "." + strings.Join(n.Ident, ".")
		if len(n.Ident) != 1 || !slices.Contains(templateFields, n.Ident[0]) {
			c.fail(n, name, "champ inconnu %s ; champs possibles : %s", quote("{{"+name+"}}"), fieldList())
			return
		}
		if n.Ident[0] == "Code" {
			c.usesCode = true
		}
	case *parse.IdentifierNode:
		if !slices.Contains(templateFuncs, n.Ident) {
			c.fail(n, n.Ident, "fonction %s non prise en charge dans un message ; fonctions possibles : %s", quote(n.Ident), strings.Join(templateFuncs, ", "))
		}
	case *parse.PipeNode:
		c.pipe(n)
	case *parse.StringNode, *parse.BoolNode, *parse.NumberNode:
	case *parse.DotNode:
		c.fail(n, "{{.}}", "{{.}} n'est pas pris en charge : nommez un champ, comme {{.Nom}}")
	case *parse.VariableNode:
		c.fail(n, "$", "les variables ne sont pas prises en charge dans un message : nommez un champ, comme {{.Nom}}")
	default:
		c.fail(n, "", "expression %s non prise en charge dans un message", quote(n.String()))
	}
}

func fieldList() string {
	var b strings.Builder
	for i, f := range templateFields {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("{{." + f + "}}")
	}
	return b.String()
}

// sampleTime is a Saturday afternoon in winter time: 14h05 in Paris.
var sampleTime = time.Date(2026, time.March, 14, 13, 5, 0, 0, time.UTC)

// sampleData are the values a message is tried with at load: the
// longest commune name of the département, a long name, a code.
func sampleData(pb *tocsin.Playbook, note string) MessageData {
	return MessageData{
		Commune:  "Les Authieux-sur-le-Port-Saint-Ouen",
		INSEE:    "76039",
		Name:     "Marie-Christine Dantremont",
		Role:     "maire-delegue",
		Title:    pb.Title,
		Code:     "K7P2",
		At:       sampleTime,
		Exercise: pb.Exercise,
		Note:     note,
	}
}

const sampleNote = "Point de situation à 16h en préfecture."

// message checks the message of pb, read from node n: it compiles, it
// renders with sample data, it stays short, and only an exercise
// playbook speaks of an exercise.
func (p *parser) message(n *yaml.Node, pb *tocsin.Playbook) {
	src := pb.Message
	if strings.TrimSpace(src) == "" {
		p.errorf(n, "message vide")
		return
	}
	t, terr := compile(src)
	if terr != nil {
		p.errorAt(p.messageLine(n, terr.line, terr.needle), "%s", terr.msg)
		return
	}
	if !pb.Exercise && strings.Contains(strings.ToLower(src), "exercice") {
		p.errorAt(p.messageLine(n, 0, "xercice"), "un scénario réel ne parle pas d'exercice : Tocsin ajoute lui-même « EXERCICE - » quand il s'agit d'un exercice ; pour un scénario d'exercice, ajoutez « exercise: true »")
		return
	}
	t.exercise = pb.Exercise
	for _, note := range []string{"", sampleNote} {
		msg, err := t.Render(sampleData(pb, note))
		if err != nil {
			line, detail := 0, err.Error()
			if m := templateErrorLine.FindStringSubmatch(detail); m != nil {
				line, _ = strconv.Atoi(m[1])
				detail = m[2]
			}
			p.errorAt(p.messageLine(n, line, ""), "modèle de message invalide : %s", detail)
			return
		}
		if utf8.RuneCountInString(msg) > maxMessageLen {
			p.errorf(n, "message trop long : %d caractères avec des données d'exemple, %d au plus (visez 320, deux SMS)", utf8.RuneCountInString(msg), maxMessageLen)
			return
		}
	}
}

// messageLine finds the line of the file where a fault of the message
// at node n lies: the first line from the message on that holds needle,
// or else the template's line counted from where the text starts.
func (p *parser) messageLine(n *yaml.Node, tmplLine int, needle string) int {
	if needle != "" {
		lines := strings.Split(string(p.src), "\n")
		end := min(len(lines), n.Line+strings.Count(n.Value, "\n")+50)
		for l := n.Line; l <= end; l++ {
			if strings.Contains(strings.ToLower(lines[l-1]), strings.ToLower(needle)) {
				return l
			}
		}
	}
	if tmplLine < 1 {
		return n.Line
	}
	start := n.Line
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		start++ // the text starts below the "|" or ">"
	}
	return start + tmplLine - 1
}

// Example renders pb's message as a mayor of Dieppe would receive it, with
// note as the duty officer's free text, so that people read a message
// rather than its template.
func Example(pb *tocsin.Playbook, note string) (string, error) {
	return Render(pb, MessageData{Commune: "Dieppe", INSEE: "76217", Name: "Anne Martin", Role: "maire", Title: pb.Title,
		Code: "K7P2", At: sampleTime, Exercise: pb.Exercise, Note: note})
}
