package activation

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// memStore keeps activations and recipients in memory, for the service's
// own tests: what a reply does is decided here, not in the store. Methods
// the tests do not use are those of the nil Store it embeds.
type memStore struct {
	Store
	acts   []*tocsin.Activation
	rs     map[string]map[string]*tocsin.Recipient
	events []tocsin.Event
}

func (m *memStore) OpenByNumber(_ context.Context, e164 string) ([]tocsin.Activation, [][]string, error) {
	var acts []tocsin.Activation
	var ids [][]string
	for _, a := range m.acts {
		if a.State != tocsin.Open {
			continue
		}
		var who []string
		for id, r := range m.rs[a.ID] {
			numbers := slices.Clone(r.Official.Numbers)
			for _, d := range r.Deputies {
				numbers = append(numbers, d.Numbers...)
			}
			if slices.ContainsFunc(numbers, func(n tocsin.Number) bool { return n.E164 == e164 }) {
				who = append(who, id)
			}
		}
		if len(who) > 0 {
			slices.Sort(who)
			acts, ids = append(acts, *a), append(ids, who)
		}
	}
	return acts, ids, nil
}

func (m *memStore) UpdateRecipient(_ context.Context, activation, official string,
	fn func(a *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error), _ ...tocsin.AuditEntry) (*tocsin.Recipient, error) {
	i := slices.IndexFunc(m.acts, func(a *tocsin.Activation) bool { return a.ID == activation })
	r, ok := m.rs[activation][official]
	if i < 0 || !ok {
		return nil, tocsin.Errorf(tocsin.ENotFound, "introuvable")
	}
	a, c := *m.acts[i], *r
	c.Attempts, c.Replies = slices.Clone(r.Attempts), slices.Clone(r.Replies)
	events, err := fn(&a, &c)
	if err != nil {
		return nil, err
	}
	m.rs[activation][official] = &c
	m.events = append(m.events, events...)
	return &c, nil
}

var t0 = time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)

const (
	mayorNumber  = "+33639980001"
	deputyNumber = "+33639980002"
)

// world is an open activation (code 4242) targeting the mayor of Bourg,
// whose deputy the ladder may or may not have reached, and an older one
// (code 1111) targeting the same mayor.
func world(deputyContacted bool) *memStore {
	mayor := func() *tocsin.Recipient {
		r := &tocsin.Recipient{Official: tocsin.Official{ID: "bourg", Name: "Maire de Bourg", Numbers: []tocsin.Number{{E164: mayorNumber, Kind: tocsin.Mobile}}},
			Deputies: []tocsin.Contact{{ID: "bourg-adjoint", Name: "Adjoint de Bourg", Numbers: []tocsin.Number{{E164: deputyNumber, Kind: tocsin.Mobile}}}},
			Attempts: []tocsin.Attempt{{ID: "r0-1", To: mayorNumber, Tries: 1, Status: tocsin.AttemptDelivered}}}
		if deputyContacted {
			r.Attempts = append(r.Attempts, tocsin.Attempt{ID: "r2-1", Rung: 2, To: deputyNumber, Tries: 1, Status: tocsin.AttemptDelivered})
		}
		return r
	}
	return &memStore{
		acts: []*tocsin.Activation{
			{ID: "ancienne", State: tocsin.Open, Code: "1111", ActivatedAt: t0.Add(-2 * time.Hour)},
			{ID: "crue", State: tocsin.Open, Code: "4242", ActivatedAt: t0},
		},
		rs: map[string]map[string]*tocsin.Recipient{"ancienne": {"bourg": mayor()}, "crue": {"bourg": mayor()}},
	}
}

func TestWhatAReplyDoes(t *testing.T) {
	now := t0.Add(5 * time.Minute)
	tests := []struct {
		name            string
		deputyContacted bool
		in              tocsin.Inbound
		already         string // SID applied before, informing the mayor
		want            ReplyOutcome
		informedIn      string // the activation where the mayor is informed, "" for none
		wantAt          time.Time
		detail          string // in the event
	}{
		{name: "OK from the mayor's own number informs in the newest activation",
			in: tocsin.Inbound{SID: "SM1", From: mayorNumber, Body: "ok"}, want: ReplyInformed, informedIn: "crue", wantAt: now,
			detail: "réponse « ok » de " + mayorNumber},
		{name: "the code of the older activation informs there",
			in: tocsin.Inbound{SID: "SM1", From: mayorNumber, Body: "1111"}, want: ReplyInformed, informedIn: "ancienne", wantAt: now},
		{name: "a deputy's reply before the ladder reached them counts for nothing",
			in: tocsin.Inbound{SID: "SM1", From: deputyNumber, Body: "OK"}, want: ReplyAlready},
		{name: "a deputy's reply once the ladder reached them informs the mayor", deputyContacted: true,
			in: tocsin.Inbound{SID: "SM1", From: deputyNumber, Body: "OK"}, want: ReplyInformed, informedIn: "crue", wantAt: now,
			detail: "du suppléant Adjoint de Bourg"},
		{name: "a reply that is no acknowledgement is kept in the timeline only",
			in: tocsin.Inbound{SID: "SM1", From: mayorNumber, Body: "C'est quoi ?"}, want: ReplyNotUnderstood,
			detail: "réponse non reconnue"},
		{name: "an unknown number", in: tocsin.Inbound{SID: "SM1", From: "+33639980099", Body: "OK"}, want: ReplyUnknownNumber},
		{name: "the same reply twice (webhook and reconciliation) counts once",
			in: tocsin.Inbound{SID: "SM1", From: mayorNumber, Body: "OK"}, already: "SM1", want: ReplyAlready, informedIn: "crue", wantAt: t0.Add(time.Minute)},
		{name: "a second acknowledgement changes nothing",
			in: tocsin.Inbound{SID: "SM2", From: mayorNumber, Body: "OK"}, already: "SM1", want: ReplyAlready, informedIn: "crue", wantAt: t0.Add(time.Minute)},
		{name: "a reply recovered from Twilio informs at the time Twilio received it",
			in:   tocsin.Inbound{SID: "SM1", From: mayorNumber, Body: "OK", At: t0.Add(2 * time.Minute), Recovered: true},
			want: ReplyInformed, informedIn: "crue", wantAt: t0.Add(2 * time.Minute), detail: "retrouvée chez l'opérateur"},
		{name: "a reply received before an activation opened does not answer it",
			in:   tocsin.Inbound{SID: "SM1", From: mayorNumber, Body: "OK", At: t0.Add(-time.Minute), Recovered: true},
			want: ReplyInformed, informedIn: "ancienne", wantAt: t0.Add(-time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := world(tt.deputyContacted)
			if tt.already != "" {
				at := t0.Add(time.Minute)
				r := st.rs["crue"]["bourg"]
				r.InformedAt, r.InformedHow, r.Replies = &at, "sms", []string{tt.already}
			}
			s := New(Config{Store: st, Now: func() time.Time { return now }})
			got, err := s.Reply(context.Background(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("outcome %q, want %q", got, tt.want)
			}
			for _, act := range []string{"ancienne", "crue"} {
				r := st.rs[act]["bourg"]
				informed := r.InformedAt != nil
				if informed != (act == tt.informedIn) {
					t.Errorf("%s: informed %v, want %v", act, informed, act == tt.informedIn)
				}
				if informed && !r.InformedAt.Equal(tt.wantAt) {
					t.Errorf("%s: informed at %v, want %v", act, r.InformedAt, tt.wantAt)
				}
			}
			var details []string
			for _, e := range st.events {
				details = append(details, e.Detail)
			}
			if tt.detail != "" && !strings.Contains(strings.Join(details, "\n"), tt.detail) {
				t.Errorf("events %q, want one saying %q", details, tt.detail)
			}
			if tt.detail == "" && tt.already != "" && len(st.events) > 0 {
				t.Errorf("events %q, want none", details)
			}
		})
	}
}

// A store that fails says so: the webhook answers 503 and reconciliation
// brings the reply back later.
func TestAReplyTheStoreCannotRecordIsAnError(t *testing.T) {
	st := &failingStore{memStore: world(false)}
	s := New(Config{Store: st})
	if _, err := s.Reply(context.Background(), tocsin.Inbound{SID: "SM1", From: mayorNumber, Body: "OK"}); tocsin.ErrorCode(err) != tocsin.EUnavailable {
		t.Errorf("error %v, want the store's unavailability", err)
	}
}

type failingStore struct{ *memStore }

func (f *failingStore) UpdateRecipient(context.Context, string, string, func(*tocsin.Activation, *tocsin.Recipient) ([]tocsin.Event, error), ...tocsin.AuditEntry) (*tocsin.Recipient, error) {
	return nil, errors.Join(tocsin.Errorf(tocsin.EUnavailable, "le stockage (etcd) ne répond pas"), context.DeadlineExceeded)
}

// A reply that was no acknowledgement, brought again by reconciliation,
// adds nothing to the timeline: its SID is on the recipient.
func TestAReplySeenTwiceIsRecordedOnce(t *testing.T) {
	st := world(false)
	s := New(Config{Store: st, Now: func() time.Time { return t0.Add(5 * time.Minute) }})
	in := tocsin.Inbound{SID: "SM1", From: mayorNumber, Body: "Qui est-ce ?"}
	for range 2 {
		if _, err := s.Reply(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		in.Recovered = true
	}
	if len(st.events) != 1 || !slices.Contains(st.rs["crue"]["bourg"].Replies, "SM1") {
		t.Errorf("events %v, replies %v; want one event and SM1 recorded", st.events, st.rs["crue"]["bourg"].Replies)
	}
}
