package activation

import (
	"context"
	"fmt"
	"slices"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// InboxStore keeps which replies of the inbox were handled.
type InboxStore interface {
	MarkHandled(ctx context.Context, activation, seq string, h tocsin.Handled, ev tocsin.Event, audit ...tocsin.AuditEntry) error
	Handled(ctx context.Context, activation string) (map[string]tocsin.Handled, error)
}

// InboxItem is a reply that did not acknowledge: a question, a refusal, a
// wrong number. The duty officer reads it and marks it handled.
type InboxItem struct {
	Seq      string          `json:"seq"`
	At       string          `json:"at_paris"`
	Official string          `json:"official"`
	Name     string          `json:"name"`
	Text     string          `json:"text"`
	Concern  string          `json:"concern"`
	Detail   string          `json:"detail"`
	Handled  *tocsin.Handled `json:"handled,omitempty"`
}

// Inbox returns the replies of an activation that did not acknowledge,
// newest first, each with whether and by whom it was handled.
func (s *Service) Inbox(ctx context.Context, v *View) ([]InboxItem, error) {
	if s.inbox == nil {
		return nil, nil
	}
	handled, err := s.inbox.Handled(ctx, v.ID)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(v.Recipients))
	for i := range v.Recipients {
		names[v.Recipients[i].Official.ID] = v.Recipients[i].Official.Name
	}
	var out []InboxItem
	for _, e := range slices.Backward(v.Timeline) {
		if e.Kind != tocsin.EventReply {
			continue
		}
		it := InboxItem{Seq: e.Seq, At: e.AtParis, Official: e.Official, Name: names[e.Official], Text: e.Text,
			Concern: tocsin.ReplyConcern(e.Text), Detail: e.Detail}
		if h, ok := handled[e.Seq]; ok {
			it.Handled = &h
		}
		out = append(out, it)
	}
	return out, nil
}

// HandleReply marks a reply of the inbox handled, once; timeline and
// audit say by whom.
func (s *Service) HandleReply(ctx context.Context, by tocsin.User, activationID, seq string) error {
	if !by.Role.CanActivate() {
		return tocsin.Errorf(tocsin.EForbidden, "le rôle %s ne permet pas de traiter les réponses", by.Role)
	}
	if s.inbox == nil {
		return tocsin.Errorf(tocsin.EUnavailable, "boîte des réponses non disponible")
	}
	events, err := s.store.Events(ctx, activationID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(events, func(e tocsin.Event) bool { return e.Seq == seq && e.Kind == tocsin.EventReply })
	if i < 0 {
		return tocsin.Errorf(tocsin.ENotFound, "aucune réponse %q dans l'activation %s", seq, activationID)
	}
	now := s.now().UTC()
	e := events[i]
	detail := fmt.Sprintf("réponse de %s traitée par %s : « %s »", e.Official, by.Name, e.Text)
	err = s.inbox.MarkHandled(ctx, activationID, seq, tocsin.Handled{At: now, By: by.Name},
		tocsin.Event{At: now, Kind: tocsin.EventReplyHandled, Official: e.Official, Detail: detail},
		tocsin.AuditEntry{At: now, Actor: by.Name, Action: tocsin.AuditReplyHandled, Activation: activationID, Detail: detail})
	if err != nil {
		return err
	}
	s.drain(ctx)
	return nil
}
