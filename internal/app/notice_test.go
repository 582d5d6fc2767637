package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// replying is a virtual official who answers every SMS they get with
// text, quickly.
func replying(text string) twiliosim.Persona {
	return twiliosim.Persona{Behaviour: twiliosim.Reply, Reply: text, Delay: twiliosim.Fixed(30 * time.Millisecond)}
}

// inbound counts the SMS the simulator received from number.
func inbound(sim *twiliosim.Server, from string) int {
	n := 0
	for _, m := range sim.Messages() {
		if m.Direction == twiliosim.DirectionInbound && m.From == from {
			n++
		}
	}
	return n
}

// recipientOf finds an official in a view.
func recipientOf(t *testing.T, v *view, id string) *tocsin.Recipient {
	t.Helper()
	for i := range v.Recipients {
		if v.Recipients[i].Official.ID == id {
			return &v.Recipients[i]
		}
	}
	t.Fatalf("no recipient %s", id)
	return nil
}

// The mayor of Dieppe answers « Bien reçu, merci »: she is told, once, by
// SMS, at what time her acknowledgement was recorded — and her « OK » to
// that confirmation changes nothing. The mayor of Arques asks a question:
// he is told how to confirm, once, though he answers the guidance with
// the same question again. The mayor of Eu writes STOP: nothing is sent
// to him. The silent mayor of Tréport is told nothing. The notices go
// through dispatch (timeline), are not attempts and inform nobody.
func TestOfficialsAreToldWhatTheirReplyDid(t *testing.T) {
	t.Parallel()
	profile := twiliosim.Profile{Default: twiliosim.Persona{Behaviour: twiliosim.Silent}, Delivery: twiliosim.Fixed(10 * time.Millisecond),
		Numbers: map[string]twiliosim.Persona{
			fictionMobile(1): replying("Bien reçu, merci"),
			fictionMobile(2): replying("Que faut-il faire ?"),
			fictionMobile(3): replying("STOP"),
		}}
	a := mustRunApp(t, app.Config{SimulatorProfile: &profile})
	if err := a.Store().ReplaceOfficials(t.Context(), []tocsin.Official{
		mayorOf("dieppe", mobile(fictionMobile(1))), mayorOf("arques", mobile(fictionMobile(2))),
		mayorOf("eu", mobile(fictionMobile(3))), mayorOf("treport", mobile(fictionMobile(4)))}); err != nil {
		t.Fatal(err)
	}
	var v view
	if st := api(t, a, "POST", "/api/v1/activations", map[string]any{"playbook": "test-tous"}, &v); st != http.StatusCreated {
		t.Fatalf("create: status %d", st)
	}
	sim := a.Simulator()
	confirmation := testingutil.ExpectSMS(t, sim, fictionMobile(1), "Réception confirmée à", "merci")
	guidance := testingutil.ExpectSMS(t, sim, fictionMobile(2), "Répondez OK")
	// Each answers what they were told: Dieppe « Bien reçu » again, Arques
	// his question again, which the inbox shows twice.
	testingutil.Eventually(t, 10*time.Second, "the second answers of Dieppe and Arques", func() bool {
		return inbound(sim, fictionMobile(1)) == 2 && inbound(sim, fictionMobile(2)) == 2
	})
	final := waitFor(t, a, v.ID, 10*time.Second, "Arques's two questions and Eu's STOP in the timeline, dispatch idle", func(v *view) bool {
		replies := 0
		for _, e := range v.Timeline {
			if e.Kind == tocsin.EventReply {
				replies++
			}
		}
		return replies == 3 && a.Dispatcher().Idle()
	})

	// The simulator's own record: one confirmation, one guidance, nothing else.
	testingutil.ExpectSMSCounts(t, sim, map[string]int{fictionMobile(1): 2, fictionMobile(2): 2, fictionMobile(3): 1, fictionMobile(4): 1})
	if n, enc := tocsin.Segments(confirmation.Body); n != 1 || enc != tocsin.GSM7 {
		t.Errorf("confirmation %q: %d segments in %s, want one GSM-7", confirmation.Body, n, enc)
	}
	if n, enc := tocsin.Segments(guidance.Body); n != 1 || enc != tocsin.GSM7 {
		t.Errorf("guidance %q: %d segments in %s, want one GSM-7", guidance.Body, n, enc)
	}
	dieppe := recipientOf(t, final, "dieppe")
	if dieppe.InformedAt == nil || confirmation.Body != tocsin.ConfirmationText(*dieppe.InformedAt, false) {
		t.Errorf("confirmation %q; want the Paris time of the acknowledgement (%v)", confirmation.Body, dieppe.InformedAt)
	}
	// Notices are not attempts, inform nobody, and leave the figures.
	for _, id := range []string{"dieppe", "arques", "eu", "treport"} {
		r := recipientOf(t, final, id)
		if len(r.Attempts) != 1 {
			t.Errorf("%s: %d attempts, want the alert only", id, len(r.Attempts))
		}
		want := map[string]int{"dieppe": 1, "arques": 1}[id]
		if len(r.Notices) != want {
			t.Errorf("%s: notices %+v, want %d", id, r.Notices, want)
		}
		for _, n := range r.Notices {
			if n.SID == "" || !n.Status.Accepted() {
				t.Errorf("%s: notice %+v not handed over", id, n)
			}
		}
	}
	if s := final.Summary; s.Informed != 1 || s.Sent != 4 || recipientOf(t, final, "arques").Status == tocsin.StatusInformed {
		t.Errorf("summary %+v; want 1 informed (Dieppe), 4 sent", s)
	}
	kinds := map[string]int{}
	for _, e := range final.Timeline {
		kinds[e.Kind]++
	}
	if kinds[tocsin.EventNotice] != 2 || kinds[tocsin.EventAttempt] != 4 || kinds[tocsin.EventInformed] != 1 {
		t.Errorf("timeline kinds %v; want 2 notices, 4 attempts, 1 informed", kinds)
	}
}

// The duty officer ends the alert: « Fin d'alerte » goes once by SMS to
// every mayor with a mobile, informed or not, in the same activation,
// paced and recorded like the alert; nobody's acknowledgement changes.
// An empty or too long text is refused, naming the field, and changes
// nothing; an auditor may not send.
func TestTheEndOfTheAlertIsTextedOnceToEveryMayor(t *testing.T) {
	t.Parallel()
	profile := twiliosim.Profile{Default: twiliosim.Persona{Behaviour: twiliosim.Silent}, Delivery: twiliosim.Fixed(10 * time.Millisecond),
		Numbers: map[string]twiliosim.Persona{fictionMobile(1): replying("OK")}}
	a := mustRunApp(t, app.Config{SimulatorProfile: &profile})
	if err := a.Store().ReplaceOfficials(t.Context(), []tocsin.Official{
		mayorOf("dieppe", mobile(fictionMobile(1))), mayorOf("arques", mobile(fictionMobile(2))),
		mayorOf("eu", landline("+33235990001"))}); err != nil {
		t.Fatal(err)
	}
	var v view
	if st := api(t, a, "POST", "/api/v1/activations", map[string]any{"playbook": "test-tous", "exercise": true}, &v); st != http.StatusCreated {
		t.Fatalf("create: status %d", st)
	}
	sim := a.Simulator()
	testingutil.ExpectSMS(t, sim, fictionMobile(1), "Réception confirmée")
	before := waitFor(t, a, v.ID, 10*time.Second, "Dieppe informed, Arques texted", func(v *view) bool {
		return v.Summary.Informed == 1 && v.Summary.Sent == 2
	})

	path := "/api/v1/activations/" + v.ID + "/messages"
	for _, text := range []string{"  ", strings.Repeat("Fin d'alerte. ", 40)} {
		var e apiError
		if st := api(t, a, "POST", path, map[string]string{"text": text}, &e); st != http.StatusBadRequest || e.Error.Field != "text" || !strings.Contains(e.Error.Message, "texte") {
			t.Errorf("text %.20q: status %d %+v; want 400 naming « texte »", text, st, e.Error)
		}
	}
	auditor := loginAs(t, a, "auditrice", tocsin.RoleAuditor)
	if st, _, _ := auditor.postCSRF("/activations/"+v.ID+"/message", url.Values{"texte": {"Fin d'alerte."}}); st != http.StatusForbidden {
		t.Errorf("an auditor sending a message: status %d, want 403", st)
	}
	officer := loginAs(t, a, "permanence", tocsin.RoleOfficer)
	if st, page, _ := officer.postCSRF("/activations/"+v.ID+"/message", url.Values{"texte": {""}}); st != http.StatusBadRequest || !strings.Contains(page, "texte") {
		t.Errorf("an empty message from the console: status %d; want 400 naming « texte »", st)
	}
	var unchanged view
	api(t, a, "GET", "/api/v1/activations/"+v.ID, nil, &unchanged)
	for _, e := range unchanged.Timeline {
		if e.Kind == tocsin.EventFollowUp || e.Kind == tocsin.EventNotice && e.Attempt != "confirmation" {
			t.Errorf("after refused messages: %s in the timeline; want nothing sent", e.Detail)
		}
	}
	if len(unchanged.Messages) != 0 {
		t.Fatalf("after refused messages: %d messages; want none", len(unchanged.Messages))
	}

	if st, _, loc := officer.postCSRF("/activations/"+v.ID+"/message", url.Values{"texte": {"Fin d’alerte : la crue est terminée."}}); st != http.StatusSeeOther || !strings.Contains(loc, "info=message") {
		t.Fatalf("send from the console: status %d to %q", st, loc)
	}
	want := "EXERCICE - Fin d'alerte : la crue est terminée."
	testingutil.ExpectSMS(t, sim, fictionMobile(1), want)
	testingutil.ExpectSMS(t, sim, fictionMobile(2), want)
	// Dieppe answers « OK » to it: she was informed already, nothing changes.
	testingutil.Eventually(t, 10*time.Second, "Dieppe's answer to the message", func() bool { return inbound(sim, fictionMobile(1)) == 3 })
	after := waitFor(t, a, v.ID, 10*time.Second, "the message handed over twice, dispatch idle", func(v *view) bool {
		n := 0
		for _, r := range v.Recipients {
			if m := r.Notice("m1"); m != nil && m.SID != "" {
				n++
			}
		}
		return n == 2 && a.Dispatcher().Idle()
	})
	testingutil.ExpectSMSCounts(t, sim, map[string]int{fictionMobile(1): 3, fictionMobile(2): 2})
	if after.Summary.Informed != 1 || after.Summary.Sent != 2 || after.State != tocsin.Open {
		t.Errorf("summary %+v, state %s; want as before the message (1 informed, 2 sent), open", after.Summary, after.State)
	}
	if d, d0 := recipientOf(t, after, "dieppe"), recipientOf(t, before, "dieppe"); !d.InformedAt.Equal(*d0.InformedAt) {
		t.Errorf("Dieppe informed at %v, was %v", d.InformedAt, d0.InformedAt)
	}
	if r := recipientOf(t, after, "arques"); r.InformedAt != nil || len(r.Attempts) != 1 {
		t.Errorf("Arques: informed %v, %d attempts; want not informed, the alert only", r.InformedAt, len(r.Attempts))
	}
	if len(after.Messages) != 1 || after.Messages[0].By != "permanence" {
		t.Errorf("messages %+v; want one, by permanence", after.Messages)
	}
	if _, page := officer.get("/activations/" + v.ID); !strings.Contains(page, "Messages de suivi") || !strings.Contains(page, "(1 SMS en GSM-7) — remis à l'opérateur pour <span data-message-sent=\"1\">2</span> élu(s) sur 2") {
		i := strings.Index(page, "Messages de suivi")
		t.Errorf("the activation page does not list the message and how far it went: %.600s", page[max(i, 0):])
	}
	if n := countAudit(t, a, v.ID, tocsin.AuditFollowUp, "permanence"); n != 1 {
		t.Errorf("%d audit entries of the message, want 1", n)
	}
}

// The dashboard counts each open activation's replies to handle, live: a
// question arrives, the count goes to 1; an officer handles it, to 0.
func TestTheDashboardCountsTheRepliesToHandle(t *testing.T) {
	t.Parallel()
	a := silentApp(t, app.Config{})
	id := mustActivate(t, a)
	officer := loginAs(t, a, "permanence", tocsin.RoleOfficer)
	if _, page := officer.get("/"); !strings.Contains(page, `data-counter="inbox">0<`) {
		t.Fatalf("the dashboard shows no inbox count of 0")
	}
	conn, _, err := dialLive(t, officer, "tableau", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	testingutil.ExpectSMS(t, a.Simulator(), fictionMobile(201))
	postSigned(t, a, "/twilio/sms/inbound", url.Values{"MessageSid": {"SMq1"}, "From": {fictionMobile(201)}, "To": {"+33639980000"}, "Body": {"Faut-il fermer l'école ?"}})
	inboxIs := func(n int) func(m liveMsg) bool {
		return func(m liveMsg) bool {
			return m.Type == "summary" && m.Activation == id && m.Counters != nil && m.Counters.Inbox == n
		}
	}
	readUntil(t, conn, 10*time.Second, "a dashboard summary with one reply to handle", inboxIs(1))
	if _, page := officer.get("/"); !strings.Contains(page, `data-counter="inbox">1<`) {
		t.Errorf("the dashboard does not count the reply")
	}
	var box struct {
		Replies []struct{ Seq string } `json:"replies"`
	}
	api(t, a, "GET", "/api/v1/activations/"+id+"/replies", nil, &box)
	if len(box.Replies) != 1 {
		t.Fatalf("inbox %+v, want one reply", box)
	}
	if st := api(t, a, "POST", "/api/v1/activations/"+id+"/replies/"+box.Replies[0].Seq+"/handled", nil, nil); st != http.StatusNoContent {
		t.Fatalf("handled: status %d", st)
	}
	readUntil(t, conn, 10*time.Second, "a dashboard summary with no reply to handle", inboxIs(0))
}

// A notice whose outcome is unknown is looked for at Twilio from its own
// first try: an identical guidance texted to the same mayor by an earlier
// activation, an hour before, is not taken for it. Twilio answers 500 to
// this one without creating it; Tocsin finds nothing in Twilio's records
// since the try and sends it again. The simulator's record: two
// guidances, one per activation.
func TestANoticeOfUnknownOutcomeIsNotTakenForAnEarlierIdenticalOne(t *testing.T) {
	t.Parallel()
	clock := twiliosim.NewManualClock(night)
	profile := twiliosim.Profile{Default: twiliosim.Persona{Behaviour: twiliosim.Silent}, Delivery: twiliosim.Fixed(time.Second)}
	a := mustRunApp(t, app.Config{Clock: clock, SimulatorProfile: &profile, RetryBase: 50 * time.Millisecond})
	m := fictionMobile(1)
	if err := a.Store().ReplaceOfficials(t.Context(), []tocsin.Official{mayorOf("dieppe", mobile(m))}); err != nil {
		t.Fatal(err)
	}
	sim := a.Simulator()
	guidances := func() int {
		n := 0
		for _, msg := range testingutil.Notices(sim, m) {
			if strings.Contains(msg.Body, "Répondez OK") {
				n++
			}
		}
		return n
	}
	ask := func(sid string) {
		postSignedBody(t, a, "/twilio/sms/inbound", url.Values{"MessageSid": {sid}, "From": {m}, "To": {"+33639980000"}, "Body": {"Que faut-il faire ?"}})
	}
	activate := func(alerts int) *escalation {
		var v view
		if st := api(t, a, "POST", "/api/v1/activations", map[string]any{"playbook": "test-tous"}, &v); st != http.StatusCreated {
			t.Fatalf("create: status %d", st)
		}
		e := &escalation{t: t, app: a, clock: clock, id: v.ID}
		e.until("the alert", clock.Now().Sub(night)+time.Minute, func() bool { return len(testingutil.Alerts(sim, m)) == alerts })
		return e
	}

	e := activate(1)
	ask("SMq1")
	e.until("the first activation's guidance", clock.Now().Sub(night)+time.Minute, func() bool { return guidances() == 1 })
	api(t, a, "POST", "/api/v1/activations/"+e.id+"/close", nil, nil)
	clock.Advance(time.Hour)

	e = activate(2)
	if err := sim.InjectFault(twiliosim.Fault{Status: http.StatusInternalServerError, Resource: twiliosim.ResourceMessages}); err != nil {
		t.Fatal(err)
	}
	ask("SMq2")
	e.until("the second activation's guidance", clock.Now().Sub(night)+5*time.Minute, func() bool { return guidances() == 2 })
	var v view
	api(t, a, "GET", "/api/v1/activations/"+e.id, nil, &v)
	last := testingutil.Notices(sim, m)
	if n := v.Recipients[0].Notice(string(tocsin.NoticeGuidance)); n == nil || n.SID != last[len(last)-1].SID {
		t.Errorf("the second activation's guidance is %+v, want the one sent for it, %s", n, last[len(last)-1].SID)
	}
}
