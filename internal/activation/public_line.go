package activation

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// PublicLineStore keeps the public message, versioned, and finds the CIP
// cell the public line serves.
type PublicLineStore interface {
	PublicMessage(ctx context.Context) (*tocsin.PublicMessage, error)
	PublicMessages(ctx context.Context) ([]tocsin.PublicMessage, error)
	SetPublicMessage(ctx context.Context, m *tocsin.PublicMessage, audit ...tocsin.AuditEntry) error
	LineCell(ctx context.Context) (*tocsin.CIPCell, error)
}

// PublicLine is what the public line answers now.
type PublicLine struct {
	// Open is set while a CIP is open; Activation names it.
	Open       bool
	Activation string
	// Message is the public message in force, "" before the first.
	Message string
	// Numbers are those the line rings: the first number of each operator
	// in position, mobiles first, in the order of the cell.
	Numbers []string
}

// PublicLine returns what the public line answers a caller now.
func (s *Service) PublicLine(ctx context.Context) (*PublicLine, error) {
	if s.line == nil {
		return &PublicLine{}, nil
	}
	c, err := s.line.LineCell(ctx)
	if err != nil {
		return nil, err
	}
	l := &PublicLine{}
	if c == nil || c.ClosedAt != nil {
		return l, nil
	}
	l.Open, l.Activation = true, c.Activation
	m, err := s.line.PublicMessage(ctx)
	if err != nil {
		return nil, err
	}
	if m != nil {
		l.Message = m.Text
	}
	for _, o := range c.Operators {
		if o.State != tocsin.OperatorInPosition {
			continue
		}
		if n := firstNumber(o.Numbers); n != "" {
			l.Numbers = append(l.Numbers, n)
		}
	}
	return l, nil
}

// PublicMessages returns every version of the public message, oldest
// first.
func (s *Service) PublicMessages(ctx context.Context) ([]tocsin.PublicMessage, error) {
	if s.line == nil {
		return nil, nil
	}
	return s.line.PublicMessages(ctx)
}

// SetPublicMessage puts a new version of the public message in force.
// The text is one to tocsin.MaxPublicMessage characters, said as written.
func (s *Service) SetPublicMessage(ctx context.Context, by tocsin.User, text string) (*tocsin.PublicMessage, error) {
	if !by.Role.CanActivate() {
		return nil, tocsin.Errorf(tocsin.EForbidden, "le rôle %s ne permet pas de modifier le message public", by.Role)
	}
	if s.line == nil {
		return nil, tocsin.Errorf(tocsin.ENotFound, "la ligne publique n'est pas gérée par ce service")
	}
	text = strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n"))
	switch {
	case text == "":
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "text", "message vide : écrivez ce que la ligne doit dire au public")
	case !utf8.ValidString(text):
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "text", "texte illisible (encodage)")
	case utf8.RuneCountInString(text) > tocsin.MaxPublicMessage:
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "text", "message trop long : %d caractères au plus (%d)", tocsin.MaxPublicMessage, utf8.RuneCountInString(text))
	case strings.IndexFunc(text, func(r rune) bool { return unicode.IsControl(r) && r != '\n' }) >= 0:
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "text", "caractère de contrôle dans le message")
	}
	now := s.now().UTC()
	m := &tocsin.PublicMessage{Text: text, By: by.Name, At: now}
	entry := tocsin.AuditEntry{At: now, Actor: by.Name, Action: tocsin.AuditCIPMessage, Detail: "message public de la CIP modifié : « " + text + " »"}
	if err := s.line.SetPublicMessage(ctx, m, entry); err != nil {
		return nil, err
	}
	s.log.Info("public message set", "version", m.Version, "by", by.Name)
	s.drain(ctx)
	return m, nil
}

// firstNumber returns an operator's first mobile, or else first number.
func firstNumber(ns []tocsin.Number) string {
	for _, n := range ns {
		if n.Kind == tocsin.Mobile {
			return n.E164
		}
	}
	if len(ns) > 0 {
		return ns[0].E164
	}
	return ""
}
