package tocsin

import (
	"strings"
	"testing"
	"time"
)

// Every notice is one GSM-7 segment, in an exercise too: it prices as one
// SMS and no accent of it forces UCS-2.
func TestNoticesAreOneGSM7Segment(t *testing.T) {
	at := time.Date(2026, 12, 6, 16, 35, 0, 0, time.UTC) // 17 h 35 in Paris
	for _, exercise := range []bool{false, true} {
		for _, text := range []string{ConfirmationText(at, exercise), GuidanceText(exercise)} {
			if n, enc := Segments(text); n != 1 || enc != GSM7 {
				t.Errorf("%q: %d segments in %s, want 1 in GSM-7 (forcing UCS-2: %q)", text, n, enc, NonGSM(text))
			}
			if exercise != strings.HasPrefix(text, ExercisePrefix) {
				t.Errorf("%q: exercise %t, want the prefix only in an exercise", text, exercise)
			}
		}
	}
	if got, want := ConfirmationText(at, false), "Réception confirmée à 17 h 35, merci."; got != want {
		t.Errorf("confirmation: got %q, want %q", got, want)
	}
	summer := time.Date(2026, 7, 14, 7, 5, 0, 0, time.UTC) // 9 h 05 in Paris (UTC+2)
	if got := ConfirmationText(summer, false); !strings.Contains(got, "9 h 05") {
		t.Errorf("confirmation in summer: got %q, want Paris time 9 h 05", got)
	}
}

func TestFollowUpTextIsChecked(t *testing.T) {
	a := &Activation{Exercise: true, Messages: []FollowUp{{N: 1, Text: "premier"}}}
	cases := []struct {
		name, text, wantErr, wantText string
	}{
		{"empty", "   ", "vide", ""},
		{"too long", strings.Repeat("Fin d'alerte. ", 40), "trop long", ""},
		{"folded typography", "Fin d’alerte : levée du confinement…", "", "Fin d'alerte : levée du confinement..."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := a.NewFollowUp(c.text, "permanence", time.Now())
			if c.wantErr != "" {
				if err == nil || ErrorCode(err) != EInvalid || !strings.Contains(ErrorMessage(err), c.wantErr) || !strings.Contains(ErrorMessage(err), "texte") {
					t.Fatalf("got %v, want an invalid « texte » saying %q", err, c.wantErr)
				}
				return
			}
			if err != nil || f.Text != c.wantText || f.N != 2 || f.NoticeID() != "m2" {
				t.Fatalf("got %+v, %v; want the second message %q", f, err, c.wantText)
			}
		})
	}
}

// A follow-up goes once to each official's first mobile: one who has it
// recorded is due nothing more; a landline-only official gets nothing.
func TestPlanNoticesSendsEachFollowUpOnce(t *testing.T) {
	a := &Activation{State: Open, Exercise: true, Messages: []FollowUp{{N: 1, Text: "Fin d'alerte."}}}
	r := &Recipient{Official: Official{Numbers: []Number{{E164: "+33235000000", Kind: Landline}, {E164: "+33639980001", Kind: Mobile}}}}
	due := a.PlanNotices(r)
	if len(due) != 1 || due[0].To != "+33639980001" || due[0].Body != "EXERCICE - Fin d'alerte." || due[0].Notice != NoticeMessage {
		t.Fatalf("due %+v; want the message to the mobile, with the exercise prefix", due)
	}
	r.InformedAt = &time.Time{}
	if !a.NeedsWork(r) {
		t.Errorf("an informed official with a message due: no work, want some")
	}
	r.AddNotice(due[0])
	r.Notices[0].Status = AttemptDelivered
	if due := a.PlanNotices(r); len(due) != 0 || a.NeedsWork(r) {
		t.Errorf("after it was sent: due %+v, want nothing", due)
	}
	landline := &Recipient{Official: Official{Numbers: []Number{{E164: "+33235000000", Kind: Landline}}}}
	if due := a.PlanNotices(landline); len(due) != 0 {
		t.Errorf("landline only: due %+v, want nothing", due)
	}
	a.State = Closed
	if due := a.PlanNotices(&Recipient{Official: r.Official}); len(due) != 0 {
		t.Errorf("closed: due %+v, want nothing", due)
	}
}
