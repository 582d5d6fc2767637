package activation

import (
	"context"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// View is an activation with everything the duty officer sees. Times are
// UTC; the *_paris fields give them in Paris time for people.
type View struct {
	tocsin.Activation
	ActivatedAtParis string          `json:"activated_at_paris"`
	DeadlineParis    string          `json:"deadline_paris"`
	Summary          tocsin.Summary  `json:"summary"`
	Forecast         tocsin.Forecast `json:"forecast"`
	// Pace is set while the provider holds the sending rates below the
	// configured ones: « Débit réel : 19,6 SMS/s, limité par Twilio ».
	Pace       *tocsin.Pace       `json:"pace,omitempty"`
	Recipients []tocsin.Recipient `json:"recipients,omitempty"`
	Timeline   []TimelineEvent    `json:"timeline,omitempty"`
}

// TimelineEvent is an event with its time in Paris.
type TimelineEvent struct {
	tocsin.Event
	AtParis string `json:"at_paris"`
}

// newView is an activation with its summary and forecast; an open one
// also with the effective rates while the provider limits them.
func (s *Service) newView(ctx context.Context, a *tocsin.Activation, rs []tocsin.Recipient) View {
	var pace *tocsin.Pace
	if a.State == tocsin.Open {
		pace = s.pace(ctx)
	}
	v := viewOf(a, a.Summarize(rs, s.now()), s.forecast(a, rs, pace))
	v.Pace = pace
	return v
}

// viewOf is an activation with its summary and forecast.
func viewOf(a *tocsin.Activation, sum tocsin.Summary, f tocsin.Forecast) View {
	return View{Activation: *a, ActivatedAtParis: tocsin.ParisTime(a.ActivatedAt), DeadlineParis: tocsin.ParisTime(a.Deadline),
		Summary: sum, Forecast: f}
}

// Get returns an activation with its summary, recipients and timeline.
func (s *Service) Get(ctx context.Context, id string) (*View, error) {
	a, err := s.store.Activation(ctx, id)
	if err != nil {
		return nil, err
	}
	rs, err := s.store.Recipients(ctx, id)
	if err != nil {
		return nil, err
	}
	ev, err := s.store.Events(ctx, id)
	if err != nil {
		return nil, err
	}
	v := s.newView(ctx, a, rs)
	v.Recipients = rs
	for _, e := range ev {
		v.Timeline = append(v.Timeline, TimelineEvent{Event: e, AtParis: tocsin.ParisTime(e.At)})
	}
	return &v, nil
}

// List returns every activation with its summary, newest first.
func (s *Service) List(ctx context.Context) ([]View, error) {
	as, err := s.store.Activations(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]View, 0, len(as))
	for i := range as {
		v, err := s.listView(ctx, &as[i])
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// listView is an activation with its summary, for lists. A closed
// activation has figures that time no longer changes (but the time left):
// they are computed once and kept while no recipient is written (a late
// status callback), so that a list of many past activations, imported
// ones included, does not read every recipient of each every time.
func (s *Service) listView(ctx context.Context, a *tocsin.Activation) (View, error) {
	now := s.now()
	settled := a.State == tocsin.Closed
	if settled {
		s.mu.Lock()
		kept, ok := s.settled[a.ID]
		s.mu.Unlock()
		if ok {
			changed, err := s.store.RecipientsChangedSince(ctx, a.ID, kept.rev)
			if err != nil {
				return View{}, err
			}
			if !changed {
				v := viewOf(a, kept.summary, kept.forecast)
				v.Summary.TimeLeft = a.Deadline.Sub(now).Seconds()
				return v, nil
			}
		}
	}
	rs, rev, err := s.store.RecipientsRev(ctx, a.ID)
	if err != nil {
		return View{}, err
	}
	v := s.newView(ctx, a, rs)
	if settled {
		s.mu.Lock()
		if s.settled == nil {
			s.settled = map[string]settledView{}
		}
		s.settled[a.ID] = settledView{rev: rev, summary: v.Summary, forecast: v.Forecast}
		s.mu.Unlock()
	}
	return v, nil
}
