package tocsin

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC)

func mayor(numbers ...Number) Official {
	return Official{ID: "m", Role: "maire", Commune: "76217", Arrondissement: "Dieppe", Numbers: numbers}
}

func TestPlanFollowsTheLadder(t *testing.T) {
	a := &Activation{State: Open, ActivatedAt: t0, Deadline: t0.Add(time.Hour), Ladder: []Rung{
		{After: 0, Channel: SMS, Targets: []Target{TargetMobile, TargetLandline}},
		{After: 10 * time.Minute, Channel: Voice, Targets: []Target{TargetMobile, TargetLandline}},
	}}
	r := &Recipient{Official: mayor(Number{"+33639980001", Mobile}, Number{"+33261910001", Landline})}

	due, next := a.Plan(r, t0)
	if len(due) != 1 || due[0].To != "+33639980001" || due[0].Channel != SMS || due[0].ID != "r0-1" {
		t.Fatalf("at T0: due %+v; want one SMS to the mobile only (no SMS to a landline)", due)
	}
	if !next.Equal(t0.Add(10 * time.Minute)) {
		t.Fatalf("next: %s, want T+10m", next)
	}
	r.Attempts = append(r.Attempts, due[0])
	if due, _ := a.Plan(r, t0.Add(time.Minute)); len(due) != 0 {
		t.Fatalf("at T+1m: due %+v; want nothing (already attempted)", due)
	}
	due, next = a.Plan(r, t0.Add(10*time.Minute))
	if len(due) != 2 || due[0].Channel != Voice || due[1].To != "+33261910001" || !next.IsZero() {
		t.Fatalf("at T+10m: due %+v next %s; want two calls, nothing after", due, next)
	}
	now := t0.Add(2 * time.Minute)
	r.InformedAt = &now
	if due, next := a.Plan(r, t0.Add(10*time.Minute)); len(due) != 0 || !next.IsZero() {
		t.Fatalf("informed: due %+v; want nothing more", due)
	}
}

func TestRefreshStatus(t *testing.T) {
	a := &Activation{State: Open, ActivatedAt: t0, Deadline: t0.Add(time.Hour), Ladder: DefaultLadder}
	cases := []struct {
		name     string
		attempts []AttemptStatus
		want     RecipientStatus
	}{
		{"nothing yet", nil, StatusPending},
		{"being handed over", []AttemptStatus{AttemptCreated}, StatusSending},
		{"waiting for a retry", []AttemptStatus{AttemptRetry}, StatusSending},
		{"accepted", []AttemptStatus{AttemptQueued}, StatusSent},
		{"delivered", []AttemptStatus{AttemptDelivered}, StatusDelivered},
		{"rejected, nothing left", []AttemptStatus{AttemptRejected}, StatusFailed},
		{"undelivered, nothing left", []AttemptStatus{AttemptUndelivered}, StatusFailed},
	}
	for _, c := range cases {
		r := &Recipient{Official: mayor(Number{"+33639980001", Mobile})}
		for i, s := range c.attempts {
			r.Attempts = append(r.Attempts, Attempt{ID: "r0-" + string(rune('1'+i)), To: "+33639980001", Status: s})
		}
		a.Refresh(r, t0)
		if r.Status != c.want {
			t.Errorf("%s: got %s, want %s", c.name, r.Status, c.want)
		}
	}
	landlineOnly := &Recipient{Official: mayor(Number{"+33261910001", Landline})}
	a.Refresh(landlineOnly, t0)
	if landlineOnly.Status != StatusFailed {
		t.Errorf("landline only with an SMS-only ladder: got %s, want failed (no way to reach)", landlineOnly.Status)
	}
}

func TestSummarizeDeadline(t *testing.T) {
	a := &Activation{State: Open, ActivatedAt: t0, Deadline: t0.Add(time.Hour)}
	at := func(d time.Duration) *time.Time { x := t0.Add(d); return &x }
	rs := []Recipient{
		{Status: StatusInformed, InformedAt: at(12 * time.Minute), Attempts: []Attempt{{Status: AttemptDelivered}}},
		{Status: StatusInformed, InformedAt: at(41 * time.Minute), Attempts: []Attempt{{Status: AttemptSent}}},
	}
	s := a.Summarize(rs, t0.Add(50*time.Minute))
	if s.Informed != 2 || s.Sent != 2 || s.Delivered != 1 || s.InformDelay == nil || *s.InformDelay != 41*60 || !*s.WithinDeadline {
		t.Fatalf("all informed in 41 min: got %+v", s)
	}
	rs[1].InformedAt = at(61 * time.Minute)
	s = a.Summarize(rs, t0.Add(70*time.Minute))
	if *s.WithinDeadline || *s.InformDelay != 61*60 {
		t.Fatalf("last informed at 61 min: got within %v delay %v; want missed, 3660 s", *s.WithinDeadline, *s.InformDelay)
	}
	rs[1] = Recipient{Status: StatusDelivered}
	if s := a.Summarize(rs, t0.Add(30*time.Minute)); s.WithinDeadline != nil || s.LastInformedAt != nil {
		t.Fatalf("one not informed, before the deadline: got %+v; want no verdict yet", s)
	}
	if s := a.Summarize(rs, t0.Add(61*time.Minute)); s.WithinDeadline == nil || *s.WithinDeadline {
		t.Fatalf("one not informed, after the deadline: got %+v; want missed", s)
	}
}

// Replies as officials write them: acknowledgements among greetings and
// thanks count; refusals, corrections and questions do not.
func TestIsAcknowledgement(t *testing.T) {
	cases := []struct {
		body string
		want bool
	}{
		{"OK", true}, {"ok", true}, {" Ok. ", true}, {"ok merci", true}, {"OUI", true}, {"Reçu", true},
		{"1234", true}, {"code 1234 bien reçu", true},
		{"Merci, bien reçu", true}, {"Bonjour, bien reçu", true}, {"J'ai bien reçu", true}, {"C'est noté", true},
		{"D'accord", true}, {"Pris en compte", true}, {"Okay", true}, {"👍", true}, {"Bien noté, merci !", true},
		{"RECU 5/5", true}, {"Bonsoir, message reçu, je préviens les adjoints", true}, {"Vu, merci", true},
		{"PAS OK", false}, {"non", false}, {"", false}, {"12345", false}, {"STOP", false},
		{"Mauvais numéro", false}, {"Je ne suis plus maire", false}, {"Je n'ai pas reçu le message", false},
		{"C'est quoi ?", false}, {"Qui êtes-vous ?", false}, {"Merci", false}, {"Bonjour", false},
		{"stop 1234", false},
	}
	for _, c := range cases {
		if got := IsAcknowledgement(c.body, "1234"); got != c.want {
			t.Errorf("IsAcknowledgement(%q): got %v, want %v", c.body, got, c.want)
		}
	}
}

func TestAudienceMatch(t *testing.T) {
	dieppe := Official{Role: "maire", Commune: "76217", Arrondissement: "Dieppe", Lat: 49.92, Lon: 1.08}
	adj := Official{Role: "adjoint", Commune: "76217", Arrondissement: "Dieppe", Lat: 49.92, Lon: 1.08}
	rouen := Official{Role: "maire", Commune: "76540", Arrondissement: "Rouen", Lat: 49.44, Lon: 1.10}
	penly := &Circle{Lat: 49.977, Lon: 1.212, Km: 20}
	cases := []struct {
		name string
		aud  Audience
		o    Official
		want bool
	}{
		{"everyone", Audience{Everyone: true}, rouen, true},
		{"arrondissement", Audience{Arrondissements: []string{"Dieppe"}}, rouen, false},
		{"commune", Audience{Communes: []string{"76540"}}, rouen, true},
		{"within 20 km of Penly", Audience{Within: penly}, dieppe, true},
		{"Rouen is not within 20 km of Penly", Audience{Within: penly}, rouen, false},
		{"roles restrict places", Audience{Within: penly, Roles: []string{"maire"}}, adj, false},
		{"roles alone", Audience{Roles: []string{"adjoint"}}, adj, true},
		{"roles alone, other role", Audience{Roles: []string{"adjoint"}}, rouen, false},
	}
	for _, c := range cases {
		if got := c.aud.Match(&c.o); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

// A deputy's number gets the deputies' text; the official's own numbers,
// and a number both have, the official's.
func TestDeputiesGetTheirOwnText(t *testing.T) {
	r := &Recipient{
		Official: Official{Numbers: []Number{{E164: "+33639980001"}, {E164: "+33639980009"}}},
		Deputies: []Contact{{Numbers: []Number{{E164: "+33639980002"}, {E164: "+33639980009"}}}},
		Message:  "msg", Speech: "speech",
		DeputyMessage: "deputy msg", DeputySpeech: "deputy speech",
	}
	for _, c := range []struct{ to, msg, speech string }{
		{"+33639980001", "msg", "speech"},
		{"+33639980002", "deputy msg", "deputy speech"},
		{"+33639980009", "msg", "speech"},
	} {
		if got := r.MessageFor(c.to); got != c.msg {
			t.Errorf("MessageFor(%s) = %q, want %q", c.to, got, c.msg)
		}
		if got := r.SpeechFor(c.to); got != c.speech {
			t.Errorf("SpeechFor(%s) = %q, want %q", c.to, got, c.speech)
		}
	}
	old := &Recipient{Message: "msg", Deputies: r.Deputies}
	if old.MessageFor("+33639980002") != "msg" || old.SpeechFor("+33639980002") != "msg" {
		t.Error("an activation made before deputies had their own text: the official's message")
	}
}

func TestOperatorAnswer(t *testing.T) {
	for body, want := range map[string]OperatorState{
		"1": OperatorComing, "J'arrive !": OperatorComing, "ok j'arrive dans 20 min": OperatorComing,
		"2": OperatorUnavailable, "Indisponible, désolé": OperatorUnavailable,
		"EN POSTE": OperatorInPosition, "je suis en poste": OperatorInPosition,
		"qui est-ce ?": "",
	} {
		if got, ok := OperatorAnswer(body); got != want || ok != (want != "") {
			t.Errorf("OperatorAnswer(%q) = %q, %t; want %q", body, got, ok, want)
		}
	}
}
