package activation

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"time"
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
	// RecordPublicCall writes a call by its SID; PublicCall reads it back
	// (nil if none); PublicCalls sums up those of a CIP.
	RecordPublicCall(ctx context.Context, activation string, c tocsin.PublicCall) error
	PublicCall(ctx context.Context, activation, sid string) (*tocsin.PublicCall, error)
	PublicCalls(ctx context.Context, activation string, lostBefore time.Time) (tocsin.PublicCalls, error)
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

// callSID is the shape of a provider's call id: a call not named so is
// answered, not recorded.
var callSID = regexp.MustCompile(`^[A-Za-z0-9]{2,64}$`)

// RecordPublicCall records a call to the public line of an open CIP:
// whether it was put through to the operators in position. The caller is
// answered even when the record fails. It reports whether the call was
// recorded already: Twilio told it again, which counts nothing more.
func (s *Service) RecordPublicCall(ctx context.Context, l *PublicLine, sid string) (again bool) {
	if s.line == nil || !l.Open || !callSID.MatchString(sid) {
		return false
	}
	now := s.now().UTC()
	c := tocsin.PublicCall{SID: sid, At: now, PutThrough: len(l.Numbers) > 0}
	var err error
	if s.Queued() {
		// Written once: a retry must not undo how the caller left the
		// queue.
		c.Queued = c.PutThrough
		if c.Queued {
			c.SeenAt = now
		}
		_, err = s.queue.UpdatePublicCall(ctx, l.Activation, sid, func(cur *tocsin.PublicCall) *tocsin.PublicCall {
			if again = cur != nil; again {
				return nil
			}
			return &c
		})
	} else {
		err = s.line.RecordPublicCall(ctx, l.Activation, c)
	}
	if err != nil {
		s.log.Warn("public call not counted", "activation", l.Activation, "err", err)
	}
	return again
}

// PublicCallDialed records how the ringing of a call put through ended
// (Twilio's DialCallStatus and DialCallDuration), and reports whether an
// operator took the call.
func (s *Service) PublicCallDialed(ctx context.Context, activation, sid, status, seconds string) (bool, error) {
	c := &tocsin.PublicCall{SID: sid, PutThrough: true, DialStatus: status}
	answered := c.Answered()
	if s.line == nil || !callSID.MatchString(sid) || !tocsin.ValidID(activation) {
		return answered, nil
	}
	cur, err := s.line.PublicCall(ctx, activation, sid)
	if err != nil {
		s.log.Warn("public call outcome not counted", "activation", activation, "err", err)
		return answered, nil
	}
	if cur == nil {
		cur = &tocsin.PublicCall{SID: sid, At: s.now().UTC(), PutThrough: true}
	}
	cur.DialStatus = status
	cur.DialSeconds, _ = strconv.Atoi(seconds)
	if err := s.line.RecordPublicCall(ctx, activation, *cur); err != nil {
		s.log.Warn("public call outcome not counted", "activation", activation, "err", err)
	}
	return answered, nil
}

// PublicCalls sums up the calls to the public line of an activation's CIP.
func (s *Service) PublicCalls(ctx context.Context, activation string) (tocsin.PublicCalls, error) {
	if s.line == nil {
		return tocsin.PublicCalls{}, nil
	}
	return s.line.PublicCalls(ctx, activation, s.now().UTC().Add(-tocsin.LostAfter))
}
