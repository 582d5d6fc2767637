package web

import (
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// The timeline says what a provider's error code means, in French, however
// the detail was written.
func TestErrorCodesAreExplained(t *testing.T) {
	cases := []struct{ detail, want string }{
		{"SMS non distribué (code 30003)", "SMS non distribué (code 30003 : téléphone injoignable (éteint ou hors réseau))"},
		{"Anne : refus définitif de l'opérateur (invalid_number, code 21211)", "Anne : refus définitif de l'opérateur (code 21211 : numéro invalide)"},
		{"échec de l'envoi (code 39999)", "échec de l'envoi (code 39999)"},
		{"message distribué", "message distribué"},
	}
	for _, c := range cases {
		if got := withErrorMeanings(c.detail); got != c.want {
			t.Errorf("withErrorMeanings(%q) = %q; want %q", c.detail, got, c.want)
		}
	}
}

// Every action the trail records has a French label.
func TestEveryAuditActionHasALabel(t *testing.T) {
	for _, a := range []string{tocsin.AuditActivationCreated, tocsin.AuditActivationClosed, tocsin.AuditCIP, tocsin.AuditConfirmed,
		tocsin.AuditInformed, tocsin.AuditLogin, tocsin.AuditLoginFailed, tocsin.AuditImport, tocsin.AuditExport, tocsin.AuditExercise,
		tocsin.AuditConfig, tocsin.AuditRoute, tocsin.AuditRecipients, tocsin.AuditUnreadable, tocsin.AuditRetex, tocsin.AuditHistoryImported,
		tocsin.AuditClaimed, tocsin.AuditReleased, tocsin.AuditCalled, tocsin.AuditRushed} {
		if l := actionLabel(a); l == a || l == "" {
			t.Errorf("action %q has no French label", a)
		}
	}
}

// An official's history lists the calls made by hand among the attempts,
// newest first.
func TestHistoryMixesAttemptsAndCallsByHand(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC)
	r := &tocsin.Recipient{
		Attempts: []tocsin.Attempt{
			{Channel: tocsin.SMS, To: "+33639980001", Status: tocsin.AttemptUndelivered, ErrorCode: 30003, CreatedAt: t0, UpdatedAt: t0.Add(time.Second)},
			{Channel: tocsin.Voice, To: "+33639980001", Status: tocsin.AttemptNoAnswer, CreatedAt: t0.Add(10 * time.Minute)},
		},
		Calls: []tocsin.ManualCall{{At: t0.Add(31 * time.Minute), By: "paul", Number: "+33639980001", Outcome: tocsin.CallVoicemail, Note: "message laissé"}},
	}
	got := attemptHistory(r, t0.Add(time.Hour))
	want := []string{
		"appel à la main par paul au 06 39 98 00 01 : messagerie (message laissé), 17:31:00",
		"appel au 06 39 98 00 01 : pas de réponse, 17:10:00",
		"SMS au 06 39 98 00 01 : non distribué (code 30003 : téléphone injoignable (éteint ou hors réseau)), 17:00:01",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("history:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A scenario is shown with a message as an official receives it, and its
// communes by name when the directory knows them.
func TestPlaybookShownInWords(t *testing.T) {
	pb := &tocsin.Playbook{ID: "crue", Title: "Crue de la Seine", Message: "Crue : {{.Commune}}.{{if .Note}} {{.Note}}{{end}}", Deadline: time.Hour,
		Audience: tocsin.Audience{Communes: []string{"76217", "76540", "76999"}}}
	v := newPlaybookView(pb, map[string]string{"76217": "Dieppe", "76540": "Rouen"})
	if want := "3 communes : Dieppe (76217), Rouen (76540), 76999"; len(v.Audience) != 1 || v.Audience[0] != want {
		t.Errorf("audience %q; want %q", v.Audience, want)
	}
	if !strings.HasPrefix(v.Example, "Crue : Dieppe. Point de situation à 16 h en préfecture.") || strings.Contains(v.Example, "{{") {
		t.Errorf("example %q; want the message rendered for Dieppe with the free text", v.Example)
	}
}

// The calling view puts first the official the officer calls, then those
// nobody calls, every automatic means failed before merely late, then
// those another officer calls; those not on the list come last, hidden.
func TestCallListOrder(t *testing.T) {
	now := time.Date(2026, 3, 1, 17, 0, 0, 0, time.UTC)
	a := &tocsin.Activation{State: tocsin.Open, ActivatedAt: now.Add(-20 * time.Minute), Deadline: now.Add(40 * time.Minute)}
	held := func(by string) *tocsin.Claim { return &tocsin.Claim{By: by, At: now, Until: now.Add(5 * time.Minute)} }
	official := func(id, commune string) tocsin.Official {
		return tocsin.Official{ID: id, Name: id, CommuneName: commune}
	}
	rs := []tocsin.Recipient{
		{Official: official("en-retard", "Eu"), Status: tocsin.StatusDelivered},
		{Official: official("pris-par-paul", "Dieppe"), Status: tocsin.StatusFailed, Claim: held("paul")},
		{Official: official("echec-rouen", "Rouen"), Status: tocsin.StatusFailed},
		{Official: official("echec-bolbec", "Bolbec"), Status: tocsin.StatusFailed},
		{Official: official("pris-par-moi", "Yvetot"), Status: tocsin.StatusDelivered, Claim: held("anne")},
		{Official: official("lapse", "Fécamp"), Status: tocsin.StatusFailed, Claim: &tocsin.Claim{By: "paul", At: now.Add(-20 * time.Minute), Until: now.Add(-10 * time.Minute)}},
		{Official: official("informe", "Dieppe"), Status: tocsin.StatusInformed, InformedAt: &now},
	}
	a.Ladder = []tocsin.Rung{{Channel: tocsin.SMS, Targets: []tocsin.Target{tocsin.TargetMobile}}, {After: 30 * time.Minute, Channel: tocsin.Manual}}
	var got []string
	for _, w := range callList(a, rs, now, "anne") {
		got = append(got, w.ID)
	}
	want := "pris-par-moi echec-bolbec lapse echec-rouen pris-par-paul en-retard"
	if strings.Join(got, " ") != want {
		t.Errorf("order %q; want %q", strings.Join(got, " "), want)
	}
}
